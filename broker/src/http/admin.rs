//! Admin HTTP: health for load balancers and orchestrators ([`super::health`])
//! and metrics for Prometheus.
//!
//! The admin port is served from the first moment of start-up, before the
//! logs are opened, so that `/health/ready` can say what start-up is waiting
//! for. The rest of the face (`/metrics`, behind the login layer) needs the
//! broker and its credentials: until [`AdminFace::open`] hands it over, its
//! routes answer 503.

use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower::ServiceExt;

use super::health::{self, Readiness};
use crate::broker::Broker;

/// The admin face: health at once, the rest once the broker is open.
#[derive(Clone)]
pub(crate) struct AdminFace {
    readiness: Arc<Readiness>,
    rest: Arc<OnceLock<Router>>,
}

impl AdminFace {
    pub(crate) fn new(readiness: Arc<Readiness>) -> Self {
        AdminFace {
            readiness,
            rest: Arc::new(OnceLock::new()),
        }
    }

    /// The router to serve from the start: health, and the console's page
    /// and assets (static, no data: see `console::assets`).
    pub(crate) fn router(&self) -> Router {
        let face = self.clone();
        health::router(self.readiness.clone())
            .merge(crate::console::assets_router())
            .fallback(move |request: Request| forward(face.clone(), request))
    }

    /// Starts serving `rest` (the broker's routes, login layer applied)
    /// for everything but health.
    pub(crate) fn open(&self, rest: Router) {
        let _ = self.rest.set(rest);
    }
}

async fn forward(face: AdminFace, request: Request) -> Response {
    match face.rest.get() {
        Some(rest) => match rest.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "error_code": 50301,
                "message": "strata is starting; see /health/ready",
            })),
        )
            .into_response(),
    }
}

/// The admin routes that need the broker.
pub(crate) fn router(broker: Arc<Broker>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(broker)
}

async fn metrics(State(broker): State<Arc<Broker>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        broker.metrics.render(),
    )
}
