use super::*;
use crate::credentials::{salted_password, CredentialStore};

const RFC_SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
const RFC_CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const RFC_SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

fn store() -> Arc<CredentialStore> {
    let store = CredentialStore::default();
    let salt = STANDARD.decode(RFC_SALT).unwrap();
    store.upsert(
        "user",
        ScramMechanism::Sha256,
        ScramCredential::derive(ScramMechanism::Sha256, "pencil", &salt, 4096),
    );
    store.upsert(
        "alice,=x",
        ScramMechanism::Sha512,
        ScramCredential::generate(ScramMechanism::Sha512, "secret", 4096),
    );
    Arc::new(store)
}

fn exchange(mechanism: ScramMechanism) -> ScramExchange {
    ScramExchange::new(mechanism, store())
}

fn challenge(step: Result<SaslStep, SaslError>) -> String {
    match step.unwrap() {
        SaslStep::Challenge(c) => String::from_utf8(c).unwrap(),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// A SCRAM client as RFC 5802 describes it: the client-final message for a
/// server-first, and the server signature it expects.
fn client_final(
    mechanism: ScramMechanism,
    password: &str,
    client_first_bare: &str,
    server_first: &str,
    channel: &str,
) -> (String, String) {
    let fields: Vec<&str> = server_first.split(',').collect();
    let nonce = fields[0].strip_prefix("r=").unwrap();
    let salt = STANDARD
        .decode(fields[1].strip_prefix("s=").unwrap())
        .unwrap();
    let iterations: u32 = fields[2].strip_prefix("i=").unwrap().parse().unwrap();
    let salted = salted_password(mechanism, password, &salt, iterations);
    let client_key = hmac(mechanism, &salted, b"Client Key");
    let stored_key = hash(mechanism, &client_key);
    let without_proof = format!("c={channel},r={nonce}");
    let auth = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hmac(mechanism, &stored_key, auth.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let server_key = hmac(mechanism, &salted, b"Server Key");
    let server_signature = hmac(mechanism, &server_key, auth.as_bytes());
    (
        format!("{without_proof},p={}", STANDARD.encode(proof)),
        format!("v={}", STANDARD.encode(server_signature)),
    )
}

#[test]
fn rfc7677_exchange() {
    let mut e = exchange(ScramMechanism::Sha256);
    e.server_nonce = RFC_SERVER_NONCE.into();
    let server_first = challenge(e.step(format!("n,,n=user,r={RFC_CLIENT_NONCE}").as_bytes(), 0));
    assert_eq!(
        server_first,
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    );
    let done = e
        .step(
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            0,
        )
        .unwrap();
    assert_eq!(
        done,
        SaslStep::Done {
            principal: Principal::user("user"),
            response: b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".to_vec(),
            expires_at_ms: None,
        }
    );
    assert!(e.step(b"anything", 0).is_err());
}

#[test]
fn client_logs_in_with_sha512_escaped_name_and_authzid() {
    let mut e = exchange(ScramMechanism::Sha512);
    let bare = "n=alice=2C=3Dx,r=abcdef";
    let gs2 = "n,a=alice=2C=3Dx,";
    let server_first = challenge(e.step(format!("{gs2}{bare}").as_bytes(), 0));
    assert!(server_first.starts_with("r=abcdef") && server_first.len() > 12);
    let (last, expected) = client_final(
        ScramMechanism::Sha512,
        "secret",
        bare,
        &server_first,
        &STANDARD.encode(gs2),
    );
    match e.step(last.as_bytes(), 0).unwrap() {
        SaslStep::Done {
            principal,
            response,
            ..
        } => {
            assert_eq!(principal, Principal::user("alice,=x"));
            assert_eq!(String::from_utf8(response).unwrap(), expected);
        }
        other => panic!("{other:?}"),
    }
}

fn failing_final(mutate: impl Fn(&str, &str) -> (String, String)) -> SaslError {
    let mut e = exchange(ScramMechanism::Sha256);
    let server_first = challenge(e.step(b"n,,n=user,r=cnonce", 0));
    let (password, channel) = mutate(&server_first, "biws");
    let (last, _) = client_final(
        ScramMechanism::Sha256,
        &password,
        "n=user,r=cnonce",
        &server_first,
        &channel,
    );
    e.step(last.as_bytes(), 0).unwrap_err()
}

#[test]
fn wrong_password_fails_with_kafkas_message() {
    let err = failing_final(|_, c| ("pencils".into(), c.into()));
    assert_eq!(
        err.message,
        "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
    );
    // Sanity: the right password passes through the same path.
    let mut e = exchange(ScramMechanism::Sha256);
    let server_first = challenge(e.step(b"n,,n=user,r=cnonce", 0));
    let (last, _) = client_final(
        ScramMechanism::Sha256,
        "pencil",
        "n=user,r=cnonce",
        &server_first,
        "biws",
    );
    assert!(matches!(
        e.step(last.as_bytes(), 0),
        Ok(SaslStep::Done { .. })
    ));
}

#[test]
fn wrong_channel_binding_fails() {
    let err = failing_final(|_, _| ("pencil".into(), "eSws".into()));
    assert!(err.message.contains("channel binding"), "{err}");
}

#[test]
fn wrong_nonce_and_replay_fail() {
    let mut e = exchange(ScramMechanism::Sha256);
    let server_first = challenge(e.step(b"n,,n=user,r=cnonce", 0));
    let (last, _) = client_final(
        ScramMechanism::Sha256,
        "pencil",
        "n=user,r=cnonce",
        &server_first,
        "biws",
    );
    let tampered = last.replacen("r=cnonce", "r=cnoncX", 1);
    assert!(e
        .step(tampered.as_bytes(), 0)
        .unwrap_err()
        .message
        .contains("nonce"));

    // A final message that succeeded once fails on a fresh exchange: the
    // server nonce differs.
    let mut first = exchange(ScramMechanism::Sha256);
    let server_first = challenge(first.step(b"n,,n=user,r=cnonce", 0));
    let (last, _) = client_final(
        ScramMechanism::Sha256,
        "pencil",
        "n=user,r=cnonce",
        &server_first,
        "biws",
    );
    assert!(first.step(last.as_bytes(), 0).is_ok());
    let mut replay = exchange(ScramMechanism::Sha256);
    challenge(replay.step(b"n,,n=user,r=cnonce", 0));
    assert!(replay.step(last.as_bytes(), 0).is_err());
}

#[test]
fn unknown_user_gets_a_stable_fake_salt_and_fails_at_the_proof() {
    let first = challenge(exchange(ScramMechanism::Sha256).step(b"n,,n=nobody,r=x", 0));
    let again = challenge(exchange(ScramMechanism::Sha256).step(b"n,,n=nobody,r=x", 0));
    let salt = |m: &str| m.split(',').nth(1).unwrap().to_string();
    assert_eq!(salt(&first), salt(&again));
    assert!(first.ends_with(",i=4096"));
    let mut e = exchange(ScramMechanism::Sha256);
    let server_first = challenge(e.step(b"n,,n=nobody,r=x", 0));
    let (last, _) = client_final(
        ScramMechanism::Sha256,
        "pencil",
        "n=nobody,r=x",
        &server_first,
        "biws",
    );
    assert_eq!(
        e.step(last.as_bytes(), 0).unwrap_err().message,
        "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
    );
    // A user with only a SHA-512 credential is unknown to SCRAM-SHA-256.
    let mut e = exchange(ScramMechanism::Sha256);
    challenge(e.step(b"n,,n=alice=2C=3Dx,r=x", 0));
}

#[test]
fn malformed_client_first_messages_fail() {
    for message in [
        "",
        "n,,",
        "p=tls-unique,,n=user,r=x",
        "n,,n=user",
        "n,,r=x,n=user",
        "n,,n=,r=x",
        "n,,n=us=er,r=x",
        "n,,n=user,r=",
        "n,a=other,n=user,r=x",
        "n,,n=user,r=x,tokenauth=true",
        "n,,n=user,r=x,garbage",
    ] {
        assert!(
            exchange(ScramMechanism::Sha256)
                .step(message.as_bytes(), 0)
                .is_err(),
            "{message:?}"
        );
    }
    assert!(exchange(ScramMechanism::Sha256)
        .step(&[0xff, 0xfe], 0)
        .is_err());
    // Unknown extensions are accepted.
    challenge(exchange(ScramMechanism::Sha256).step(b"n,,n=user,r=x,ext=1", 0));
}

#[test]
fn malformed_client_final_messages_fail() {
    for last in [
        "",
        "c=biws",
        "c=biws,p=AAAA",
        "r=x,c=biws,p=AAAA",
        "c=biws,r=x,p=!!",
    ] {
        let mut e = exchange(ScramMechanism::Sha256);
        challenge(e.step(b"n,,n=user,r=x", 0));
        assert!(e.step(last.as_bytes(), 0).is_err(), "{last:?}");
    }
}
