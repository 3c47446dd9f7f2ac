//! Arbitrary bytes as SASL client messages: the first byte picks PLAIN,
//! SCRAM-SHA-256/512 or OAUTHBEARER, the rest is split at the first 0xFF
//! into the first and second client messages. The credential store holds one
//! user (with one PBKDF2 iteration, so the fuzzer stays fast) and the JWT
//! validator one RSA key. No input may panic.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use strata_governance::credentials::{CredentialStore, ScramCredential, ScramMechanism};
use strata_governance::oauth::{JwksSource, JwtSettings, JwtValidator};
use strata_governance::sasl::{Mechanism, SaslAuthenticator};

/// A public RSA key (the governance crate's test key rsa1).
const JWKS: &str = r#"{"keys":[{"kty":"RSA","kid":"k1","alg":"RS256","use":"sig","e":"AQAB","n":"n48zB673eUJESSPgAax9p_lbD8JyVxn14xt6SvyH8Iw8VeBnCvnLNvbzAXKsPPTO9OBoAkbmz9YKk20qMwdq-Lshi58YuqnO0yR0D7aJ6UHiLRH9Q-3zlMYZq9OzWsUH7CK7OWyExmk4h_ya4c7_X7nnoSdVi3WXtiHeWTrU0kcPHS44fHIGEQ6_smJIKT-j8RC0vjifdyK_0kOlOHlc1cHbQkoWW-ZDpa8YPWbKgXfWWG4KPVPQC6bEldR9q9opjqClegvtsuNI4zGjqeyuoZw0mCxHdxhzXGWMnnUZPKFrPG-Z4GQv_-nyzuqMwRpd8nUr7hFYBRIgWsNtU-zTow"}]}"#;

fn authenticator() -> &'static SaslAuthenticator {
    static AUTH: OnceLock<SaslAuthenticator> = OnceLock::new();
    AUTH.get_or_init(|| {
        let store = CredentialStore::default();
        for mechanism in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
            store.upsert(
                "user",
                mechanism,
                ScramCredential::derive(mechanism, "pencil", b"salt", 1),
            );
        }
        let settings = JwtSettings {
            jwks: JwksSource::File("/nonexistent".into()),
            expected_issuer: Some("issuer".into()),
            expected_audience: vec!["strata".into()],
            principal_claim: "sub".into(),
            clock_skew: Duration::from_secs(30),
            jwks_refresh: Duration::from_secs(3600),
        };
        let validator = JwtValidator::from_jwks(settings, JWKS).expect("the fuzz JWKS parses");
        SaslAuthenticator::new(Arc::new(store), Some(Arc::new(validator)))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mechanism = match selector % 4 {
        0 => Mechanism::Plain,
        1 => Mechanism::Scram(ScramMechanism::Sha256),
        2 => Mechanism::Scram(ScramMechanism::Sha512),
        _ => Mechanism::OAuthBearer,
    };
    let (first, second) = match rest.iter().position(|b| *b == 0xff) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut exchange = authenticator()
        .start(mechanism)
        .expect("every mechanism is configured");
    let now_ms = 1_800_000_000_000;
    let _ = exchange.step(first, now_ms);
    let _ = exchange.step(second, now_ms);
    let _ = exchange.step(b"\x01", now_ms);
});
