//! Heartbeat (key 12): keeps a classic member's session alive and tells it
//! when a rebalance has started.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};
use strata_governance::{Operation, Resource};

use super::RequestContext;

pub(super) async fn handle(ctx: &RequestContext, request: HeartbeatRequest) -> HeartbeatResponse {
    let group_id = request.group_id.0.as_str();
    let code = if group_id.is_empty() {
        ResponseError::InvalidGroupId.code()
    } else if !ctx.may(Operation::Read, Resource::Group(group_id)) {
        ResponseError::GroupAuthorizationFailed.code()
    } else {
        match ctx.broker.groups.heartbeat(
            group_id,
            &request.member_id,
            request.group_instance_id.as_deref(),
            request.generation_id,
        ) {
            Ok(()) => 0,
            Err(e) => e.code(),
        }
    };
    HeartbeatResponse::default().with_error_code(code)
}
