//! Listeners with their security protocols: PLAINTEXT, SASL_PLAINTEXT and
//! SSL served at once on port 0, each answering Metadata with its own
//! endpoint; SASL logins, refusals and the SASL state machine; a plaintext
//! client on the TLS port.

#[allow(dead_code)] // each test crate uses a part of it
mod common;

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use strata_broker::config::BrokerConfig;
use strata_broker::Server;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN: &str = "admin";
const PASSWORD: &str = "admin-secret";

struct Pki {
    _dir: tempfile::TempDir,
    keystore: String,
    ca: rustls::pki_types::CertificateDer<'static>,
}

/// A CA and a server certificate for 127.0.0.1, written as PEM.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test ca");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let keystore = dir.path().join("server.pem");
    std::fs::write(
        &keystore,
        format!("{}{}{}", key.serialize_pem(), cert.pem(), ca_cert.pem()),
    )
    .unwrap();
    Pki {
        keystore: keystore.to_str().unwrap().to_string(),
        ca: ca_cert.der().clone(),
        _dir: dir,
    }
}

fn secured_config(dir: &std::path::Path, pki: &Pki, extra: &[(&str, &str)]) -> BrokerConfig {
    let mut overrides = vec![
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
        ),
        ("ssl.keystore.location", pki.keystore.as_str()),
        ("connection.failed.authentication.delay.ms", "10"),
    ];
    overrides.extend_from_slice(extra);
    let mut config = config(dir, &overrides);
    config.admin_user = Some((ADMIN.into(), PASSWORD.into()));
    config
}

/// One request on any stream; `None` if the broker closed the connection.
async fn call<S, Req, Resp>(
    stream: &mut S,
    api_key: ApiKey,
    version: i16,
    request: &Req,
) -> Option<Resp>
where
    S: AsyncRead + AsyncWrite + Unpin,
    Req: Encodable,
    Resp: Decodable,
{
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("it")));
    let mut body = BytesMut::new();
    header
        .encode(&mut body, api_key.request_header_version(version))
        .unwrap();
    request.encode(&mut body, version).unwrap();
    let mut frame = BytesMut::new();
    frame.put_i32(body.len() as i32);
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await.ok()?;
    let mut response = read_frame(stream).await?;
    let header =
        ResponseHeader::decode(&mut response, api_key.response_header_version(version)).unwrap();
    assert_eq!(header.correlation_id, 7);
    Some(Resp::decode(&mut response, version).unwrap())
}

async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Bytes> {
    let mut len = [0u8; 4];
    tokio::time::timeout(TIMEOUT, stream.read_exact(&mut len))
        .await
        .unwrap()
        .ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    tokio::time::timeout(TIMEOUT, stream.read_exact(&mut body))
        .await
        .unwrap()
        .ok()?;
    Some(Bytes::from(body))
}

async fn metadata_port<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Option<i32> {
    let response: MetadataResponse = call(
        stream,
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(vec![])),
    )
    .await?;
    Some(response.brokers[0].port)
}

async fn handshake(stream: &mut TcpStream, mechanism: &'static str) -> SaslHandshakeResponse {
    call(
        stream,
        ApiKey::SaslHandshake,
        1,
        &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)),
    )
    .await
    .expect("a handshake answer")
}

async fn authenticate(stream: &mut TcpStream, bytes: &[u8]) -> Option<SaslAuthenticateResponse> {
    call(
        stream,
        ApiKey::SaslAuthenticate,
        2,
        &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(bytes)),
    )
    .await
}

/// True when the broker closed the connection (EOF or reset).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(TIMEOUT, stream.read(&mut byte)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

fn tls_connector(pki: &Pki) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_listener_advertises_itself_and_tls_refuses_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let server = Server::start(secured_config(dir.path(), &pki, &[]))
        .await
        .unwrap();
    let plain = server.listener_addr("PLAINTEXT").unwrap();
    let sasl = server.listener_addr("sasl_plaintext").unwrap();
    let ssl = server.listener_addr("SSL").unwrap();
    assert_eq!(server.kafka_addr(), plain);

    let mut client = TcpStream::connect(plain).await.unwrap();
    assert_eq!(metadata_port(&mut client).await, Some(plain.port() as i32));

    // A plaintext client on the TLS port fails its handshake and is closed...
    let mut confused = TcpStream::connect(ssl).await.unwrap();
    assert_eq!(metadata_port(&mut confused).await, None);
    // ...while a TLS client is served, as User:ANONYMOUS without a certificate.
    let tcp = TcpStream::connect(ssl).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tls_connector(&pki).connect(name, tcp).await.unwrap();
    assert_eq!(metadata_port(&mut tls).await, Some(ssl.port() as i32));

    // The SASL listener advertises itself once logged in.
    let mut sasl_client = TcpStream::connect(sasl).await.unwrap();
    assert_eq!(handshake(&mut sasl_client, "PLAIN").await.error_code, 0);
    let login = authenticate(
        &mut sasl_client,
        format!("\0{ADMIN}\0{PASSWORD}").as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(login.error_code, 0);
    assert_eq!(
        metadata_port(&mut sasl_client).await,
        Some(sasl.port() as i32)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_listener_admits_only_logged_in_clients() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let server = Server::start(secured_config(dir.path(), &pki, &[]))
        .await
        .unwrap();
    let sasl = server.listener_addr("SASL_PLAINTEXT").unwrap();

    // ApiVersions is answered before a login and advertises the SASL APIs.
    let mut client = TcpStream::connect(sasl).await.unwrap();
    let versions: ApiVersionsResponse = call(
        &mut client,
        ApiKey::ApiVersions,
        3,
        &ApiVersionsRequest::default(),
    )
    .await
    .unwrap();
    let handshake_versions = versions
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::SaslHandshake as i16)
        .unwrap();
    assert_eq!(handshake_versions.max_version, 1);
    // Any other request before the login closes the connection.
    assert_eq!(metadata_port(&mut client).await, None);

    // An unknown mechanism: refused with the enabled ones, then closed.
    let mut client = TcpStream::connect(sasl).await.unwrap();
    let refused = handshake(&mut client, "GSSAPI").await;
    assert_eq!(refused.error_code, 33);
    assert!(refused
        .mechanisms
        .iter()
        .any(|m| m.as_str() == "SCRAM-SHA-512"));
    assert!(closed(&mut client).await);

    // A wrong password: SASL_AUTHENTICATION_FAILED with a message, then closed.
    let mut client = TcpStream::connect(sasl).await.unwrap();
    assert_eq!(handshake(&mut client, "PLAIN").await.error_code, 0);
    let failed = authenticate(&mut client, format!("\0{ADMIN}\0wrong").as_bytes())
        .await
        .unwrap();
    assert_eq!(failed.error_code, 58);
    assert!(failed.error_message.is_some());
    assert!(closed(&mut client).await);

    // A request other than SaslAuthenticate after the handshake closes the connection.
    let mut client = TcpStream::connect(sasl).await.unwrap();
    assert_eq!(handshake(&mut client, "PLAIN").await.error_code, 0);
    assert_eq!(metadata_port(&mut client).await, None);

    // On a PLAINTEXT listener the SASL APIs answer ILLEGAL_SASL_STATE.
    let mut client = TcpStream::connect(server.kafka_addr()).await.unwrap();
    assert_eq!(handshake(&mut client, "PLAIN").await.error_code, 34);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthentication_keeps_the_principal_and_announces_the_session_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let server = Server::start(secured_config(
        dir.path(),
        &pki,
        &[("connections.max.reauth.ms", "60000")],
    ))
    .await
    .unwrap();
    let sasl = server.listener_addr("SASL_PLAINTEXT").unwrap();
    let mut client = TcpStream::connect(sasl).await.unwrap();
    assert_eq!(handshake(&mut client, "PLAIN").await.error_code, 0);
    let login = authenticate(&mut client, format!("\0{ADMIN}\0{PASSWORD}").as_bytes())
        .await
        .unwrap();
    assert_eq!(login.error_code, 0);
    assert!(login.session_lifetime_ms > 0 && login.session_lifetime_ms <= 60_000);
    // Re-authenticate on the open connection, then keep being served.
    assert_eq!(handshake(&mut client, "PLAIN").await.error_code, 0);
    let again = authenticate(&mut client, format!("\0{ADMIN}\0{PASSWORD}").as_bytes())
        .await
        .unwrap();
    assert_eq!(again.error_code, 0);
    assert_eq!(metadata_port(&mut client).await, Some(sasl.port() as i32));
    server.shutdown().await;
}
