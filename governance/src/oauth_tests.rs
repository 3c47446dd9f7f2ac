use std::path::Path;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

use base64::Engine;

use super::*;

const RSA1: &str = include_str!("../testdata/rsa1.key.pem");
const RSA2: &str = include_str!("../testdata/rsa2.key.pem");
const EC: &str = include_str!("../testdata/ec.key.pem");
const RSA1_N: &str = "n48zB673eUJESSPgAax9p_lbD8JyVxn14xt6SvyH8Iw8VeBnCvnLNvbzAXKsPPTO9OBoAkbmz9YKk20qMwdq-Lshi58YuqnO0yR0D7aJ6UHiLRH9Q-3zlMYZq9OzWsUH7CK7OWyExmk4h_ya4c7_X7nnoSdVi3WXtiHeWTrU0kcPHS44fHIGEQ6_smJIKT-j8RC0vjifdyK_0kOlOHlc1cHbQkoWW-ZDpa8YPWbKgXfWWG4KPVPQC6bEldR9q9opjqClegvtsuNI4zGjqeyuoZw0mCxHdxhzXGWMnnUZPKFrPG-Z4GQv_-nyzuqMwRpd8nUr7hFYBRIgWsNtU-zTow";
const RSA2_N: &str = "3-nLhycp03UV7fsOuKU6RWsjS_XYm_QLFCif_Z5JP3X5JVzoZCBTFFCsog7GMg1BhwHtLSbvW2p3pfv0jlHzjVAf_1MUhkR-qUYI6GO5F_J-n39PZZDkNqcWCBa3qrvLIGj1MDA-N3NPfp-xHkRprdmMbHA6psv8U6Qrx7GbXMUQM2jgz-rVAslfrJZsKQmIC5BXM_vVsxW9gqPUFp1mdF03wv74FjJtzotjwM31PPaUPehSkqF3-qokMONA3hCFJtQfY5evLka9ePqojRRiCHhTbNOOVhbRkLMcBPk9z7Ra9X0GG_gcGcyy9ScvDtPGLQgu3thbO_qbOruIfijX2Q";
const EC_X: &str = "wiPDJnga2o36JXseqiia-XliYKCehVAt24qqHdlQkRQ";
const EC_Y: &str = "4mKtu7vExq2Zp87Ii4qu_Rn9VSEGiBXzo2nMtGUfVeQ";

/// Now, in ms and seconds, for the tests' tokens.
const NOW_S: i64 = 1_800_000_000;
const NOW_MS: i64 = NOW_S * 1000;

fn rsa_jwk(kid: &str, n: &str) -> Value {
    json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": n, "e": "AQAB"})
}

fn ec_jwk() -> Value {
    json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": EC_X, "y": EC_Y})
}

fn write_jwks(path: &Path, keys: Vec<Value>) {
    std::fs::write(path, json!({ "keys": keys }).to_string()).unwrap();
}

fn settings(jwks: JwksSource) -> JwtSettings {
    JwtSettings {
        jwks,
        expected_issuer: Some("https://issuer.example".into()),
        expected_audience: vec!["strata".into(), "kafka".into()],
        principal_claim: "sub".into(),
        clock_skew: Duration::from_secs(30),
        jwks_refresh: Duration::from_secs(3600),
    }
}

async fn validator(dir: &Path, keys: Vec<Value>) -> JwtValidator {
    let path = dir.join("jwks.json");
    write_jwks(&path, keys);
    JwtValidator::load(settings(JwksSource::File(path)))
        .await
        .unwrap()
}

fn claims() -> Value {
    json!({
        "sub": "alice",
        "iss": "https://issuer.example",
        "aud": ["other", "kafka"],
        "iat": NOW_S - 10,
        "exp": NOW_S + 300,
    })
}

fn sign(alg: Algorithm, kid: Option<&str>, pem: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    };
    encode(&header, claims, &key).unwrap()
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(key);
    } else {
        claims[key] = value;
    }
    claims
}

#[tokio::test]
async fn valid_tokens_pass() {
    let dir = tempfile::tempdir().unwrap();
    let v = validator(dir.path(), vec![rsa_jwk("k1", RSA1_N), ec_jwk()]).await;
    let token = sign(Algorithm::RS256, Some("k1"), RSA1, &claims());
    assert_eq!(
        v.validate(&token, NOW_MS).unwrap(),
        ValidToken {
            principal_name: "alice".into(),
            expires_at_ms: (NOW_S + 300) * 1000
        }
    );
    let es = sign(
        Algorithm::ES256,
        Some("ec"),
        EC,
        &with(claims(), "aud", json!("strata")),
    );
    assert_eq!(v.validate(&es, NOW_MS).unwrap().principal_name, "alice");
    // Within the clock skew of exp.
    let late = sign(
        Algorithm::RS256,
        Some("k1"),
        RSA1,
        &with(claims(), "exp", json!(NOW_S - 20)),
    );
    assert!(v.validate(&late, NOW_MS).is_ok());
}

#[tokio::test]
async fn token_without_kid_uses_the_only_key() {
    let dir = tempfile::tempdir().unwrap();
    let one = validator(dir.path(), vec![rsa_jwk("k1", RSA1_N)]).await;
    let token = sign(Algorithm::RS256, None, RSA1, &claims());
    assert!(one.validate(&token, NOW_MS).is_ok());
    let two = validator(dir.path(), vec![rsa_jwk("k1", RSA1_N), ec_jwk()]).await;
    assert!(two.validate(&token, NOW_MS).is_err());
}

#[tokio::test]
async fn bad_tokens_fail() {
    let dir = tempfile::tempdir().unwrap();
    let v = validator(dir.path(), vec![rsa_jwk("k1", RSA1_N), ec_jwk()]).await;
    let cases = [
        (
            "expired",
            sign(
                Algorithm::RS256,
                Some("k1"),
                RSA1,
                &with(claims(), "exp", json!(NOW_S - 31)),
            ),
            "expired",
        ),
        (
            "no exp",
            sign(
                Algorithm::RS256,
                Some("k1"),
                RSA1,
                &with(claims(), "exp", Value::Null),
            ),
            "exp",
        ),
        (
            "nbf ahead",
            sign(
                Algorithm::RS256,
                Some("k1"),
                RSA1,
                &with(claims(), "nbf", json!(NOW_S + 60)),
            ),
            "nbf",
        ),
        (
            "iat ahead",
            sign(
                Algorithm::RS256,
                Some("k1"),
                RSA1,
                &with(claims(), "iat", json!(NOW_S + 60)),
            ),
            "iat",
        ),
        (
            "issuer",
            sign(
                Algorithm::RS256,
                Some("k1"),
                RSA1,
                &with(claims(), "iss", json!("https://evil")),
            ),
            "issuer",
        ),
        (
            "no issuer",
            sign(
                Algorithm::RS256,
                Some("k1"),
                RSA1,
                &with(claims(), "iss", Value::Null),
            ),
            "issuer",
        ),
        (
            "audience",
            sign(
                Algorithm::RS256,
                Some("k1"),
                RSA1,
                &with(claims(), "aud", json!(["other"])),
            ),
            "audience",
        ),
        (
            "no sub",
            sign(
                Algorithm::RS256,
                Some("k1"),
                RSA1,
                &with(claims(), "sub", Value::Null),
            ),
            "sub",
        ),
        (
            "wrong key",
            sign(Algorithm::RS256, Some("k1"), RSA2, &claims()),
            "signature",
        ),
        (
            "unknown kid",
            sign(Algorithm::RS256, Some("k9"), RSA1, &claims()),
            "kid",
        ),
        (
            "alg not the key's",
            sign(Algorithm::RS384, Some("k1"), RSA1, &claims()),
            "algorithm",
        ),
        ("not a jwt", "abc.def".to_string(), "JWT"),
    ];
    for (what, token, message) in cases {
        let err = v.validate(&token, NOW_MS).unwrap_err();
        assert!(err.0.contains(message), "{what}: {err}");
    }
    // A payload changed after signing.
    let token = sign(Algorithm::RS256, Some("k1"), RSA1, &claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let forged = with(claims(), "sub", json!("admin"));
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
    let err = v.validate(&parts.join("."), NOW_MS).unwrap_err();
    assert!(err.0.contains("signature"), "{err}");
}

#[tokio::test]
async fn custom_principal_claim() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    write_jwks(&path, vec![rsa_jwk("k1", RSA1_N)]);
    let mut s = settings(JwksSource::File(path));
    s.principal_claim = "preferred_username".into();
    s.expected_issuer = None;
    s.expected_audience.clear();
    let v = JwtValidator::load(s).await.unwrap();
    let token = sign(
        Algorithm::RS256,
        Some("k1"),
        RSA1,
        &json!({"preferred_username": "bob", "exp": NOW_S + 10}),
    );
    assert_eq!(v.validate(&token, NOW_MS).unwrap().principal_name, "bob");
}

#[tokio::test]
async fn refresh_picks_up_new_keys() {
    let dir = tempfile::tempdir().unwrap();
    let v = validator(dir.path(), vec![rsa_jwk("k1", RSA1_N)]).await;
    let token = sign(Algorithm::RS256, Some("k2"), RSA2, &claims());
    assert_eq!(v.unknown_key_id(&token).as_deref(), Some("k2"));
    assert!(v.validate(&token, NOW_MS).is_err());
    write_jwks(
        &dir.path().join("jwks.json"),
        vec![rsa_jwk("k1", RSA1_N), rsa_jwk("k2", RSA2_N)],
    );
    v.refresh().await.unwrap();
    assert_eq!(v.unknown_key_id(&token), None);
    assert!(v.validate(&token, NOW_MS).is_ok());
    // A failed refresh keeps the keys.
    std::fs::write(dir.path().join("jwks.json"), "garbage").unwrap();
    assert!(v.refresh().await.is_err());
    assert!(v.validate(&token, NOW_MS).is_ok());
}

#[tokio::test]
async fn load_refuses_unreadable_sets() {
    let dir = tempfile::tempdir().unwrap();
    let missing = JwtValidator::load(settings(JwksSource::File(dir.path().join("none")))).await;
    assert!(missing.is_err());
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, "{\"keys\": []}").unwrap();
    assert!(JwtValidator::load(settings(JwksSource::File(path.clone())))
        .await
        .is_err());
    // A key this build cannot read is skipped, not fatal.
    write_jwks(
        &path,
        vec![json!({"kty": "XYZ", "kid": "odd"}), rsa_jwk("k1", RSA1_N)],
    );
    assert!(JwtValidator::load(settings(JwksSource::File(path)))
        .await
        .is_ok());
}

#[tokio::test]
async fn loads_from_an_http_url() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = json!({ "keys": [rsa_jwk("k1", RSA1_N)] }).to_string();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 4096];
        let _ = socket.read(&mut buf).await;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
    });
    let v = JwtValidator::load(settings(JwksSource::Url(format!("http://{addr}/jwks"))))
        .await
        .unwrap();
    let token = sign(Algorithm::RS256, Some("k1"), RSA1, &claims());
    assert!(v.validate(&token, NOW_MS).is_ok());
}

#[tokio::test]
async fn oauthbearer_exchange() {
    use std::sync::Arc;

    use crate::credentials::CredentialStore;
    use crate::sasl::{Mechanism, SaslAuthenticator, SaslStep};
    use crate::Principal;

    let dir = tempfile::tempdir().unwrap();
    let v = Arc::new(validator(dir.path(), vec![rsa_jwk("k1", RSA1_N)]).await);
    let auth = SaslAuthenticator::new(Arc::new(CredentialStore::default()), Some(v));
    let message =
        |token: &str| format!("n,,\x01auth=Bearer {token}\x01host=localhost\x01port=9093\x01\x01");

    let good = sign(Algorithm::RS256, Some("k1"), RSA1, &claims());
    let mut e = auth.start(Mechanism::OAuthBearer).unwrap();
    assert_eq!(
        e.step(message(&good).as_bytes(), NOW_MS).unwrap(),
        SaslStep::Done {
            principal: Principal::user("alice"),
            response: vec![],
            expires_at_ms: Some((NOW_S + 300) * 1000),
        }
    );

    let expired = sign(
        Algorithm::RS256,
        Some("k1"),
        RSA1,
        &with(claims(), "exp", json!(NOW_S - 100)),
    );
    let mut e = auth.start(Mechanism::OAuthBearer).unwrap();
    let first = e.step(message(&expired).as_bytes(), NOW_MS).unwrap_err();
    assert_eq!(
        first.challenge.as_deref(),
        Some(&br#"{"status":"invalid_token"}"#[..])
    );
    let last = e.step(b"\x01", NOW_MS).unwrap_err();
    assert_eq!(last.challenge, None);
    assert!(last.message.contains("expired"), "{last}");

    // An authzid must name the token's principal.
    let mut e = auth.start(Mechanism::OAuthBearer).unwrap();
    let with_authzid = format!("n,a=bob,\x01auth=Bearer {good}\x01\x01");
    assert!(e.step(with_authzid.as_bytes(), NOW_MS).is_err());

    // Without a validator, OAUTHBEARER cannot start.
    let plain_only = SaslAuthenticator::new(Arc::new(CredentialStore::default()), None);
    assert!(plain_only.start(Mechanism::OAuthBearer).is_none());
}

#[test]
fn from_jwks_needs_no_io() {
    let jwks = json!({ "keys": [rsa_jwk("k1", RSA1_N)] }).to_string();
    let v =
        JwtValidator::from_jwks(settings(JwksSource::File("/nonexistent".into())), &jwks).unwrap();
    let token = sign(Algorithm::RS256, Some("k1"), RSA1, &claims());
    assert!(v.validate(&token, NOW_MS).is_ok());
    assert!(JwtValidator::from_jwks(settings(JwksSource::File("/x".into())), "{}").is_err());
}
