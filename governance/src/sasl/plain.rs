//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL password`, checked against
//! the SCRAM credential store.

use std::sync::Arc;

use super::{SaslError, SaslExchange, SaslStep};
use crate::credentials::CredentialLookup;

pub(super) struct PlainExchange {
    credentials: Arc<dyn CredentialLookup>,
}

impl PlainExchange {
    pub(super) fn new(credentials: Arc<dyn CredentialLookup>) -> Self {
        PlainExchange { credentials }
    }
}

impl SaslExchange for PlainExchange {
    fn step(&mut self, client_message: &[u8], _now_ms: i64) -> Result<SaslStep, SaslError> {
        let _ = (client_message, &self.credentials);
        todo!("helper A")
    }
}
