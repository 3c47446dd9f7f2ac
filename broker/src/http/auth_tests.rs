//! The login layer over a tiny router that echoes the caller's principal.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::Extension;
use axum::routing::get;
use strata_governance::credentials::ScramCredential;
use tower::ServiceExt;

use super::*;

/// Passwords in the clear; counts the (slow, in real life) checks.
#[derive(Default)]
struct Users {
    passwords: parking_lot::RwLock<BTreeMap<String, String>>,
    checks: AtomicUsize,
}

impl CredentialLookup for Users {
    fn scram(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        let password = self.passwords.read().get(user)?.clone();
        (mechanism == ScramMechanism::Sha256).then(|| ScramCredential {
            salt: b"salt".to_vec(),
            iterations: 4096,
            stored_key: password.into_bytes(),
            server_key: Vec::new(),
        })
    }

    fn check_password(&self, user: &str, password: &str) -> bool {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.passwords.read().get(user).map(String::as_str) == Some(password)
    }
}

fn app(methods: &str, users: Arc<Users>) -> Router {
    let auth = Arc::new(HttpAuth::new(Methods::parse(methods).unwrap(), users, None).unwrap());
    let router = Router::new()
        .route(
            "/whoami",
            get(|Extension(who): Extension<Identity>| async move { who.principal.to_string() }),
        )
        .route(
            "/health",
            get(|Extension(who): Extension<Identity>| async move { who.principal.to_string() }),
        );
    auth.layer(Face::Admin, router)
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

async fn get_as(
    app: &Router,
    path: &str,
    authorization: Option<&str>,
) -> (StatusCode, String, Option<String>) {
    let mut request = Request::builder().uri(path);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (
        status,
        String::from_utf8(bytes.to_vec()).unwrap(),
        challenge,
    )
}

fn users() -> Arc<Users> {
    let users = Users::default();
    users
        .passwords
        .write()
        .insert("alice".into(), "secret".into());
    Arc::new(users)
}

#[tokio::test]
async fn without_methods_everyone_is_anonymous() {
    let app = app("", users());
    let (status, body, _) = get_as(&app, "/whoami", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "User:ANONYMOUS"));
    let (status, body, _) = get_as(&app, "/whoami", Some(&basic("alice", "wrong"))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "User:ANONYMOUS"));
}

#[tokio::test]
async fn basic_logins() {
    let users = users();
    let app = app("BASIC", users.clone());
    let (status, body, _) = get_as(&app, "/whoami", Some(&basic("alice", "secret"))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "User:alice"));

    for refused in [
        Some(basic("alice", "wrong")),
        Some(basic("mallory", "secret")),
        Some("Basic !!!".to_owned()),
        Some("Bearer abc".to_owned()),
        None,
    ] {
        let (status, body, challenge) = get_as(&app, "/whoami", refused.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused:?}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error_code"], 40101);
        assert!(body["message"].is_string());
        assert_eq!(challenge.as_deref(), Some(r#"Basic realm="strata""#));
    }
}

#[tokio::test]
async fn health_stays_open() {
    let app = app("BASIC,MTLS", users());
    let (status, body, _) = get_as(&app, "/health", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "User:ANONYMOUS"));
}

#[tokio::test]
async fn a_good_login_is_checked_once_until_the_password_changes() {
    let users = users();
    let app = app("basic", users.clone());
    for _ in 0..5 {
        let (status, _, _) = get_as(&app, "/whoami", Some(&basic("alice", "secret"))).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(users.checks.load(Ordering::SeqCst), 1);

    // A wrong password is checked each time (never remembered).
    get_as(&app, "/whoami", Some(&basic("alice", "nope"))).await;
    get_as(&app, "/whoami", Some(&basic("alice", "nope"))).await;
    assert_eq!(users.checks.load(Ordering::SeqCst), 3);

    users
        .passwords
        .write()
        .insert("alice".into(), "changed".into());
    let (status, _, _) = get_as(&app, "/whoami", Some(&basic("alice", "secret"))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    let (status, _, _) = get_as(&app, "/whoami", Some(&basic("alice", "changed"))).await;
    assert_eq!(status, StatusCode::OK);

    users.passwords.write().remove("alice");
    let (status, _, _) = get_as(&app, "/whoami", Some(&basic("alice", "changed"))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a deleted user is refused at once"
    );
}

#[tokio::test]
async fn mtls_takes_the_certificate_principal() {
    let app = app("MTLS", users());
    let mut request = Request::builder()
        .uri("/whoami")
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(PeerPrincipal(Principal::user("CN=client")));
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    assert_eq!(&bytes[..], b"User:CN=client");
    let (status, _, _) = get_as(&app, "/whoami", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn methods_parse_and_refuse_unknown_names() {
    let m = Methods::parse(" BASIC , bearer,MTLS ").unwrap();
    assert!(m.basic && m.bearer && m.mtls);
    assert_eq!(Methods::parse("").unwrap(), Methods::default());
    assert!(Methods::parse("DIGEST").is_err());
    assert!(
        HttpAuth::new(m, Arc::new(Users::default()), None).is_err(),
        "BEARER needs a JWKS"
    );
}

/// The layer's cost per request (`cargo test --release -p strata-broker
/// basic_overhead -- --ignored --nocapture`): no login, a remembered Basic
/// login, and one real PBKDF2 check (8192 iterations, SHA-512 and SHA-256).
#[tokio::test]
#[ignore]
async fn basic_overhead() {
    use strata_governance::credentials::CredentialStore;
    let store = Arc::new(CredentialStore::default());
    for mechanism in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
        store.upsert(
            "alice",
            mechanism,
            ScramCredential::generate(mechanism, "secret", 8192),
        );
    }
    let started = Instant::now();
    assert!(store.check_password("alice", "secret"));
    println!("one password check: {:?}", started.elapsed());
    let header = basic("alice", "secret");
    for methods in ["", "BASIC"] {
        let auth =
            Arc::new(HttpAuth::new(Methods::parse(methods).unwrap(), store.clone(), None).unwrap());
        let app = auth.layer(
            Face::Admin,
            Router::new().route("/x", get(|| async { "ok" })),
        );
        let n = 20_000;
        let mut elapsed = Duration::ZERO;
        for i in 0..n + 1000 {
            let request = Request::builder()
                .uri("/x")
                .header("authorization", &header)
                .body(Body::empty())
                .unwrap();
            let started = Instant::now();
            let response = app.clone().oneshot(request).await.unwrap();
            if i >= 1000 {
                elapsed += started.elapsed();
            }
            assert_eq!(response.status(), StatusCode::OK);
        }
        println!("methods {methods:?}: {:?} per request", elapsed / n);
    }
}
