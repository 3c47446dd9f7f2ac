//! JWT bearer tokens checked against a JWKS, as Kafka's
//! `OAuthBearerValidatorCallbackHandler` with `sasl.oauthbearer.*` settings:
//! signature by a key of the JWKS (file or HTTPS/HTTP URL, refreshed every
//! `jwks_refresh`), `exp` (with clock skew), `iss`, `aud`, and the principal
//! from the `sub` claim (or the configured claim).
//!
//! Used by SASL/OAUTHBEARER on Kafka listeners and by HTTP `Authorization:
//! Bearer` on the registry, the REST Proxy and the admin face.

use std::path::PathBuf;
use std::time::Duration;

/// Where the signing keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    File(PathBuf),
    Url(String),
}

/// `sasl.oauthbearer.*` settings.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// `sasl.oauthbearer.jwks.endpoint.url` (`file://` for a file).
    pub jwks: JwksSource,
    /// `sasl.oauthbearer.expected.issuer`.
    pub expected_issuer: Option<String>,
    /// `sasl.oauthbearer.expected.audience` (any one must match).
    pub expected_audience: Vec<String>,
    /// `sasl.oauthbearer.sub.claim.name` (default `sub`).
    pub principal_claim: String,
    /// `sasl.oauthbearer.clock.skew.seconds` (default 30).
    pub clock_skew: Duration,
    /// `sasl.oauthbearer.jwks.endpoint.refresh.ms` (default 1 hour).
    pub jwks_refresh: Duration,
}

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidToken {
    /// The principal's name (the configured claim).
    pub principal_name: String,
    /// `exp`, in ms since the epoch.
    pub expires_at_ms: i64,
}

/// Why a token was refused; the message is safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidToken(pub String);

/// Why the validator could not be built (refused at start).
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("reading the JWKS from {0}: {1}")]
    Load(String, String),
}

/// Checks tokens against the current JWKS.
pub struct JwtValidator {
    settings: JwtSettings,
    // helper A: the current key set (behind a lock, replaced on refresh)
}

impl JwtValidator {
    /// Loads the JWKS once; fails if it cannot be read or parsed.
    pub async fn load(settings: JwtSettings) -> Result<Self, JwksError> {
        let _ = &settings;
        todo!("helper A")
    }

    /// Re-reads the JWKS (the broker calls this every `jwks_refresh`, and
    /// when a token names a key id the set does not have).
    pub async fn refresh(&self) -> Result<(), JwksError> {
        todo!("helper A")
    }

    /// Checks a compact JWT at time `now_ms`.
    pub fn validate(&self, token: &str, now_ms: i64) -> Result<ValidToken, InvalidToken> {
        let _ = (token, now_ms, &self.settings);
        todo!("helper A")
    }

    pub fn settings(&self) -> &JwtSettings {
        &self.settings
    }
}
