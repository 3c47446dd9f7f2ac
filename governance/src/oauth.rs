//! JWT bearer tokens checked against a JWKS, as Kafka's
//! `OAuthBearerValidatorCallbackHandler` with `sasl.oauthbearer.*` settings:
//! signature by a key of the JWKS (file or HTTPS/HTTP URL, refreshed every
//! `jwks_refresh`), `exp` (with clock skew), `iss`, `aud`, and the principal
//! from the `sub` claim (or the configured claim).
//!
//! Used by SASL/OAUTHBEARER on Kafka listeners and by HTTP `Authorization:
//! Bearer` on the registry, the REST Proxy and the admin face.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use parking_lot::RwLock;
use serde_json::Value;

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
    keys: RwLock<Arc<Keys>>,
    http: reqwest::Client,
}

/// One usable key of the set.
struct Key {
    kid: Option<String>,
    /// The JWK's `alg`, when it names one: tokens must use it.
    alg: Option<String>,
    key: DecodingKey,
}

struct Keys(Vec<Key>);

impl JwtValidator {
    /// Loads the JWKS once; fails if it cannot be read or parsed.
    pub async fn load(settings: JwtSettings) -> Result<Self, JwksError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| JwksError::Load(source_name(&settings.jwks), e.to_string()))?;
        let keys = fetch(&http, &settings.jwks).await?;
        Ok(JwtValidator {
            settings,
            keys: RwLock::new(Arc::new(keys)),
            http,
        })
    }

    /// Builds the validator from a JWKS document already in hand (tests,
    /// fuzzing, a set passed inline); [`refresh`](Self::refresh) still
    /// reads `settings.jwks`.
    pub fn from_jwks(settings: JwtSettings, jwks_json: &str) -> Result<Self, JwksError> {
        let fail = |e: String| JwksError::Load("the given JWKS".into(), e);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let keys = parse_keys(jwks_json).map_err(fail)?;
        Ok(JwtValidator {
            settings,
            keys: RwLock::new(Arc::new(keys)),
            http,
        })
    }

    /// Re-reads the JWKS (the broker calls this every `jwks_refresh`, and
    /// when a token names a key id the set does not have). On failure the
    /// current keys stay.
    pub async fn refresh(&self) -> Result<(), JwksError> {
        let keys = fetch(&self.http, &self.settings.jwks).await?;
        *self.keys.write() = Arc::new(keys);
        Ok(())
    }

    /// The key id a token names when the current set has no such key (the
    /// caller may then [`refresh`](Self::refresh) and validate again).
    pub fn unknown_key_id(&self, token: &str) -> Option<String> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let keys = self.keys.read().clone();
        (!keys
            .0
            .iter()
            .any(|k| k.kid.as_deref() == Some(kid.as_str())))
        .then_some(kid)
    }

    /// Checks a compact JWT at time `now_ms`.
    pub fn validate(&self, token: &str, now_ms: i64) -> Result<ValidToken, InvalidToken> {
        let invalid = |m: &str| InvalidToken(m.to_string());
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid("the token is not a JWT"))?;
        let keys = self.keys.read().clone();
        let key = match &header.kid {
            Some(kid) => keys
                .0
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid.as_str()))
                .ok_or_else(|| InvalidToken(format!("no signing key with kid {kid}")))?,
            None if keys.0.len() == 1 => &keys.0[0],
            None => {
                return Err(invalid(
                    "the token names no key (kid) and the JWKS holds several",
                ))
            }
        };
        if key
            .alg
            .as_ref()
            .is_some_and(|alg| *alg != format!("{:?}", header.alg))
        {
            return Err(invalid("the token's algorithm is not its key's"));
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        let claims =
            jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key.key, &validation)
                .map_err(|e| match e.kind() {
                    ErrorKind::InvalidSignature => invalid("the token's signature is invalid"),
                    ErrorKind::InvalidAlgorithm => {
                        invalid("the token's algorithm does not fit its key")
                    }
                    _ => invalid("the token cannot be decoded"),
                })?
                .claims;
        self.check_claims(&claims, now_ms)
    }

    fn check_claims(
        &self,
        claims: &serde_json::Map<String, Value>,
        now_ms: i64,
    ) -> Result<ValidToken, InvalidToken> {
        let invalid = |m: &str| Err(InvalidToken(m.to_string()));
        let skew_ms = i64::try_from(self.settings.clock_skew.as_millis()).unwrap_or(i64::MAX);
        let time_ms = |name: &str| -> Result<Option<i64>, InvalidToken> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .filter(|s| s.is_finite())
                    .map(|s| Some((s * 1000.0) as i64))
                    .ok_or_else(|| InvalidToken(format!("the {name} claim is not a number"))),
            }
        };
        let Some(exp) = time_ms("exp")? else {
            return invalid("the token has no exp claim");
        };
        if exp.saturating_add(skew_ms) <= now_ms {
            return invalid("the token has expired");
        }
        if time_ms("nbf")?.is_some_and(|nbf| nbf.saturating_sub(skew_ms) > now_ms) {
            return invalid("the token is not valid yet (nbf)");
        }
        if time_ms("iat")?.is_some_and(|iat| iat.saturating_sub(skew_ms) > now_ms) {
            return invalid("the token was issued in the future (iat)");
        }
        if let Some(issuer) = &self.settings.expected_issuer {
            if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
                return invalid("the token's issuer (iss) is not the expected one");
            }
        }
        if !self.settings.expected_audience.is_empty() {
            let audiences: Vec<&str> = match claims.get("aud") {
                Some(Value::String(a)) => vec![a.as_str()],
                Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !audiences
                .iter()
                .any(|a| self.settings.expected_audience.iter().any(|e| e == a))
            {
                return invalid("the token's audience (aud) is not an expected one");
            }
        }
        let claim = self.settings.principal_claim.as_str();
        let principal_name = match claims.get(claim) {
            Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
            _ => return Err(InvalidToken(format!("the token has no {claim} claim"))),
        };
        Ok(ValidToken {
            principal_name,
            expires_at_ms: exp,
        })
    }

    pub fn settings(&self) -> &JwtSettings {
        &self.settings
    }
}

fn source_name(source: &JwksSource) -> String {
    match source {
        JwksSource::File(path) => path.display().to_string(),
        JwksSource::Url(url) => url.clone(),
    }
}

/// Reads and parses the key set; keys that cannot verify signatures (`use`
/// `enc`, unsupported types) are skipped, and a set with none is an error.
async fn fetch(http: &reqwest::Client, source: &JwksSource) -> Result<Keys, JwksError> {
    let fail = |e: String| JwksError::Load(source_name(source), e);
    let text = match source {
        JwksSource::File(path) => tokio::fs::read_to_string(path)
            .await
            .map_err(|e| fail(e.to_string()))?,
        JwksSource::Url(url) => http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| fail(e.to_string()))?
            .text()
            .await
            .map_err(|e| fail(e.to_string()))?,
    };
    parse_keys(&text).map_err(fail)
}

/// The usable keys of a JWKS document.
fn parse_keys(text: &str) -> Result<Keys, String> {
    // Key by key, so that one key of a type this build cannot read does not
    // make the whole set unreadable.
    #[derive(serde::Deserialize)]
    struct RawSet {
        keys: Vec<Value>,
    }
    let set: RawSet = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let jwks: Vec<Jwk> = set
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value(k).ok())
        .collect();
    let keys: Vec<Key> = jwks
        .iter()
        .filter(|jwk| {
            !matches!(
                jwk.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            )
        })
        .filter_map(|jwk| {
            Some(Key {
                kid: jwk.common.key_id.clone(),
                alg: jwk.common.key_algorithm.map(|a| format!("{a:?}")),
                key: DecodingKey::from_jwk(jwk).ok()?,
            })
        })
        .collect();
    if keys.is_empty() {
        return Err("the key set has no usable signing key".into());
    }
    Ok(Keys(keys))
}

#[cfg(test)]
#[path = "oauth_tests.rs"]
mod tests;
