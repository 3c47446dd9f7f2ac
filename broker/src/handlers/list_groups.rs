//! ListGroups (key 16), with state (v4+) and type (v5+) filters.

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};

/// Every group here speaks the classic protocol.
const GROUP_TYPE: &str = "classic";

pub(super) async fn handle(ctx: &RequestContext, request: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let types: Vec<String> = request
        .types_filter
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let groups = ctx
        .broker
        .groups
        .list()
        .into_iter()
        .filter(|g| states.is_empty() || states.contains(&g.state.name().to_lowercase()))
        .filter(|_| types.is_empty() || types.iter().any(|t| t == GROUP_TYPE))
        .filter(|g| ctx.may(Operation::Describe, Resource::Group(&g.group_id)))
        .map(|g| {
            let listed = ListedGroup::default()
                .with_group_id(GroupId(text(g.group_id)))
                .with_protocol_type(text(g.protocol_type));
            match ctx.version {
                v if v >= 5 => listed
                    .with_group_state(text(g.state.name()))
                    .with_group_type(text(GROUP_TYPE)),
                4 => listed.with_group_state(text(g.state.name())),
                _ => listed,
            }
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
