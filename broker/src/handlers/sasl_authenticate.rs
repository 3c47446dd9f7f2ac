//! SaslAuthenticate outside a SASL login: on a listener without SASL, or
//! after the login. A SASL listener's connection answers the
//! SaslAuthenticate requests of a login itself (`net::sasl`).

use kafka_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::RequestContext;

pub(super) async fn handle(
    _ctx: &RequestContext,
    _request: SaslAuthenticateRequest,
) -> SaslAuthenticateResponse {
    // As Kafka's KafkaApis: the request is not valid in this state.
    SaslAuthenticateResponse::default()
        .with_error_code(ResponseError::IllegalSaslState.code())
        .with_error_message(Some(StrBytes::from_static_str(
            "SaslAuthenticate request received after successful authentication",
        )))
}
