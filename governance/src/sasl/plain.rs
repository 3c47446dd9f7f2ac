//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL password`, checked against
//! the SCRAM credential store, with Kafka's `PlainSaslServer` messages.

use std::sync::Arc;

use super::{SaslError, SaslExchange, SaslStep};
use crate::credentials::CredentialLookup;
use crate::principal::Principal;

pub(super) struct PlainExchange {
    credentials: Arc<dyn CredentialLookup>,
    finished: bool,
    claimed: Option<String>,
}

impl PlainExchange {
    pub(super) fn new(credentials: Arc<dyn CredentialLookup>) -> Self {
        PlainExchange {
            credentials,
            finished: false,
            claimed: None,
        }
    }
}

impl SaslExchange for PlainExchange {
    fn claimed_user(&self) -> Option<&str> {
        self.claimed.as_deref()
    }

    fn step(&mut self, client_message: &[u8], _now_ms: i64) -> Result<SaslStep, SaslError> {
        if std::mem::replace(&mut self.finished, true) {
            return Err(SaslError::new("PLAIN exchange already finished"));
        }
        let message = std::str::from_utf8(client_message)
            .map_err(|_| SaslError::new("Invalid SASL/PLAIN response: not UTF-8"))?;
        let tokens: Vec<&str> = message.split('\0').collect();
        let [authzid, user, password] = tokens[..] else {
            return Err(SaslError::new(format!(
                "Invalid SASL/PLAIN response: expected 3 tokens, got {}",
                tokens.len()
            )));
        };
        if !user.is_empty() {
            self.claimed = Some(user.to_owned());
        }
        if user.is_empty() {
            return Err(SaslError::new(
                "Authentication failed: username not specified",
            ));
        }
        if password.is_empty() {
            return Err(SaslError::new(
                "Authentication failed: password not specified",
            ));
        }
        if !authzid.is_empty() && authzid != user {
            return Err(SaslError::new(
                "Authentication failed: Client requested an authorization id that is different from username",
            ));
        }
        if !self.credentials.check_password(user, password) {
            return Err(SaslError::new(
                "Authentication failed: Invalid username or password",
            ));
        }
        Ok(SaslStep::Done {
            principal: Principal::user(user),
            response: Vec::new(),
            expires_at_ms: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{CredentialStore, ScramCredential, ScramMechanism};

    fn exchange() -> PlainExchange {
        let store = CredentialStore::default();
        store.upsert(
            "alice",
            ScramMechanism::Sha256,
            ScramCredential::generate(ScramMechanism::Sha256, "secret", 4096),
        );
        PlainExchange::new(Arc::new(store))
    }

    #[test]
    fn logs_in_with_the_right_password() {
        for message in ["\0alice\0secret", "alice\0alice\0secret"] {
            let step = exchange().step(message.as_bytes(), 0).unwrap();
            assert_eq!(
                step,
                SaslStep::Done {
                    principal: Principal::user("alice"),
                    response: vec![],
                    expires_at_ms: None
                }
            );
        }
    }

    #[test]
    fn refuses_as_kafka_does() {
        let cases = [
            ("\0alice\0wrong", "Authentication failed: Invalid username or password"),
            ("\0bob\0secret", "Authentication failed: Invalid username or password"),
            ("bob\0alice\0secret", "Authentication failed: Client requested an authorization id that is different from username"),
            ("\0\0secret", "Authentication failed: username not specified"),
            ("\0alice\0", "Authentication failed: password not specified"),
            ("alice\0secret", "Invalid SASL/PLAIN response: expected 3 tokens, got 2"),
            ("", "Invalid SASL/PLAIN response: expected 3 tokens, got 1"),
        ];
        for (message, error) in cases {
            let err = exchange().step(message.as_bytes(), 0).unwrap_err();
            assert_eq!(err.message, error, "{message:?}");
        }
        let mut e = exchange();
        e.step(b"\0alice\0secret", 0).unwrap();
        assert!(e.step(b"\0alice\0secret", 0).is_err());
    }
}
