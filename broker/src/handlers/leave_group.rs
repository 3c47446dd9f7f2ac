//! LeaveGroup (key 13): one member (v0-2) or a batch named by member or
//! instance id (v3+, KIP-345).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use strata_governance::{Operation, Resource};

use super::RequestContext;

const BATCHED_FROM_VERSION: i16 = 3;

pub(super) async fn handle(ctx: &RequestContext, request: LeaveGroupRequest) -> LeaveGroupResponse {
    let group_id = request.group_id.0.as_str();
    if group_id.is_empty() {
        return LeaveGroupResponse::default().with_error_code(ResponseError::InvalidGroupId.code());
    }
    if !ctx.may(Operation::Read, Resource::Group(group_id)) {
        return LeaveGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let batched = ctx.version >= BATCHED_FROM_VERSION;
    let members: Vec<(String, Option<String>)> = if batched {
        request
            .members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|s| s.to_string()),
                )
            })
            .collect()
    } else {
        vec![(request.member_id.to_string(), None)]
    };
    match ctx.broker.groups.leave(group_id, &members) {
        Err(code) => LeaveGroupResponse::default().with_error_code(code.code()),
        Ok(results) if !batched => {
            LeaveGroupResponse::default().with_error_code(results[0].err().map_or(0, |e| e.code()))
        }
        Ok(results) => LeaveGroupResponse::default().with_members(
            members
                .into_iter()
                .zip(results)
                .map(|((member_id, instance), result)| {
                    MemberResponse::default()
                        .with_member_id(super::text(member_id))
                        .with_group_instance_id(instance.map(super::text))
                        .with_error_code(result.err().map_or(0, |e| e.code()))
                })
                .collect(),
        ),
    }
}
