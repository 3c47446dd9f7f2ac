//! Serving an HTTP face until the broker stops: plain HTTP, or HTTPS when
//! `strata.http.ssl.keystore.location` is set (then the face speaks TLS
//! only). Every request carries the client's address (`ConnectInfo`, as
//! `axum::serve` gives it) and, over mutual TLS, the principal of its
//! certificate ([`PeerPrincipal`]) for the login layer.
//!
//! HTTPS connections are served with hyper-util's auto builder (HTTP/1.1 and
//! HTTP/2); the TLS handshake runs in the connection's task, bounded by
//! [`HANDSHAKE_TIMEOUT`], so a slow client never holds up the accept loop.
//! At shutdown the listener closes and open connections finish the
//! requests they are serving.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{ConnectInfo, Request};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use strata_governance::principal_mapping::SslPrincipalMapper;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use super::auth::PeerPrincipal;
use crate::properties::BrokerProperties;
use crate::tls::{peer_principal, ClientAuth, ReloadingTlsAcceptor, TlsSettings};

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for open HTTPS connections.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS for the three HTTP faces, from `strata.http.ssl.*`.
pub(crate) struct HttpTls {
    acceptor: ReloadingTlsAcceptor,
    mapper: SslPrincipalMapper,
}

impl HttpTls {
    /// `None` without `strata.http.ssl.keystore.location`; refuses files
    /// that do not load and an unknown `strata.http.ssl.client.auth`.
    pub(crate) fn from_properties(
        properties: &BrokerProperties,
    ) -> anyhow::Result<Option<Arc<Self>>> {
        let get = |name: &str| {
            properties
                .explicit()
                .get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let Some(keystore) = get("strata.http.ssl.keystore.location") else {
            if get("strata.http.ssl.truststore.location").is_some() {
                anyhow::bail!(
                    "strata.http.ssl.truststore.location needs strata.http.ssl.keystore.location"
                );
            }
            return Ok(None);
        };
        let client_auth =
            ClientAuth::parse(&get("strata.http.ssl.client.auth").unwrap_or_else(|| "none".into()))
                .context("strata.http.ssl.client.auth")?;
        let settings = TlsSettings {
            keystore: keystore.into(),
            truststore: get("strata.http.ssl.truststore.location").map(Into::into),
            client_auth,
        };
        let acceptor = ReloadingTlsAcceptor::new(settings).context("HTTPS (strata.http.ssl.*)")?;
        let mapper = SslPrincipalMapper::parse(
            &get("ssl.principal.mapping.rules").unwrap_or_else(|| "DEFAULT".into()),
        )?;
        Ok(Some(Arc::new(HttpTls { acceptor, mapper })))
    }
}

/// Serves `router` on `listener` (over TLS when `tls` is set) until
/// `stopped`, then lets requests in flight finish.
pub(crate) async fn serve_http(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<Arc<HttpTls>>,
    stopped: watch::Receiver<bool>,
) {
    match tls {
        Some(tls) => serve_https(listener, router, tls, stopped).await,
        None => serve_plain(listener, router, stopped).await,
    }
}

async fn serve_plain(
    listener: TcpListener,
    router: axum::Router,
    mut stopped: watch::Receiver<bool>,
) {
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "http server failed");
    }
}

async fn serve_https(
    listener: TcpListener,
    router: axum::Router,
    tls: Arc<HttpTls>,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "https accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let acceptor = tls.acceptor.acceptor();
        let tls = tls.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "https handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "https handshake timed out");
                    return;
                }
            };
            let principal = peer_principal(stream.get_ref().1, &tls.mapper).map(PeerPrincipal);
            let service = router.map_request(move |mut request: Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                if let Some(principal) = &principal {
                    request.extensions_mut().insert(principal.clone());
                }
                request
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(service),
            );
            if let Err(e) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, error = %e, "https connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("https connections still open after the drain timeout");
    }
}
