//! OAUTHBEARER (RFC 7628) as Kafka's `OAuthBearerSaslServer`: the client's
//! `n,,\x01auth=Bearer <jwt>\x01[key=value\x01]*\x01` message, the token
//! checked by the [`JwtValidator`]. A bad token gets the RFC's error JSON
//! as a challenge (`SaslError.challenge`); the client answers `\x01` and the
//! next step fails. Extensions (Kafka's clients send `host` and `port`, say)
//! are accepted and ignored.

use std::sync::Arc;

use super::{SaslError, SaslExchange, SaslStep};
use crate::oauth::JwtValidator;
use crate::principal::Principal;

/// RFC 7628's error status for a token the server refuses.
const INVALID_TOKEN: &[u8] = br#"{"status":"invalid_token"}"#;

pub(super) struct OAuthBearerExchange {
    validator: Arc<JwtValidator>,
    state: State,
}

enum State {
    Initial,
    /// The error challenge was sent; the client must answer `\x01`.
    Failed(String),
    Finished,
}

impl OAuthBearerExchange {
    pub(super) fn new(validator: Arc<JwtValidator>) -> Self {
        OAuthBearerExchange {
            validator,
            state: State::Initial,
        }
    }

    fn initial(&mut self, message: &[u8], now_ms: i64) -> Result<SaslStep, SaslError> {
        let request = parse(message)?;
        let token = match self.validator.validate(request.token, now_ms) {
            Ok(token) => token,
            Err(invalid) => {
                let message = format!("Authentication failed: {invalid}");
                self.state = State::Failed(message.clone());
                return Err(SaslError {
                    message,
                    challenge: Some(INVALID_TOKEN.to_vec()),
                });
            }
        };
        if request
            .authzid
            .is_some_and(|authzid| authzid != token.principal_name)
        {
            return Err(SaslError::new(
                "Authentication failed: Client requested an authorization id that is different from the token's principal name",
            ));
        }
        Ok(SaslStep::Done {
            principal: Principal::user(token.principal_name),
            response: Vec::new(),
            expires_at_ms: Some(token.expires_at_ms),
        })
    }
}

impl SaslExchange for OAuthBearerExchange {
    fn step(&mut self, client_message: &[u8], now_ms: i64) -> Result<SaslStep, SaslError> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Initial => self.initial(client_message, now_ms),
            // Whatever the client answers (it should be `\x01`), it failed.
            State::Failed(message) => Err(SaslError::new(message)),
            State::Finished => Err(SaslError::new("OAUTHBEARER exchange already finished")),
        }
    }
}

struct InitialResponse<'a> {
    authzid: Option<&'a str>,
    token: &'a str,
}

/// `gs2-header kvsep *(key=value kvsep) kvsep`, with an `auth` pair
/// `Bearer <token>`.
fn parse(message: &[u8]) -> Result<InitialResponse<'_>, SaslError> {
    let invalid = || SaslError::new("Invalid OAUTHBEARER client first message");
    let text = std::str::from_utf8(message).map_err(|_| invalid())?;
    let rest = text.strip_prefix("n,").ok_or_else(invalid)?;
    let (authzid, rest) = rest.split_once(',').ok_or_else(invalid)?;
    let authzid = match authzid {
        "" => None,
        a => Some(a.strip_prefix("a=").ok_or_else(invalid)?),
    };
    let pairs = rest
        .strip_prefix('\x01')
        .and_then(|r| r.strip_suffix('\x01'))
        .ok_or_else(invalid)?;
    // Every pair ends with its own kvsep.
    if !pairs.ends_with('\x01') {
        return Err(invalid());
    }
    let mut token = None;
    for pair in pairs.split_terminator('\x01') {
        let (key, value) = pair.split_once('=').ok_or_else(invalid)?;
        if key == "auth" {
            let (scheme, credentials) = value.split_once(' ').ok_or_else(invalid)?;
            if !scheme.eq_ignore_ascii_case("bearer") || token.is_some() {
                return Err(invalid());
            }
            token = Some(credentials.trim_start_matches(' '));
        } else if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid());
        }
    }
    let token = token.filter(|t| !t.is_empty()).ok_or_else(invalid)?;
    Ok(InitialResponse { authzid, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kafkas_client_message() {
        let r = parse(b"n,,\x01auth=Bearer abc.def.ghi\x01host=h\x01port=9092\x01\x01").unwrap();
        assert_eq!((r.authzid, r.token), (None, "abc.def.ghi"));
        let r = parse(b"n,a=alice,\x01auth=bearer t\x01\x01").unwrap();
        assert_eq!((r.authzid, r.token), (Some("alice"), "t"));
        for bad in [
            &b""[..],
            b"n,,",
            b"n,,\x01\x01",
            b"y,,\x01auth=Bearer t\x01\x01",
            b"n,,\x01auth=Bearer t\x01",
            b"n,,\x01auth=Basic t\x01\x01",
            b"n,,\x01auth=Bearer \x01\x01",
            b"n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01",
            b"n,,\x01auth=Bearer t\x01k-1=v\x01\x01",
            b"n,,\x01auth=Bearer t\x01novalue\x01\x01",
            b"n,x,\x01auth=Bearer t\x01\x01",
            b"\xff",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
