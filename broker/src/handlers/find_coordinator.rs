//! FindCoordinator (key 10): this node coordinates every group and every
//! transactional id. The coordinator's internal topic (`__consumer_offsets`
//! or `__transaction_state`) is created on the first lookup, as Kafka does.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};

/// v4 batches the keys (KIP-699); earlier versions ask for one.
const BATCHED_FROM_VERSION: i16 = 4;
const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;

/// Where a key's coordinator is, or why there is none.
fn locate(
    ctx: &RequestContext,
    key: &str,
    key_type: i8,
    topic_ready: bool,
) -> Result<(i32, String, i32), (ResponseError, &'static str)> {
    let authorized = match key_type {
        KEY_TYPE_GROUP => ctx.may(Operation::Describe, Resource::Group(key)),
        KEY_TYPE_TRANSACTION => ctx.may(Operation::Describe, Resource::TransactionalId(key)),
        _ => return Err((ResponseError::InvalidRequest, "Unknown coordinator type.")),
    };
    if !authorized {
        let code = if key_type == KEY_TYPE_GROUP {
            ResponseError::GroupAuthorizationFailed
        } else {
            ResponseError::TransactionalIdAuthorizationFailed
        };
        return Err((code, "Authorization failed."));
    }
    if !topic_ready {
        return Err((
            ResponseError::CoordinatorNotAvailable,
            "The coordinator is not available.",
        ));
    }
    let (host, port) = ctx.advertised();
    Ok((
        ctx.broker.cluster.node_id,
        host.to_string(),
        i32::from(port),
    ))
}

pub(super) async fn handle(
    ctx: &RequestContext,
    request: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let topic_ready = match request.key_type {
        KEY_TYPE_GROUP => ctx
            .broker
            .groups
            .ensure_offsets_topic(&ctx.broker.cluster)
            .await
            .is_ok(),
        KEY_TYPE_TRANSACTION => ctx
            .broker
            .transactions
            .ensure_state_topic(&ctx.broker.cluster)
            .await
            .is_ok(),
        _ => true,
    };
    if ctx.version >= BATCHED_FROM_VERSION {
        let coordinators = request
            .coordinator_keys
            .iter()
            .map(|key| {
                let base = Coordinator::default().with_key(key.clone());
                match locate(ctx, key, request.key_type, topic_ready) {
                    Ok((node, host, port)) => base
                        .with_node_id(BrokerId(node))
                        .with_host(text(host))
                        .with_port(port),
                    Err((code, message)) => base
                        .with_node_id(BrokerId(-1))
                        .with_host(StrBytes::default())
                        .with_port(-1)
                        .with_error_code(code.code())
                        .with_error_message(Some(text(message))),
                }
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let response = match locate(ctx, &request.key, request.key_type, topic_ready) {
        Ok((node, host, port)) => {
            return FindCoordinatorResponse::default()
                .with_node_id(BrokerId(node))
                .with_host(text(host))
                .with_port(port)
        }
        Err((code, message)) => (code, message),
    };
    let answer = FindCoordinatorResponse::default()
        .with_error_code(response.0.code())
        .with_node_id(BrokerId(-1))
        .with_port(-1);
    if ctx.version >= 1 {
        answer.with_error_message(Some(text(response.1)))
    } else {
        answer
    }
}
