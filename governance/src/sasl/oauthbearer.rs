//! OAUTHBEARER (RFC 7628) as Kafka's unsecured-free server: the client's
//! `n,,\x01auth=Bearer <jwt>\x01\x01` message, the token checked by the
//! [`JwtValidator`]; a bad token gets the RFC's error JSON as a challenge,
//! then the failure.

use std::sync::Arc;

use super::{SaslError, SaslExchange, SaslStep};
use crate::oauth::JwtValidator;

pub(super) struct OAuthBearerExchange {
    validator: Arc<JwtValidator>,
}

impl OAuthBearerExchange {
    pub(super) fn new(validator: Arc<JwtValidator>) -> Self {
        OAuthBearerExchange { validator }
    }
}

impl SaslExchange for OAuthBearerExchange {
    fn step(&mut self, client_message: &[u8], now_ms: i64) -> Result<SaslStep, SaslError> {
        let _ = (client_message, now_ms, &self.validator);
        todo!("helper A")
    }
}
