//! Liveness and readiness on the admin port.
//!
//! The admin listener is bound first thing at start, so an orchestrator
//! can tell a broker that is still recovering its logs or restoring from
//! the bucket (alive, not ready) from one that is gone:
//! * `/health/live`: 200 while the process serves HTTP at all;
//! * `/health/ready`: 200 once every start-up step is done and until
//!   shutdown begins, 503 before and after, with the steps still waiting in
//!   the JSON body;
//! * `/health`: as before this split, 200 `ok` once the Kafka listeners are
//!   bound (that is, when ready), 503 otherwise.
//!
//! All three stay open without a login, as load balancers need them.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde::Serialize;

/// The start-up steps, in the order they run, and what each means.
pub(crate) const TIER_RESTORE: &str = "tier_restore";
pub(crate) const LOG_RECOVERY: &str = "log_recovery";
pub(crate) const GROUP_COORDINATOR: &str = "group_coordinator";
pub(crate) const TRANSACTION_COORDINATOR: &str = "transaction_coordinator";
pub(crate) const LISTENERS: &str = "listeners";
pub(crate) const SHUTDOWN: &str = "shutdown";

/// What keeps the broker from being ready.
pub(crate) struct Readiness {
    started: Instant,
    waiting: Mutex<Vec<Waiting>>,
}

struct Waiting {
    check: &'static str,
    detail: String,
    since: Instant,
}

#[derive(Serialize)]
struct WaitingBody {
    check: &'static str,
    detail: String,
    waiting_seconds: f64,
}

#[derive(Serialize)]
struct ReadyBody {
    status: &'static str,
    ready: bool,
    uptime_seconds: f64,
    waiting_for: Vec<WaitingBody>,
}

impl Readiness {
    /// Not ready until each of `steps` (check, detail) is [`Readiness::done`].
    pub(crate) fn new(steps: &[(&'static str, &str)]) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Readiness {
            started: now,
            waiting: Mutex::new(
                steps
                    .iter()
                    .map(|(check, detail)| Waiting {
                        check,
                        detail: detail.to_string(),
                        since: now,
                    })
                    .collect(),
            ),
        })
    }

    /// Marks a step done; steps after it now count their wait from here.
    pub(crate) fn done(&self, check: &str) {
        let now = Instant::now();
        let mut waiting = self.waiting.lock();
        waiting.retain(|w| w.check != check);
        if let Some(next) = waiting.first_mut() {
            next.since = now;
        }
    }

    /// Replaces what a waiting step says it is doing (restore progress).
    pub(crate) fn set_detail(&self, check: &str, detail: String) {
        if let Some(w) = self.waiting.lock().iter_mut().find(|w| w.check == check) {
            w.detail = detail;
        }
    }

    /// Not ready again, for `check` (shutdown).
    pub(crate) fn wait_for(&self, check: &'static str, detail: &str) {
        self.waiting.lock().push(Waiting {
            check,
            detail: detail.to_string(),
            since: Instant::now(),
        });
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.waiting.lock().is_empty()
    }

    fn body(&self) -> ReadyBody {
        let waiting = self.waiting.lock();
        let ready = waiting.is_empty();
        ReadyBody {
            status: if ready { "ready" } else { "not_ready" },
            ready,
            uptime_seconds: self.started.elapsed().as_secs_f64(),
            waiting_for: waiting
                .iter()
                .map(|w| WaitingBody {
                    check: w.check,
                    detail: w.detail.clone(),
                    waiting_seconds: w.since.elapsed().as_secs_f64(),
                })
                .collect(),
        }
    }
}

/// The health routes.
pub(crate) fn router(readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(readiness)
}

async fn health(State(readiness): State<Arc<Readiness>>) -> Response {
    if readiness.is_ready() {
        "ok".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response()
    }
}

async fn live(State(readiness): State<Arc<Readiness>>) -> Response {
    Json(serde_json::json!({
        "status": "alive",
        "uptime_seconds": readiness.started.elapsed().as_secs_f64(),
    }))
    .into_response()
}

async fn ready(State(readiness): State<Arc<Readiness>>) -> Response {
    let body = readiness.body();
    let status = if body.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::{to_bytes, Body};
    use axum::extract::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get_json(router: &Router, path: &str) -> (StatusCode, serde_json::Value) {
        let response = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn ready_names_what_it_waits_for_until_every_step_is_done() {
        let readiness = Readiness::new(&[
            (LOG_RECOVERY, "opening partition logs"),
            (LISTENERS, "binding"),
        ]);
        let router = router(readiness.clone());
        let (status, body) = get_json(&router, "/health/ready").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["ready"], false);
        assert_eq!(body["waiting_for"][0]["check"], LOG_RECOVERY);
        assert_eq!(body["waiting_for"].as_array().unwrap().len(), 2);
        let (status, body) = get_json(&router, "/health/live").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "alive");

        readiness.set_detail(LOG_RECOVERY, "3 of 4 partitions".to_string());
        let (_, body) = get_json(&router, "/health/ready").await;
        assert_eq!(body["waiting_for"][0]["detail"], "3 of 4 partitions");
        readiness.done(LOG_RECOVERY);
        let (_, body) = get_json(&router, "/health/ready").await;
        assert_eq!(body["waiting_for"][0]["check"], LISTENERS);
        readiness.done(LISTENERS);
        let (status, body) = get_json(&router, "/health/ready").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "ready");
        assert!(body["waiting_for"].as_array().unwrap().is_empty());

        readiness.wait_for(SHUTDOWN, "draining connections");
        let (status, body) = get_json(&router, "/health/ready").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["waiting_for"][0]["check"], SHUTDOWN);
    }
}
