//! The HTTP faces behind login and HTTPS through the real server: Basic
//! credentials checked against the SCRAM store (401 40101 with a challenge
//! otherwise, `/health` open), the Schema Registry and REST Proxy answering
//! a logged-in user, and every face speaking TLS only when a keystore is set.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use strata_broker::config::{BrokerConfig, Cli};
use strata_broker::Server;
use strata_governance::credentials::{ScramCredential, ScramMechanism};

const TIMEOUT: Duration = Duration::from_secs(20);

async fn start(dir: &std::path::Path, overrides: &[String]) -> Server {
    let any = "127.0.0.1:0";
    let mut args: Vec<String> = [
        "strata",
        "--data-dir",
        dir.to_str().unwrap(),
        "--kafka-addr",
        any,
        "--schema-registry-addr",
        any,
        "--rest-proxy-addr",
        any,
        "--admin-addr",
        any,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for o in overrides {
        args.push("--override".into());
        args.push(o.clone());
    }
    let cli = Cli::parse_from(args);
    Server::start(BrokerConfig::from_cli(&cli).unwrap())
        .await
        .unwrap()
}

fn add_user(server: &Server, user: &str, password: &str) {
    let mechanism = ScramMechanism::Sha256;
    server.credentials().upsert(
        user,
        mechanism,
        ScramCredential::generate(mechanism, password, 4096),
    );
}

/// A CA and a server certificate for `strata.test` signed by it, written as
/// the keystore (key + chain) and truststore PEM files; the CA's PEM.
fn certificates(dir: &std::path::Path) -> String {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["strata.test".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let keystore = format!("{}{}{}", key.serialize_pem(), leaf.pem(), ca.pem());
    std::fs::write(dir.join("http.keystore.pem"), keystore).unwrap();
    std::fs::write(dir.join("http.truststore.pem"), ca.pem()).unwrap();
    ca.pem()
}

#[tokio::test]
async fn basic_login_on_every_face() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        &["strata.http.authentication.methods=BASIC".into()],
    )
    .await;
    add_user(&server, "alice", "alice-secret");
    let client = reqwest::Client::builder().timeout(TIMEOUT).build().unwrap();
    let registry = format!("http://{}", server.schema_registry_addr());
    let admin = format!("http://{}", server.admin_addr());

    let refused = client
        .get(format!("{registry}/subjects"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        r#"Basic realm="strata""#
    );
    let body: serde_json::Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
    assert_eq!(body["error_code"], 40101);

    let wrong = client
        .get(format!("{registry}/subjects"))
        .basic_auth("alice", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let ok = client
        .get(format!("{registry}/subjects"))
        .basic_auth("alice", Some("alice-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "[]");

    let health = client.get(format!("{admin}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "health stays open");
    let metrics = client.get(format!("{admin}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 401);

    server.shutdown().await;
}

#[tokio::test]
async fn https_on_every_face() {
    let dir = tempfile::tempdir().unwrap();
    let ca = certificates(dir.path());
    let keystore = dir.path().join("http.keystore.pem");
    let server = start(
        dir.path(),
        &[format!(
            "strata.http.ssl.keystore.location={}",
            keystore.display()
        )],
    )
    .await;
    let registry: SocketAddr = server.schema_registry_addr();
    let admin: SocketAddr = server.admin_addr();
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .resolve("strata.test", registry)
        .build()
        .unwrap();
    let response = client
        .get(format!("https://strata.test:{}/subjects", registry.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "[]");

    let admin_client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .resolve("strata.test", admin)
        .build()
        .unwrap();
    let health = admin_client
        .get(format!("https://strata.test:{}/health", admin.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // Plain HTTP on the TLS port is not served.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("http://{registry}/subjects"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    server.shutdown().await;
}
