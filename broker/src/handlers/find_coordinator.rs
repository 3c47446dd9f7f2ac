//! FindCoordinator (key 10): this version of Strata runs no group or
//! transaction coordinator, so every key gets COORDINATOR_NOT_AVAILABLE, the
//! answer Kafka gives while no coordinator is loaded. Clients retry later
//! rather than being pointed at a coordinator that does not exist.
//!
//! Serving the API matters beyond groups: librdkafka enables LZ4 only on
//! brokers that advertise FindCoordinator.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};

use super::{text, RequestContext};

/// v4 batches the keys (KIP-699); earlier versions ask for one.
const BATCHED_FROM_VERSION: i16 = 4;

const MESSAGE: &str = "The coordinator is not available: this Strata version has no group or transaction coordinator.";

pub(super) async fn handle(
    ctx: &RequestContext,
    request: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let code = ResponseError::CoordinatorNotAvailable.code();
    if ctx.version >= BATCHED_FROM_VERSION {
        let coordinators = request
            .coordinator_keys
            .into_iter()
            .map(|key| {
                Coordinator::default()
                    .with_key(key)
                    .with_node_id(BrokerId(-1))
                    .with_port(-1)
                    .with_error_code(code)
                    .with_error_message(Some(text(MESSAGE)))
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let response = FindCoordinatorResponse::default()
        .with_error_code(code)
        .with_node_id(BrokerId(-1))
        .with_port(-1);
    if ctx.version >= 1 {
        response.with_error_message(Some(text(MESSAGE)))
    } else {
        response
    }
}
