//! TLS for every face (Kafka listeners, Schema Registry, REST Proxy, admin):
//! a rustls server configuration built from PEM files, rebuilt when the
//! files change so certificates can be rotated without a restart.
//!
//! The keystore is one PEM file holding the private key and the certificate
//! chain (Kafka's `ssl.keystore.type=PEM`); the truststore is a PEM file of
//! CA certificates that client certificates are checked against. Encrypted
//! keys are not supported. A configuration that does not load refuses the
//! start; a reload that fails keeps the configuration in use and logs why.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use parking_lot::Mutex;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use strata_governance::principal_mapping::{certificate_principal, SslPrincipalMapper};
use strata_governance::Principal;
use tokio_rustls::TlsAcceptor;

/// The certificate files are looked at again at most this often.
const RELOAD_CHECK: Duration = Duration::from_secs(1);

/// Whether clients must present a certificate (`ssl.client.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ClientAuth {
    /// No certificate asked for.
    #[default]
    None,
    /// Asked for; a client without one is served as `User:ANONYMOUS`.
    Requested,
    /// A client without a certificate the truststore vouches for fails the handshake.
    Required,
}

impl ClientAuth {
    /// Parses Kafka's values `none`, `requested`, `required`.
    pub(crate) fn parse(value: &str) -> anyhow::Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(ClientAuth::None),
            "requested" => Ok(ClientAuth::Requested),
            "required" => Ok(ClientAuth::Required),
            other => bail!("ssl.client.auth must be none, requested or required, not {other:?}"),
        }
    }
}

/// Where a TLS server finds its key, certificates and trusted CAs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// PEM: the private key and the certificate chain, leaf first.
    pub(crate) keystore: PathBuf,
    /// PEM: the CA certificates client certificates are checked against.
    pub(crate) truststore: Option<PathBuf>,
    pub(crate) client_auth: ClientAuth,
}

impl TlsSettings {
    fn files(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.keystore.as_path()).chain(self.truststore.as_deref())
    }

    /// Builds the rustls configuration from the files as they are now.
    fn load(&self) -> anyhow::Result<ServerConfig> {
        let pem = std::fs::read(&self.keystore)
            .with_context(|| format!("reading the keystore {}", self.keystore.display()))?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("certificates in {}", self.keystore.display()))?;
        if chain.is_empty() {
            bail!("no certificate in the keystore {}", self.keystore.display());
        }
        let key = PrivateKeyDer::from_pem_slice(&pem).with_context(|| {
            format!(
                "no unencrypted private key in the keystore {}",
                self.keystore.display()
            )
        })?;
        let provider = Arc::new(provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?;
        let builder = match (self.client_auth, &self.truststore) {
            (ClientAuth::None, _) => builder.with_no_client_auth(),
            (_, None) => bail!("ssl.client.auth needs ssl.truststore.location"),
            (auth, Some(truststore)) => {
                let roots = Arc::new(read_roots(truststore)?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
                let verifier = match auth {
                    ClientAuth::Requested => verifier.allow_unauthenticated(),
                    _ => verifier,
                };
                let verifier = verifier
                    .build()
                    .with_context(|| format!("the truststore {}", truststore.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        builder
            .with_single_cert(chain, key)
            .with_context(|| format!("the key and certificate in {}", self.keystore.display()))
    }

    fn modified(&self) -> Vec<Option<SystemTime>> {
        self.files()
            .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
            .collect()
    }
}

/// The crypto provider the rest of the tree builds (aws-lc-rs, through
/// reqwest): chosen explicitly so no process-wide default is needed.
fn provider() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

fn read_roots(path: &Path) -> anyhow::Result<RootCertStore> {
    let pem = std::fs::read(path)
        .with_context(|| format!("reading the truststore {}", path.display()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.with_context(|| format!("certificates in {}", path.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("a CA certificate in {}", path.display()))?;
    }
    if roots.is_empty() {
        bail!("no CA certificate in the truststore {}", path.display());
    }
    Ok(roots)
}

/// A TLS acceptor that follows its PEM files: when one's modification time
/// changes, the configuration is rebuilt for the connections accepted after.
pub(crate) struct ReloadingTlsAcceptor {
    settings: TlsSettings,
    state: Mutex<LoadedState>,
}

struct LoadedState {
    acceptor: TlsAcceptor,
    modified: Vec<Option<SystemTime>>,
    checked: Instant,
}

impl ReloadingTlsAcceptor {
    /// Loads the files; fails if the key or a certificate does not load.
    pub(crate) fn new(settings: TlsSettings) -> anyhow::Result<Self> {
        let modified = settings.modified();
        let config = settings.load()?;
        Ok(ReloadingTlsAcceptor {
            settings,
            state: Mutex::new(LoadedState {
                acceptor: TlsAcceptor::from(Arc::new(config)),
                modified,
                checked: Instant::now(),
            }),
        })
    }

    /// The acceptor for a new connection, after re-reading the files if
    /// they changed (looked at no more than once a second).
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        let mut state = self.state.lock();
        if state.checked.elapsed() >= RELOAD_CHECK {
            state.checked = Instant::now();
            let modified = self.settings.modified();
            if modified != state.modified {
                // Remember the new times even if the load fails: the files
                // are tried again when they change again, not every second.
                state.modified = modified;
                match self.settings.load() {
                    Ok(config) => {
                        state.acceptor = TlsAcceptor::from(Arc::new(config));
                        tracing::info!(keystore = %self.settings.keystore.display(), "TLS certificates reloaded");
                    }
                    Err(e) => tracing::warn!(
                        keystore = %self.settings.keystore.display(),
                        error = format!("{e:#}"),
                        "TLS certificates changed but do not load; keeping the previous ones"
                    ),
                }
            }
        }
        state.acceptor.clone()
    }
}

/// The principal a client certificate proves: the first peer certificate
/// through [`certificate_principal`] (its subject DN mapped by
/// `ssl.principal.mapping.rules`). `None` without a certificate, or when no
/// rule matches the DN.
pub(crate) fn peer_principal(
    conn: &rustls::ServerConnection,
    mapper: &SslPrincipalMapper,
) -> Option<Principal> {
    let leaf = conn.peer_certificates()?.first()?;
    certificate_principal(leaf.as_ref(), mapper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_auth_parses_kafkas_values() {
        assert_eq!(ClientAuth::parse("none").unwrap(), ClientAuth::None);
        assert_eq!(ClientAuth::parse("").unwrap(), ClientAuth::None);
        assert_eq!(
            ClientAuth::parse("REQUESTED").unwrap(),
            ClientAuth::Requested
        );
        assert_eq!(ClientAuth::parse("required").unwrap(), ClientAuth::Required);
        assert!(ClientAuth::parse("want").is_err());
    }

    #[test]
    fn a_missing_keystore_refuses_to_load() {
        let settings = TlsSettings {
            keystore: "/nonexistent/key.pem".into(),
            truststore: None,
            client_auth: ClientAuth::None,
        };
        assert!(ReloadingTlsAcceptor::new(settings).is_err());
    }
}
