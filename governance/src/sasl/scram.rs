//! SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as Kafka's `ScramSaslServer`:
//! client-first, server-first (nonce, salt, iterations), client-final with
//! the proof checked against StoredKey, server-final with the signature.
//! A wrong proof is a failure, never a login.

use std::sync::Arc;

use super::{SaslError, SaslExchange, SaslStep};
use crate::credentials::{CredentialLookup, ScramMechanism};

pub(super) struct ScramExchange {
    mechanism: ScramMechanism,
    credentials: Arc<dyn CredentialLookup>,
}

impl ScramExchange {
    pub(super) fn new(mechanism: ScramMechanism, credentials: Arc<dyn CredentialLookup>) -> Self {
        ScramExchange {
            mechanism,
            credentials,
        }
    }
}

impl SaslExchange for ScramExchange {
    fn step(&mut self, client_message: &[u8], _now_ms: i64) -> Result<SaslStep, SaslError> {
        let _ = (client_message, &self.credentials, self.mechanism);
        todo!("helper A")
    }
}
