//! SyncGroup (key 14): the leader hands out assignments; everyone gets theirs.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};
use crate::groups::SyncRequest;

pub(super) async fn handle(ctx: &RequestContext, request: SyncGroupRequest) -> SyncGroupResponse {
    let group_id = request.group_id.0.to_string();
    if group_id.is_empty() {
        return SyncGroupResponse::default().with_error_code(ResponseError::InvalidGroupId.code());
    }
    if !ctx.may(Operation::Read, Resource::Group(&group_id)) {
        return SyncGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let request = SyncRequest {
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        generation_id: request.generation_id,
        protocol_type: request.protocol_type.as_ref().map(|s| s.to_string()),
        protocol_name: request.protocol_name.as_ref().map(|s| s.to_string()),
        assignments: request
            .assignments
            .iter()
            .map(|a| (a.member_id.to_string(), a.assignment.clone()))
            .collect(),
    };
    let result = ctx.broker.groups.sync(&group_id, request).await;
    SyncGroupResponse::default()
        .with_error_code(result.error.map_or(0, |e| e.code()))
        .with_protocol_type(result.protocol_type.map(text))
        .with_protocol_name(result.protocol_name.map(text))
        .with_assignment(result.assignment)
}
