//! Login on the HTTP faces (Schema Registry, REST Proxy, admin): who is
//! calling, as an [`Identity`] put into every request's extensions for the
//! handlers' authorization (the registry's subject ACLs, the REST Proxy's
//! Kafka requests run under that principal).
//!
//! `strata.http.authentication.methods` lists what is accepted: `BASIC`
//! (a SCRAM user's password, checked against the broker's credential store),
//! `BEARER` (a JWT checked with the `sasl.oauthbearer.*` settings), `MTLS`
//! (the HTTPS client certificate's principal, mapped by
//! `ssl.principal.mapping.rules` when the connection was accepted). Empty:
//! no login, every caller is `User:ANONYMOUS`. A request without valid
//! credentials is 401 40101 with `WWW-Authenticate`; `/health*` stays open
//! for load balancers.
//!
//! A password check is a PBKDF2 of several thousand rounds, far too slow per
//! request: a successful Basic login is remembered for [`BASIC_CACHE_TTL`],
//! keyed by a salted SHA-256 of user and password (the password itself is
//! never kept) and tied to the user's current credential, so a changed or
//! deleted password stops matching at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use strata_governance::audit::{AuditEvent, AuditSink, Face, NoAudit};
use strata_governance::credentials::{CredentialLookup, ScramMechanism};
use strata_governance::oauth::JwtValidator;
use strata_governance::{Identity, Principal};

use crate::properties::BrokerProperties;

/// How long a successful Basic login is remembered.
pub(crate) const BASIC_CACHE_TTL: Duration = Duration::from_secs(60);
/// Remembered logins at most; past that, expired ones are dropped, and all
/// of them if none had expired.
const BASIC_CACHE_CAPACITY: usize = 10_000;

/// The principal of an HTTPS connection's client certificate, put into each
/// of its requests by the serving loop (see `serve.rs`).
#[derive(Debug, Clone)]
pub(crate) struct PeerPrincipal(pub(crate) Principal);

/// The accepted login methods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Methods {
    pub(crate) basic: bool,
    pub(crate) bearer: bool,
    pub(crate) mtls: bool,
}

impl Methods {
    /// Parses `strata.http.authentication.methods`.
    pub(crate) fn parse(list: &str) -> anyhow::Result<Self> {
        let mut methods = Methods::default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_uppercase().as_str() {
                "BASIC" => methods.basic = true,
                "BEARER" => methods.bearer = true,
                "MTLS" => methods.mtls = true,
                _ => bail!(
                    "strata.http.authentication.methods: unknown method {name:?} (BASIC, BEARER, MTLS)"
                ),
            }
        }
        Ok(methods)
    }

    fn any(self) -> bool {
        self.basic || self.bearer || self.mtls
    }
}

/// The login layer's state, shared by the three HTTP faces.
pub(crate) struct HttpAuth {
    methods: Methods,
    credentials: Arc<dyn CredentialLookup>,
    jwt: Option<Arc<JwtValidator>>,
    challenge: HeaderValue,
    salt: [u8; 16],
    logins: Mutex<HashMap<[u8; 32], CachedLogin>>,
    /// Where refused logins are recorded.
    audit: Arc<dyn AuditSink>,
}

struct CachedLogin {
    user: String,
    /// The user's credentials when the password was checked.
    fingerprint: Vec<u8>,
    until: Instant,
}

impl HttpAuth {
    pub(crate) fn new(
        methods: Methods,
        credentials: Arc<dyn CredentialLookup>,
        jwt: Option<Arc<JwtValidator>>,
    ) -> anyhow::Result<Self> {
        if methods.bearer && jwt.is_none() {
            bail!("strata.http.authentication.methods has BEARER but sasl.oauthbearer.jwks.endpoint.url is not set");
        }
        let challenge = if methods.bearer {
            r#"Basic realm="strata", Bearer realm="strata""#
        } else {
            r#"Basic realm="strata""#
        };
        Ok(HttpAuth {
            methods,
            credentials,
            jwt,
            challenge: HeaderValue::from_static(challenge),
            salt: *uuid::Uuid::new_v4().as_bytes(),
            logins: Mutex::new(HashMap::new()),
            audit: Arc::new(NoAudit),
        })
    }

    /// Records refused logins in `audit`.
    pub(crate) fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> Self {
        self.audit = audit;
        self
    }

    /// From the broker properties; MTLS needs HTTPS with a truststore.
    pub(crate) fn from_properties(
        properties: &BrokerProperties,
        credentials: Arc<dyn CredentialLookup>,
        jwt: Option<Arc<JwtValidator>>,
    ) -> anyhow::Result<Self> {
        let get = |name: &str| properties.explicit().get(name).map(|v| v.trim());
        let methods = Methods::parse(get("strata.http.authentication.methods").unwrap_or(""))?;
        if methods.mtls
            && get("strata.http.ssl.truststore.location")
                .unwrap_or("")
                .is_empty()
        {
            bail!("strata.http.authentication.methods has MTLS but strata.http.ssl.truststore.location is not set");
        }
        Self::new(methods, credentials, jwt.filter(|_| methods.bearer))
    }

    /// Puts the login layer around `router`, the router of `face`.
    pub(crate) fn layer(self: &Arc<Self>, face: Face, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(
            (self.clone(), face),
            authenticate,
        ))
    }

    /// Records a refused login of a caller who presented credentials (a
    /// request without any is refused too, but is how HTTP clients ask
    /// which scheme to use, not a failed login).
    fn audit_refusal(&self, face: Face, authorization: &str, host: &str, message: &str) {
        let (scheme, rest) = authorization.split_once(' ').unwrap_or((authorization, ""));
        let scheme = scheme.to_ascii_uppercase();
        let user = (scheme == "BASIC")
            .then(|| {
                base64::engine::general_purpose::STANDARD
                    .decode(rest.trim())
                    .ok()
            })
            .flatten()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|text| text.split_once(':').map(|(u, _)| u.to_owned()))
            .filter(|u| !u.is_empty());
        self.audit.record(AuditEvent::login_failed(
            face,
            format!("HTTP/{scheme}"),
            user,
            host,
            message,
        ));
    }

    /// Who sent `request`, or why it is refused.
    async fn identify(
        &self,
        authorization: Option<Result<String, ()>>,
        peer: Option<Principal>,
        host: String,
    ) -> Result<Identity, &'static str> {
        if !self.methods.any() {
            return Ok(Identity::new(Principal::anonymous(), host));
        }
        if let Some(value) = authorization {
            let value = value.map_err(|()| "Malformed Authorization header")?;
            let value = value.as_str();
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            let rest = rest.trim();
            if scheme.eq_ignore_ascii_case("Basic") && self.methods.basic {
                let user = self.basic(rest).await?;
                return Ok(Identity::new(Principal::user(user), host));
            }
            if scheme.eq_ignore_ascii_case("Bearer") && self.methods.bearer {
                let jwt = self.jwt.as_ref().ok_or("Bearer tokens are not accepted")?;
                let token = jwt
                    .validate(rest, crate::clock::now_ms())
                    .map_err(|_| "Invalid bearer token")?;
                return Ok(Identity::new(Principal::user(token.principal_name), host));
            }
            return Err("Unsupported authentication scheme");
        }
        if self.methods.mtls {
            if let Some(principal) = peer {
                return Ok(Identity::new(principal, host));
            }
        }
        Err("Authentication required")
    }

    /// Checks `Basic <base64(user:password)>`; the user's name when it holds.
    async fn basic(&self, encoded: &str) -> Result<String, &'static str> {
        const BAD: &str = "Invalid username or password";
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| BAD)?;
        let decoded = String::from_utf8(decoded).map_err(|_| BAD)?;
        let (user, password) = decoded.split_once(':').ok_or(BAD)?;
        let key = self.cache_key(user, password);
        let fingerprint = self.fingerprint(user);
        if fingerprint.is_empty() {
            return Err(BAD);
        }
        {
            let logins = self.logins.lock();
            if let Some(hit) = logins.get(&key) {
                if hit.until > Instant::now() && hit.user == user && hit.fingerprint == fingerprint
                {
                    return Ok(user.to_owned());
                }
            }
        }
        // PBKDF2 off the async workers.
        let credentials = self.credentials.clone();
        let (u, p) = (user.to_owned(), password.to_owned());
        let valid = tokio::task::spawn_blocking(move || credentials.check_password(&u, &p))
            .await
            .unwrap_or(false);
        if !valid {
            return Err(BAD);
        }
        let now = Instant::now();
        let mut logins = self.logins.lock();
        if logins.len() >= BASIC_CACHE_CAPACITY {
            logins.retain(|_, login| login.until > now);
            if logins.len() >= BASIC_CACHE_CAPACITY {
                logins.clear();
            }
        }
        logins.insert(
            key,
            CachedLogin {
                user: user.to_owned(),
                fingerprint,
                until: now + BASIC_CACHE_TTL,
            },
        );
        Ok(user.to_owned())
    }

    fn cache_key(&self, user: &str, password: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(self.salt);
        hash.update((user.len() as u64).to_be_bytes());
        hash.update(user.as_bytes());
        hash.update(password.as_bytes());
        hash.finalize().into()
    }

    /// The user's current StoredKeys: empty for an unknown user, different
    /// once a password is changed or deleted.
    fn fingerprint(&self, user: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for mechanism in [ScramMechanism::Sha512, ScramMechanism::Sha256] {
            if let Some(credential) = self.credentials.scram(user, mechanism) {
                out.push(mechanism.code() as u8);
                out.extend_from_slice(&credential.salt);
                out.extend_from_slice(&credential.stored_key);
            }
        }
        out
    }

    fn unauthorized(&self, message: &str) -> Response {
        let body = axum::Json(serde_json::json!({"error_code": 40101, "message": message}));
        let mut response = (StatusCode::UNAUTHORIZED, body).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, self.challenge.clone());
        response
    }
}

async fn authenticate(
    State((auth, face)): State<(Arc<HttpAuth>, Face)>,
    mut request: Request,
    next: Next,
) -> Response {
    let host = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".into());
    let identity = if request.uri().path().starts_with("/health") {
        Identity::new(Principal::anonymous(), host)
    } else {
        // Owned copies: the request is not Sync, so no reference to it may
        // be held across the password check.
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned).map_err(|_| ()));
        let peer = request
            .extensions()
            .get::<PeerPrincipal>()
            .map(|PeerPrincipal(p)| p.clone());
        let presented = authorization
            .as_ref()
            .map(|value| value.clone().unwrap_or_default());
        match auth.identify(authorization, peer, host.clone()).await {
            Ok(identity) => identity,
            Err(message) => {
                if let Some(presented) = presented {
                    auth.audit_refusal(face, &presented, &host, message);
                }
                return auth.unauthorized(message);
            }
        }
    };
    request.extensions_mut().insert(identity);
    next.run(request).await
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
