//! TLS to brokers: server certificates checked against the CA file given.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::error::{CliError, Result};

/// A client configuration trusting the CAs in `ca_file` (PEM).
pub(crate) fn client_config(ca_file: &Path) -> Result<Arc<rustls::ClientConfig>> {
    let bad = |e: String| CliError::usage(format!("CA file {}: {e}", ca_file.display()));
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file).map_err(|e| bad(e.to_string()))?;
    for cert in certs {
        roots
            .add(cert.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CliError::Connect(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The TLS handshake with the broker at `addr`, checking its certificate
/// names the host part of `addr`.
pub(crate) async fn handshake(
    config: &Arc<rustls::ClientConfig>,
    addr: &str,
    tcp: TcpStream,
    timeout: Duration,
) -> Result<TlsStream<TcpStream>> {
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| CliError::usage(format!("{host} is not a TLS server name: {e}")))?;
    let connector = TlsConnector::from(config.clone());
    tokio::time::timeout(timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| CliError::Connect(format!("TLS handshake with {addr} timed out")))?
        .map_err(|e| CliError::Connect(format!("TLS handshake with {addr}: {e}")))
}
