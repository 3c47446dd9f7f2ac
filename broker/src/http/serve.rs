//! Serving an HTTP face until the broker stops: plain HTTP, or HTTPS when
//! `strata.http.ssl.keystore.location` is set. Every request carries the
//! client's address (`ConnectInfo`) and, over mutual TLS, the principal of
//! its certificate ([`super::auth::PeerPrincipal`]).

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves `router` on `listener` until `stopped`, then lets requests in
/// flight finish.
pub(crate) async fn serve_http(
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
