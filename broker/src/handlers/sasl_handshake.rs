//! SaslHandshake outside a SASL login: on a listener without SASL, or after
//! a login by a client that cannot re-authenticate. A SASL listener's
//! connection answers the handshakes of a login itself (`net::sasl`).

use kafka_protocol::messages::{SaslHandshakeRequest, SaslHandshakeResponse};
use kafka_protocol::ResponseError;

use super::RequestContext;

pub(super) async fn handle(
    _ctx: &RequestContext,
    _request: SaslHandshakeRequest,
) -> SaslHandshakeResponse {
    // As Kafka's KafkaApis: the request is not valid in this state.
    SaslHandshakeResponse::default().with_error_code(ResponseError::IllegalSaslState.code())
}
