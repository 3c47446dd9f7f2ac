//! DescribeGroups (key 15).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};

/// v6 reports an unknown group as GROUP_ID_NOT_FOUND (KIP-1043); earlier
/// versions describe it as Dead without an error.
const NOT_FOUND_FROM_VERSION: i16 = 6;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let groups = request
        .groups
        .iter()
        .map(|id| {
            let base = DescribedGroup::default().with_group_id(id.clone());
            if !ctx.may(Operation::Describe, Resource::Group(id.0.as_str())) {
                return base.with_error_code(ResponseError::GroupAuthorizationFailed.code());
            }
            let Some(group) = ctx.broker.groups.describe(id.0.as_str()) else {
                let dead = base.with_group_state(text("Dead"));
                return if ctx.version >= NOT_FOUND_FROM_VERSION {
                    dead.with_error_code(ResponseError::GroupIdNotFound.code())
                        .with_error_message(Some(text(
                            if ctx.broker.groups.is_consumer_group(id.0.as_str()) {
                                format!("Group {} is not a classic group.", id.0.as_str())
                            } else {
                                format!("Group {} not found.", id.0.as_str())
                            },
                        )))
                } else {
                    dead
                };
            };
            let members = group
                .members
                .into_iter()
                .map(|m| {
                    DescribedGroupMember::default()
                        .with_member_id(text(m.member_id))
                        .with_group_instance_id(m.group_instance_id.map(text))
                        .with_client_id(text(m.client_id))
                        .with_client_host(text(m.client_host))
                        .with_member_metadata(m.metadata)
                        .with_member_assignment(m.assignment)
                })
                .collect();
            let described = base
                .with_group_state(text(group.state.name()))
                .with_protocol_type(text(group.protocol_type))
                .with_protocol_data(text(group.protocol_name))
                .with_members(members);
            if request.include_authorized_operations {
                described.with_authorized_operations(
                    ctx.authorized_operations(Resource::Group(id.0.as_str())),
                )
            } else {
                described
            }
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}
