//! A SASL connection's authentication state, as Kafka's
//! `SaslServerAuthenticator`: before a login only ApiVersions and
//! SaslHandshake are read; after the handshake only SaslAuthenticate (v1
//! handshakes) or raw SASL tokens (v0 handshakes, KIP-43's original form);
//! anything else closes the connection. A failed login is answered after
//! `connection.failed.authentication.delay.ms` and closes the connection.
//!
//! KIP-368: with `connections.max.reauth.ms` or an expiring credential (a
//! JWT), the session has a lifetime; a client that sent SaslAuthenticate v1+
//! re-authenticates on the open connection with the same mechanism and
//! principal, and a request after the session expired closes the connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, RequestKind, ResponseKind, SaslAuthenticateResponse, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use strata_governance::sasl::{Mechanism, SaslExchange, SaslStep};
use strata_governance::Principal;
use strata_wire::request::Request;
use strata_wire::response::encode_response;

use super::listeners::ListenerContext;
use crate::clock;

/// Frames read before a login are capped like Kafka's `sasl.server.max.receive.size`.
pub(super) const MAX_UNAUTHENTICATED_FRAME: usize = 524_288;

/// What the connection does with a frame. Moved out at once, never stored:
/// boxing the request would cost an allocation per request instead.
#[allow(clippy::large_enum_variant)]
pub(super) enum Verdict {
    /// An ordinary request: dispatch it.
    Dispatch(Request),
    /// Send these bytes (a complete frame).
    Answer(Bytes),
    /// Logged in as `principal`: send these bytes.
    LoggedIn(Principal, Bytes),
    /// Wait `delay`, send the bytes (if any), then close the connection.
    Fail {
        answer: Option<Bytes>,
        delay: Duration,
        /// For the failure metric: the mechanism, or "unsupported".
        mechanism: &'static str,
        /// For the audit record: the user the client claimed, if it named
        /// one, and why the login failed.
        claimed: Option<String>,
        reason: String,
    },
    /// Close without answering.
    Close(&'static str),
}

enum State {
    /// Waiting for SaslHandshake (ApiVersions may come first).
    Handshake,
    /// Mechanism chosen; exchanging tokens.
    Authenticating {
        mechanism: Mechanism,
        exchange: Box<dyn SaslExchange>,
        /// v1+ handshake: tokens come in SaslAuthenticate requests;
        /// v0: as raw length-prefixed frames.
        framed: bool,
    },
    /// Logged in.
    Authenticated,
}

/// The authentication of one connection on a SASL listener.
pub(super) struct SaslSession {
    listener: Arc<ListenerContext>,
    state: State,
    /// The principal and mechanism of the last login, kept for re-authentication.
    login: Option<(Principal, Mechanism)>,
    expires: Option<Instant>,
    supports_reauth: bool,
}

impl SaslSession {
    pub(super) fn new(listener: Arc<ListenerContext>) -> Self {
        SaslSession {
            listener,
            state: State::Handshake,
            login: None,
            expires: None,
            supports_reauth: false,
        }
    }

    /// True while the next frame is a raw SASL token (after a v0 handshake).
    pub(super) fn expects_raw_token(&self) -> bool {
        matches!(self.state, State::Authenticating { framed: false, .. })
    }

    /// True once logged in (and not re-authenticating).
    pub(super) fn authenticated(&self) -> bool {
        matches!(self.state, State::Authenticated)
    }

    /// A raw token after a v0 handshake.
    pub(super) fn raw_token(&mut self, token: &[u8]) -> Verdict {
        let State::Authenticating {
            mechanism,
            exchange,
            ..
        } = &mut self.state
        else {
            return Verdict::Close("raw SASL token outside authentication");
        };
        let mechanism = *mechanism;
        match exchange.step(token, clock::now_ms()) {
            Ok(SaslStep::Challenge(bytes)) => Verdict::Answer(raw_frame(&bytes)),
            Ok(SaslStep::Done {
                principal,
                response,
                expires_at_ms,
            }) => match self.complete(mechanism, principal, expires_at_ms) {
                Ok((principal, _)) => Verdict::LoggedIn(principal, raw_frame(&response)),
                Err(reason) => self.fail(mechanism, None, reason),
            },
            Err(e) => {
                tracing::info!(listener = %self.listener.name, mechanism = mechanism.name(), reason = %e, "authentication failed");
                self.fail(mechanism, None, e.message)
            }
        }
    }

    /// A decoded request. Requests that are not part of a login go back as
    /// [`Verdict::Dispatch`] once logged in (and the session is alive).
    pub(super) fn request(&mut self, request: Request) -> Verdict {
        let version = request.header.request_api_version;
        let correlation_id = request.header.correlation_id;
        match (&self.state, &request.body) {
            (State::Authenticated, RequestKind::SaslHandshake(_))
                if self.supports_reauth && self.login.is_some() =>
            {
                // KIP-368 re-authentication on the open connection.
                let RequestKind::SaslHandshake(handshake) = request.body else {
                    unreachable!()
                };
                self.handshake(&handshake.mechanism, version, correlation_id)
            }
            (State::Authenticated, _) => {
                if self.expires.is_some_and(|at| Instant::now() >= at) {
                    return Verdict::Close("the SASL session expired");
                }
                Verdict::Dispatch(request)
            }
            (State::Handshake, RequestKind::ApiVersions(_)) => Verdict::Dispatch(request),
            (State::Handshake, RequestKind::SaslHandshake(handshake)) => {
                let mechanism = handshake.mechanism.clone();
                self.handshake(&mechanism, version, correlation_id)
            }
            (State::Handshake, _) => Verdict::Close("a request before the SASL handshake"),
            (State::Authenticating { framed: true, .. }, RequestKind::SaslAuthenticate(_)) => {
                let RequestKind::SaslAuthenticate(authenticate) = request.body else {
                    unreachable!()
                };
                self.authenticate(&authenticate.auth_bytes, version, correlation_id)
            }
            (State::Authenticating { mechanism, .. }, RequestKind::SaslHandshake(_)) => {
                let mechanism = *mechanism;
                let answer = ResponseKind::SaslHandshake(
                    SaslHandshakeResponse::default()
                        .with_error_code(ResponseError::IllegalSaslState.code()),
                );
                let answer = encode(ApiKey::SaslHandshake, version, correlation_id, &answer);
                self.fail(
                    mechanism,
                    answer,
                    "SaslHandshake during authentication".into(),
                )
            }
            (State::Authenticating { .. }, _) => {
                Verdict::Close("a request other than SaslAuthenticate during SASL authentication")
            }
        }
    }

    fn handshake(&mut self, mechanism: &StrBytes, version: i16, correlation_id: i32) -> Verdict {
        let enabled = &self.listener.mechanisms;
        let chosen = Mechanism::from_name(mechanism).filter(|m| enabled.contains(m));
        let reauth_mismatch = match (&self.login, chosen) {
            (Some((_, previous)), Some(m)) => *previous != m,
            _ => false,
        };
        let exchange = chosen.and_then(|m| self.listener.authenticator.start(m));
        let error = match (&exchange, reauth_mismatch) {
            (Some(_), false) => 0,
            _ => ResponseError::UnsupportedSaslMechanism.code(),
        };
        let answer = ResponseKind::SaslHandshake(
            SaslHandshakeResponse::default()
                .with_error_code(error)
                .with_mechanisms(
                    enabled
                        .iter()
                        .map(|m| StrBytes::from_static_str(m.name()))
                        .collect(),
                ),
        );
        let answer = encode(ApiKey::SaslHandshake, version, correlation_id, &answer);
        match (chosen, exchange) {
            (Some(mechanism), Some(exchange)) if !reauth_mismatch => {
                self.state = State::Authenticating {
                    mechanism,
                    exchange,
                    framed: version >= 1,
                };
                match answer {
                    Some(bytes) => Verdict::Answer(bytes),
                    None => Verdict::Close("the SaslHandshake answer could not be encoded"),
                }
            }
            _ => {
                tracing::info!(listener = %self.listener.name, mechanism = %mechanism.as_str(), "SASL mechanism refused");
                Verdict::Fail {
                    answer,
                    delay: self.listener.failed_auth_delay,
                    mechanism: chosen.map_or("unsupported", Mechanism::name),
                    claimed: None,
                    reason: format!("Unsupported SASL mechanism {}", mechanism.as_str()),
                }
            }
        }
    }

    fn authenticate(&mut self, token: &[u8], version: i16, correlation_id: i32) -> Verdict {
        let State::Authenticating {
            mechanism,
            exchange,
            ..
        } = &mut self.state
        else {
            return Verdict::Close("SaslAuthenticate outside authentication");
        };
        let mechanism = *mechanism;
        if version > 0 {
            self.supports_reauth = true;
        }
        let now = clock::now_ms();
        let outcome = exchange.step(token, now);
        let response = |bytes: Vec<u8>, lifetime: i64| {
            ResponseKind::SaslAuthenticate(
                SaslAuthenticateResponse::default()
                    .with_auth_bytes(Bytes::from(bytes))
                    .with_session_lifetime_ms(lifetime),
            )
        };
        match outcome {
            Ok(SaslStep::Challenge(bytes)) => {
                match encode(
                    ApiKey::SaslAuthenticate,
                    version,
                    correlation_id,
                    &response(bytes, 0),
                ) {
                    Some(answer) => Verdict::Answer(answer),
                    None => Verdict::Close("the SaslAuthenticate answer could not be encoded"),
                }
            }
            Ok(SaslStep::Done {
                principal,
                response: last,
                expires_at_ms,
            }) => match self.complete(mechanism, principal, expires_at_ms) {
                Ok((principal, lifetime)) => {
                    match encode(
                        ApiKey::SaslAuthenticate,
                        version,
                        correlation_id,
                        &response(last, lifetime),
                    ) {
                        Some(answer) => Verdict::LoggedIn(principal, answer),
                        None => Verdict::Close("the SaslAuthenticate answer could not be encoded"),
                    }
                }
                Err(message) => self.fail_authenticate(mechanism, message, version, correlation_id),
            },
            Err(e) => {
                tracing::info!(listener = %self.listener.name, mechanism = mechanism.name(), reason = %e, "authentication failed");
                self.fail_authenticate(mechanism, e.message, version, correlation_id)
            }
        }
    }

    fn fail_authenticate(
        &mut self,
        mechanism: Mechanism,
        message: String,
        version: i16,
        correlation_id: i32,
    ) -> Verdict {
        let answer = ResponseKind::SaslAuthenticate(
            SaslAuthenticateResponse::default()
                .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                .with_error_message(Some(StrBytes::from_string(message.clone()))),
        );
        let answer = encode(ApiKey::SaslAuthenticate, version, correlation_id, &answer);
        self.fail(mechanism, answer, message)
    }

    fn fail(&mut self, mechanism: Mechanism, answer: Option<Bytes>, reason: String) -> Verdict {
        let claimed = match &self.state {
            State::Authenticating { exchange, .. } => exchange.claimed_user().map(str::to_owned),
            _ => None,
        };
        Verdict::Fail {
            answer,
            delay: self.listener.failed_auth_delay,
            mechanism: mechanism.name(),
            claimed,
            reason,
        }
    }

    /// Ends a successful exchange: the principal may not change on
    /// re-authentication; returns the session lifetime to announce.
    fn complete(
        &mut self,
        mechanism: Mechanism,
        principal: Principal,
        expires_at_ms: Option<i64>,
    ) -> Result<(Principal, i64), String> {
        if let Some((previous, _)) = &self.login {
            if *previous != principal {
                return Err(format!(
                    "Cannot change principals during re-authentication from {previous}: {principal}"
                ));
            }
        }
        let now = clock::now_ms();
        let max_reauth = self.listener.max_reauth_ms as i64;
        let lifetime = match (expires_at_ms, max_reauth > 0) {
            (None, false) => None,
            (None, true) => Some(max_reauth),
            (Some(exp), false) => Some((exp - now).max(0)),
            (Some(exp), true) => Some((exp - now).min(max_reauth).max(0)),
        };
        self.expires = lifetime.map(|ms| Instant::now() + Duration::from_millis(ms as u64));
        self.state = State::Authenticated;
        self.login = Some((principal.clone(), mechanism));
        tracing::debug!(listener = %self.listener.name, %principal, mechanism = mechanism.name(), "authenticated");
        Ok((principal, lifetime.unwrap_or(0)))
    }
}

fn encode(api: ApiKey, version: i16, correlation_id: i32, body: &ResponseKind) -> Option<Bytes> {
    match encode_response(api, version, correlation_id, body) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::error!(error = %e, "SASL response could not be encoded");
            None
        }
    }
}

/// A raw SASL token as a v0 handshake's client expects it: length-prefixed, no header.
fn raw_frame(token: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(4 + token.len());
    out.put_u32(token.len() as u32);
    out.put_slice(token);
    out.freeze()
}
