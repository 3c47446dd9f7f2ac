//! ListGroups (key 16), with state (v4+) and type (v5+) filters.

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};

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
    // Kafka: DESCRIBE on the cluster lists every group; otherwise the
    // groups the principal may describe.
    let all = ctx.may_quietly(Operation::Describe, Resource::Cluster);
    let groups = ctx
        .broker
        .groups
        .list()
        .into_iter()
        .filter(|g| states.is_empty() || states.contains(&g.state.name().to_lowercase()))
        .filter(|g| types.is_empty() || types.iter().any(|t| t == g.group_type))
        .filter(|g| all || ctx.may_quietly(Operation::Describe, Resource::Group(&g.group_id)))
        .map(|g| {
            let listed = ListedGroup::default()
                .with_group_id(GroupId(text(g.group_id)))
                .with_protocol_type(text(g.protocol_type));
            match ctx.version {
                v if v >= 5 => listed
                    .with_group_state(text(g.state.name()))
                    .with_group_type(text(g.group_type)),
                4 => listed.with_group_state(text(g.state.name())),
                _ => listed,
            }
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
