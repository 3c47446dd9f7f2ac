//! SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as Kafka's `ScramSaslServer`:
//! client-first, server-first (nonce, salt, iterations), client-final with
//! the proof checked against StoredKey, server-final with the signature.
//! A wrong proof is a failure, never a login.
//!
//! An unknown user gets a server-first like any other (a salt derived from
//! the name with a per-process key, so it is stable across attempts) and
//! fails at the proof, so the exchange does not reveal which users exist.

use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use subtle::ConstantTimeEq;

use super::{SaslError, SaslExchange, SaslStep};
use crate::credentials::{
    hash, hmac, random_bytes, CredentialLookup, ScramCredential, ScramMechanism,
};
use crate::principal::Principal;

pub(super) struct ScramExchange {
    mechanism: ScramMechanism,
    credentials: Arc<dyn CredentialLookup>,
    /// Appended to the client's nonce (random; tests set the RFC's).
    server_nonce: String,
    state: State,
    /// The `n=` user of the client-first message, once read.
    claimed: Option<String>,
}

enum State {
    ClientFirst,
    ClientFinal(Box<Pending>),
    Finished,
}

/// What the final step needs from the first.
struct Pending {
    user: String,
    /// `None` for an unknown user: the proof cannot be right.
    credential: Option<ScramCredential>,
    /// The gs2 header the client sent (`n,,`), which `c=` must carry.
    gs2_header: String,
    /// client nonce + server nonce.
    nonce: String,
    client_first_bare: String,
    server_first: String,
}

impl ScramExchange {
    pub(super) fn new(mechanism: ScramMechanism, credentials: Arc<dyn CredentialLookup>) -> Self {
        ScramExchange {
            mechanism,
            credentials,
            // Letters and digits only, as Kafka's `secureRandomString`:
            // librdkafka 2.0.2 (Debian 12's kcat) fails a base64 nonce.
            server_nonce: random_bytes(16)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            state: State::ClientFirst,
            claimed: None,
        }
    }

    fn invalid_credentials(&self) -> SaslError {
        SaslError::new(format!(
            "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
            self.mechanism.name()
        ))
    }

    fn client_first(&self, message: &str) -> Result<Pending, SaslError> {
        let first = parse_client_first(message)?;
        let credential = self.credentials.scram(&first.user, self.mechanism);
        let (salt, iterations) = match &credential {
            Some(c) => (c.salt.clone(), c.iterations),
            None => (fake_salt(self.mechanism, &first.user), 4096),
        };
        let nonce = format!("{}{}", first.nonce, self.server_nonce);
        let server_first = format!("r={nonce},s={},i={iterations}", STANDARD.encode(salt));
        Ok(Pending {
            user: first.user,
            credential,
            gs2_header: first.gs2_header,
            nonce,
            client_first_bare: first.bare,
            server_first,
        })
    }

    fn client_final(&self, pending: &Pending, message: &str) -> Result<SaslStep, SaslError> {
        let invalid = || SaslError::new("Invalid SCRAM client final message");
        let (without_proof, proof) = message.rsplit_once(",p=").ok_or_else(invalid)?;
        let mut fields = without_proof.split(',');
        let channel = fields
            .next()
            .and_then(|f| f.strip_prefix("c="))
            .ok_or_else(invalid)?;
        let nonce = fields
            .next()
            .and_then(|f| f.strip_prefix("r="))
            .ok_or_else(invalid)?;
        // Anything after r= is an extension, which Kafka ignores here.
        if fields.any(|f| !is_extension(f)) {
            return Err(invalid());
        }
        if channel != STANDARD.encode(&pending.gs2_header) {
            return Err(SaslError::new(
                "Invalid channel binding in SCRAM client final message",
            ));
        }
        // Kafka's check (`endsWith`, not equality): librdkafka 2.0.2, Debian
        // 12's kcat, sends its final nonce with a prefix; the proof still
        // covers the message exactly as sent.
        if !nonce.ends_with(&pending.nonce) {
            return Err(SaslError::new(
                "Invalid client nonce in the final client message.",
            ));
        }
        let proof = STANDARD.decode(proof).map_err(|_| invalid())?;
        let Some(credential) = &pending.credential else {
            return Err(self.invalid_credentials());
        };
        if proof.len() != self.mechanism.hash_len() {
            return Err(self.invalid_credentials());
        }
        let auth_message = format!(
            "{},{},{}",
            pending.client_first_bare, pending.server_first, without_proof
        );
        let client_signature = hmac(
            self.mechanism,
            &credential.stored_key,
            auth_message.as_bytes(),
        );
        let client_key: Vec<u8> = proof
            .iter()
            .zip(&client_signature)
            .map(|(p, s)| p ^ s)
            .collect();
        let stored_key = hash(self.mechanism, &client_key);
        if !bool::from(stored_key.ct_eq(&credential.stored_key)) {
            return Err(self.invalid_credentials());
        }
        let server_signature = hmac(
            self.mechanism,
            &credential.server_key,
            auth_message.as_bytes(),
        );
        Ok(SaslStep::Done {
            principal: Principal::user(pending.user.clone()),
            response: format!("v={}", STANDARD.encode(server_signature)).into_bytes(),
            expires_at_ms: None,
        })
    }
}

impl SaslExchange for ScramExchange {
    fn claimed_user(&self) -> Option<&str> {
        self.claimed.as_deref()
    }

    fn step(&mut self, client_message: &[u8], _now_ms: i64) -> Result<SaslStep, SaslError> {
        let state = std::mem::replace(&mut self.state, State::Finished);
        let message = std::str::from_utf8(client_message)
            .map_err(|_| SaslError::new("Invalid SCRAM message: not UTF-8"))?;
        match state {
            State::ClientFirst => {
                let pending = self.client_first(message)?;
                self.claimed = Some(pending.user.clone());
                let challenge = pending.server_first.clone().into_bytes();
                self.state = State::ClientFinal(Box::new(pending));
                Ok(SaslStep::Challenge(challenge))
            }
            State::ClientFinal(pending) => self.client_final(&pending, message),
            State::Finished => Err(SaslError::new("SCRAM exchange already finished")),
        }
    }
}

struct ClientFirst {
    gs2_header: String,
    user: String,
    nonce: String,
    bare: String,
}

/// `gs2-header client-first-message-bare`:
/// `[ny],[a=authzid],n=user,r=nonce[,ext=value]*`.
fn parse_client_first(message: &str) -> Result<ClientFirst, SaslError> {
    let invalid = || SaslError::new("Invalid SCRAM client first message");
    let mut parts = message.splitn(3, ',');
    let flag = parts.next().ok_or_else(invalid)?;
    let authzid = parts.next().ok_or_else(invalid)?;
    let bare = parts.next().ok_or_else(invalid)?;
    if flag != "n" && flag != "y" {
        // `p=`: channel binding, which Kafka does not support either.
        return Err(invalid());
    }
    let authzid = match authzid {
        "" => None,
        a => Some(unescape(a.strip_prefix("a=").ok_or_else(invalid)?).ok_or_else(invalid)?),
    };
    let mut fields = bare.split(',');
    let user = fields
        .next()
        .and_then(|f| f.strip_prefix("n="))
        .and_then(unescape)
        .filter(|u| !u.is_empty())
        .ok_or_else(invalid)?;
    let nonce = fields
        .next()
        .and_then(|f| f.strip_prefix("r="))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b)))
        .ok_or_else(invalid)?;
    for extension in fields {
        let (key, value) = extension.split_once('=').ok_or_else(invalid)?;
        if !is_extension(extension) {
            return Err(invalid());
        }
        if key == "tokenauth" && value.eq_ignore_ascii_case("true") {
            return Err(SaslError::new(
                "Authentication failed: delegation tokens are not supported",
            ));
        }
    }
    if authzid.as_ref().is_some_and(|a| *a != user) {
        return Err(SaslError::new(
            "Authentication failed: Client requested an authorization id that is different from username",
        ));
    }
    Ok(ClientFirst {
        gs2_header: message[..message.len() - bare.len()].to_string(),
        user,
        nonce: nonce.to_string(),
        bare: bare.to_string(),
    })
}

/// `key=value` with an alphabetic key, as RFC 5802's extensions are.
fn is_extension(field: &str) -> bool {
    field
        .split_once('=')
        .is_some_and(|(k, _)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// RFC 5802's saslname: `=2C` is `,`, `=3D` is `=`, any other `=` is invalid.
fn unescape(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let escape = rest.get(i..i + 3)?;
        out.push(match escape {
            "=2C" => ',',
            "=3D" => '=',
            _ => return None,
        });
        rest = &rest[i + 3..];
    }
    if rest.contains(',') {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// The salt shown for a user without credentials: stable per user within a
/// process, unrelated to any real salt.
fn fake_salt(mechanism: ScramMechanism, user: &str) -> Vec<u8> {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    let key = KEY.get_or_init(|| random_bytes(32));
    let mut salt = hmac(mechanism, key, user.as_bytes());
    salt.truncate(24);
    salt
}

#[cfg(test)]
#[path = "scram_tests.rs"]
mod tests;
