//! DeleteGroups (key 42): only empty groups, with their committed offsets.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use strata_governance::{Operation, Resource};

use super::RequestContext;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let results = request
        .groups_names
        .iter()
        .map(|id| {
            let code = if !ctx.may(Operation::Delete, Resource::Group(id.0.as_str())) {
                ResponseError::GroupAuthorizationFailed.code()
            } else {
                ctx.broker
                    .groups
                    .delete_group(id.0.as_str())
                    .err()
                    .map_or(0, |e| e.code())
            };
            DeletableGroupResult::default()
                .with_group_id(id.clone())
                .with_error_code(code)
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
