//! The server side of Kafka's SASL mechanisms, sans I/O: the broker's
//! connection feeds each SaslAuthenticate payload to an [`SaslExchange`] and
//! sends back what it answers.
//!
//! PLAIN and SCRAM check the [`CredentialLookup`]; OAUTHBEARER checks a JWT
//! with the [`JwtValidator`]. A failed exchange is a [`SaslError`] whose
//! message goes to the client (SASL_AUTHENTICATION_FAILED); it never says
//! whether the user exists.

mod oauthbearer;
mod plain;
mod scram;

use std::sync::Arc;

use crate::credentials::{CredentialLookup, ScramMechanism};
use crate::oauth::JwtValidator;
use crate::principal::Principal;

/// A mechanism Strata serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    Scram(ScramMechanism),
    OAuthBearer,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(m) => m.name(),
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            "OAUTHBEARER" => Some(Mechanism::OAuthBearer),
            other => ScramMechanism::from_name(other).map(Mechanism::Scram),
        }
    }
}

/// What one step of an exchange produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send these bytes (SaslAuthenticate `auth_bytes`) and wait for the
    /// client's next message.
    Challenge(Vec<u8>),
    /// Logged in. `response` is the last server message (SCRAM's
    /// server-final-message; empty for PLAIN and OAUTHBEARER).
    /// `expires_at_ms`: when the credential stops being valid (a token's
    /// `exp`), for KIP-368's session lifetime; `None` if it does not expire.
    Done {
        principal: Principal,
        response: Vec<u8>,
        expires_at_ms: Option<i64>,
    },
}

/// A failed login; `message` is sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SaslError {
    pub message: String,
    /// For OAUTHBEARER: the RFC 7628 error JSON the server sends as its
    /// challenge before failing, if any.
    pub challenge: Option<Vec<u8>>,
}

impl SaslError {
    pub fn new(message: impl Into<String>) -> Self {
        SaslError {
            message: message.into(),
            challenge: None,
        }
    }
}

/// One login in progress.
pub trait SaslExchange: Send {
    /// Consumes the client's next message.
    fn step(&mut self, client_message: &[u8], now_ms: i64) -> Result<SaslStep, SaslError>;

    /// The user name the client claimed so far, if any: the audit record
    /// of a refused login names who tried (never whether the user exists).
    fn claimed_user(&self) -> Option<&str> {
        None
    }
}

/// Starts exchanges for the mechanisms a listener enables.
#[derive(Clone)]
pub struct SaslAuthenticator {
    credentials: Arc<dyn CredentialLookup>,
    oauth: Option<Arc<JwtValidator>>,
}

impl SaslAuthenticator {
    pub fn new(credentials: Arc<dyn CredentialLookup>, oauth: Option<Arc<JwtValidator>>) -> Self {
        SaslAuthenticator { credentials, oauth }
    }

    /// A new exchange for `mechanism`; `None` for OAUTHBEARER without a
    /// configured validator.
    pub fn start(&self, mechanism: Mechanism) -> Option<Box<dyn SaslExchange>> {
        match mechanism {
            Mechanism::Plain => Some(Box::new(plain::PlainExchange::new(
                self.credentials.clone(),
            ))),
            Mechanism::Scram(m) => Some(Box::new(scram::ScramExchange::new(
                m,
                self.credentials.clone(),
            ))),
            Mechanism::OAuthBearer => Some(Box::new(oauthbearer::OAuthBearerExchange::new(
                self.oauth.clone()?,
            ))),
        }
    }
}
