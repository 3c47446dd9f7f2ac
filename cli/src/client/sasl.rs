//! SASL logins: SaslHandshake v1 then SaslAuthenticate rounds, with PLAIN
//! (RFC 4616) or SCRAM-SHA-256/512 (RFC 5802, RFC 7677). The SCRAM
//! arithmetic is the governance crate's, which the broker checks proofs with.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use strata_governance::credentials::{hash, hmac, random_bytes, salted_password, ScramMechanism};

use super::connection::Connection;
use crate::error::{CliError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaslMechanism {
    Plain,
    Scram(ScramMechanism),
}

impl SaslMechanism {
    pub(crate) fn parse(name: &str) -> Result<SaslMechanism> {
        let upper = name.to_ascii_uppercase();
        if upper == "PLAIN" {
            return Ok(SaslMechanism::Plain);
        }
        ScramMechanism::from_name(&upper)
            .map(SaslMechanism::Scram)
            .ok_or_else(|| {
                CliError::usage(format!(
                    "SASL mechanism {name}: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
                ))
            })
    }

    fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::Scram(m) => m.name(),
        }
    }
}

/// A user and password to log in with.
#[derive(Clone)]
pub(crate) struct Login {
    pub(crate) mechanism: SaslMechanism,
    pub(crate) user: String,
    pub(crate) password: String,
}

/// Logs in on `conn`; a refused login is the broker's Kafka error
/// (`SASL_AUTHENTICATION_FAILED`) with its message.
pub(crate) async fn authenticate(conn: &mut Connection, login: &Login) -> Result<()> {
    let mechanism = login.mechanism.name();
    let handshake = conn
        .send(
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)),
            1,
        )
        .await?;
    CliError::check(handshake.error_code, None, || {
        let offered: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
        format!(
            "SASL {mechanism} at {} (the broker offers {})",
            conn.addr(),
            offered.join(", ")
        )
    })?;
    match login.mechanism {
        SaslMechanism::Plain => {
            let message = format!("\0{}\0{}", login.user, login.password);
            round(conn, mechanism, message.into_bytes()).await?;
        }
        SaslMechanism::Scram(scram) => {
            let client = ScramClient::new(scram, &login.user, &login.password);
            let server_first = round(conn, mechanism, client.client_first().into_bytes()).await?;
            let server_first = String::from_utf8_lossy(&server_first).into_owned();
            let (client_final, verifier) = client.client_final(&server_first)?;
            let server_final = round(conn, mechanism, client_final.into_bytes()).await?;
            verifier.verify(&String::from_utf8_lossy(&server_final))?;
        }
    }
    Ok(())
}

async fn round(conn: &mut Connection, mechanism: &str, bytes: Vec<u8>) -> Result<Bytes> {
    let response = conn
        .call(|_| SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes)))
        .await?;
    CliError::check(
        response.error_code,
        response.error_message.as_deref(),
        || format!("SASL {mechanism} login at {}", conn.addr()),
    )?;
    Ok(response.auth_bytes)
}

/// The client side of one SCRAM exchange.
pub(crate) struct ScramClient {
    mechanism: ScramMechanism,
    password: String,
    client_first_bare: String,
    nonce: String,
}

/// Checks the server's signature in server-final.
pub(crate) struct ServerVerifier {
    expected: Vec<u8>,
}

impl ScramClient {
    pub(crate) fn new(mechanism: ScramMechanism, user: &str, password: &str) -> ScramClient {
        let nonce: String = random_bytes(18)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self::with_nonce(mechanism, user, password, nonce)
    }

    fn with_nonce(
        mechanism: ScramMechanism,
        user: &str,
        password: &str,
        nonce: String,
    ) -> ScramClient {
        let user = user.replace('=', "=3D").replace(',', "=2C");
        ScramClient {
            mechanism,
            password: password.to_string(),
            client_first_bare: format!("n={user},r={nonce}"),
            nonce,
        }
    }

    pub(crate) fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// client-final for `server_first`, and what server-final must carry.
    pub(crate) fn client_final(&self, server_first: &str) -> Result<(String, ServerVerifier)> {
        let bad =
            |why: &str| CliError::Connect(format!("SCRAM server-first {server_first:?}: {why}"));
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attribute in server_first.split(',') {
            match attribute.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(STANDARD.decode(v).map_err(|_| bad("bad salt"))?),
                Some(("i", v)) => iterations = Some(v.parse::<u32>().map_err(|_| bad("bad i"))?),
                Some(("e", v)) => return Err(bad(v)),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(bad("missing r, s or i"));
        };
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(bad("the server nonce does not extend ours"));
        }
        if iterations < self.mechanism.min_iterations() {
            return Err(bad("too few iterations"));
        }
        let m = self.mechanism;
        let salted = salted_password(m, &self.password, &salt, iterations);
        let client_key = hmac(m, &salted, b"Client Key");
        let stored_key = hash(m, &client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let signature = hmac(m, &stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = hmac(m, &salted, b"Server Key");
        let expected = hmac(m, &server_key, auth_message.as_bytes());
        Ok((
            format!("{without_proof},p={}", STANDARD.encode(proof)),
            ServerVerifier { expected },
        ))
    }
}

impl ServerVerifier {
    pub(crate) fn verify(&self, server_final: &str) -> Result<()> {
        let signature = server_final
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .and_then(|v| STANDARD.decode(v).ok());
        if signature.as_deref() != Some(self.expected.as_slice()) {
            return Err(CliError::Connect(format!(
                "SCRAM: the server's signature is wrong ({server_final:?}); it does not know the password"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3's SCRAM-SHA-256 example.
    #[test]
    fn rfc7677_exchange() {
        let client = ScramClient::with_nonce(
            ScramMechanism::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        assert_eq!(client.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let (client_final, verifier) = client
            .client_final("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        assert_eq!(
            client_final,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        verifier
            .verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(verifier.verify("v=AAAA").is_err());
    }

    #[test]
    fn names_are_escaped_and_nonces_checked() {
        let client = ScramClient::with_nonce(ScramMechanism::Sha512, "a=b,c", "pw", "abc".into());
        assert_eq!(client.client_first(), "n,,n=a=3Db=2Cc,r=abc");
        assert!(client.client_final("r=xyz123,s=AAAA,i=4096").is_err());
        assert!(client.client_final("e=unknown-user").is_err());
    }
}
