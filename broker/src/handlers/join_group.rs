//! JoinGroup (key 11): the classic protocol's join phase.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};
use crate::groups::JoinRequest;

/// JoinGroup v4 requires a member id first (KIP-394).
const MEMBER_ID_REQUIRED_FROM: i16 = 4;

pub(super) async fn handle(ctx: &RequestContext, request: JoinGroupRequest) -> JoinGroupResponse {
    let group_id = request.group_id.0.to_string();
    let error = |code: ResponseError| {
        JoinGroupResponse::default()
            .with_error_code(code.code())
            .with_generation_id(-1)
            .with_member_id(request.member_id.clone())
    };
    if group_id.is_empty() {
        return error(ResponseError::InvalidGroupId);
    }
    if !ctx.may(Operation::Read, Resource::Group(&group_id)) {
        return error(ResponseError::GroupAuthorizationFailed);
    }
    if ctx
        .broker
        .groups
        .ensure_offsets_topic(&ctx.broker.cluster)
        .await
        .is_err()
    {
        return error(ResponseError::CoordinatorNotAvailable);
    }
    let join = JoinRequest {
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
        session_timeout_ms: request.session_timeout_ms,
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalance_timeout_ms: if ctx.version >= 1 {
            request.rebalance_timeout_ms
        } else {
            request.session_timeout_ms
        },
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: ctx.version >= MEMBER_ID_REQUIRED_FROM,
    };
    let result = ctx.broker.groups.join(&group_id, join).await;
    let members = result
        .members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(text(m.member_id))
                .with_group_instance_id(m.group_instance_id.map(text))
                .with_metadata(m.metadata)
        })
        .collect();
    JoinGroupResponse::default()
        .with_error_code(result.error.map_or(0, |e| e.code()))
        .with_generation_id(result.generation_id)
        .with_protocol_type(result.protocol_type.map(text))
        .with_protocol_name(result.protocol_name.map(text))
        .with_leader(text(result.leader))
        .with_member_id(text(result.member_id))
        .with_members(members)
}
