//! HTTP metrics for the admin face, the Schema Registry and the REST Proxy:
//! a count by face, method, route and status, and a latency histogram by
//! face, method and route.
//!
//! The route label is the matched route template (`/subjects/{subject}/versions`),
//! never the raw path, so a registry with ten thousand subjects still has a
//! handful of series: axum's `MatchedPath`, from the request (routes of the
//! router the layer wraps) or from the response (the Schema Registry's
//! routes sit behind a fallback service and hand it back there). Requests
//! that match no route are counted as `unmatched`; requests the login layer
//! refuses (401) never reach this layer.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone)]
pub(crate) struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl HttpMetrics {
    pub(crate) fn new() -> Self {
        HttpMetrics {
            requests: IntCounterVec::new(
                Opts::new(
                    "strata_http_requests_total",
                    "HTTP requests answered, by face (admin, schema_registry, rest_proxy), method, route template and status.",
                ),
                &["face", "method", "route", "status"],
            )
            .expect("valid metric"),
            duration: HistogramVec::new(
                HistogramOpts::new(
                    "strata_http_request_duration_seconds",
                    "Time to answer an HTTP request, by face, method and route template, seconds.",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["face", "method", "route"],
            )
            .expect("valid metric"),
        }
    }

    pub(crate) fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.duration.clone()),
        ]
    }

    /// `router` with every matched route measured under `face`.
    pub(crate) fn measure(&self, face: &'static str, router: Router) -> Router {
        router.layer(middleware::from_fn_with_state(
            Arc::new((self.clone(), face)),
            track,
        ))
    }
}

async fn track(
    State(state): State<Arc<(HttpMetrics, &'static str)>>,
    request: Request,
    next: Next,
) -> Response {
    let (metrics, face) = &*state;
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = matched
        .as_ref()
        .or_else(|| response.extensions().get::<MatchedPath>())
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    metrics
        .duration
        .with_label_values(&[*face, method.as_str(), route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .with_label_values(&[
            *face,
            method.as_str(),
            route.as_str(),
            response.status().as_str(),
        ])
        .inc();
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn routes_are_labelled_by_template_not_path() {
        let metrics = HttpMetrics::new();
        let router = metrics.measure(
            "schema_registry",
            Router::new().route("/subjects/{subject}/versions", get(|| async { "[1]" })),
        );
        for subject in ["a", "b", "c"] {
            let request = Request::get(format!("/subjects/{subject}/versions"))
                .body(Body::empty())
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
        }
        let count = metrics
            .requests
            .with_label_values(&[
                "schema_registry",
                "GET",
                "/subjects/{subject}/versions",
                "200",
            ])
            .get();
        assert_eq!(count, 3);
        let families = metrics.requests.collect();
        assert_eq!(
            families[0].get_metric().len(),
            1,
            "one series for three subjects"
        );
        let response = router
            .oneshot(Request::get("/nowhere").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let unmatched = metrics
            .requests
            .with_label_values(&["schema_registry", "GET", "unmatched", "404"])
            .get();
        assert_eq!(unmatched, 1);
    }
}
