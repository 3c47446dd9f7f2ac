//! Admin HTTP: liveness for load balancers and metrics for Prometheus.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::broker::Broker;

pub(crate) fn router(broker: Arc<Broker>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(broker)
}

/// Answered once the Kafka listener is bound, which happens before this
/// router is served.
async fn health() -> &'static str {
    "ok"
}

async fn metrics(State(broker): State<Arc<Broker>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        broker.metrics.render(),
    )
}
