//! Prometheus metrics, declared once and named the Prometheus way.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The broker's metrics and the registry that serves them.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) requests: IntCounterVec,
    pub(crate) request_duration: HistogramVec,
    pub(crate) connections: IntGaugeVec,
    pub(crate) authentication_failures: IntCounterVec,
    pub(crate) produced_bytes: IntCounter,
    pub(crate) fetched_bytes: IntCounter,
    pub(crate) closed_for_bad_input: IntCounter,
    /// Throttle times given for client quotas, by quota type.
    pub(crate) quota_throttle_time: HistogramVec,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("strata_requests_total", "Kafka requests handled, by API."),
            &["api"],
        )
        .expect("valid metric");
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "strata_request_duration_seconds",
                "Time from decoded request to encoded response, by API.",
            )
            .buckets(vec![
                0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
            ]),
            &["api"],
        )
        .expect("valid metric");
        let connections = IntGaugeVec::new(
            Opts::new("strata_connections", "Open Kafka connections, by listener."),
            &["listener"],
        )
        .expect("valid metric");
        let authentication_failures = IntCounterVec::new(
            Opts::new(
                "strata_authentication_failures_total",
                "Failed SASL logins and refused mechanisms, by listener and mechanism.",
            ),
            &["listener", "mechanism"],
        )
        .expect("valid metric");
        let produced_bytes = IntCounter::new(
            "strata_produced_bytes_total",
            "Record batch bytes appended by Produce.",
        )
        .expect("valid metric");
        let fetched_bytes = IntCounter::new(
            "strata_fetched_bytes_total",
            "Record batch bytes returned by Fetch.",
        )
        .expect("valid metric");
        let closed_for_bad_input = IntCounter::new(
            "strata_connections_closed_bad_input_total",
            "Connections closed because a frame or request could not be decoded.",
        )
        .expect("valid metric");
        let quota_throttle_time = HistogramVec::new(
            HistogramOpts::new(
                "strata_quota_throttle_time_ms",
                "Throttle times given to clients over a quota, in milliseconds, by quota type (Produce, Fetch, Request, ControllerMutation).",
            )
            .buckets(vec![
                1.0, 10.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0, 30000.0,
            ]),
            &["type"],
        )
        .expect("valid metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_duration.clone()),
            Box::new(connections.clone()),
            Box::new(authentication_failures.clone()),
            Box::new(produced_bytes.clone()),
            Box::new(fetched_bytes.clone()),
            Box::new(closed_for_bad_input.clone()),
            Box::new(quota_throttle_time.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Metrics {
            registry,
            requests,
            request_duration,
            connections,
            authentication_failures,
            produced_bytes,
            fetched_bytes,
            closed_for_bad_input,
            quota_throttle_time,
        }
    }

    /// Adds collectors owned elsewhere (the tier's) to `/metrics`.
    pub(crate) fn register(&self, collectors: Vec<Box<dyn prometheus::core::Collector>>) {
        for c in collectors {
            self.registry.register(c).expect("metric registered once");
        }
    }

    /// The Prometheus text exposition of every metric.
    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("prometheus text is utf-8")
    }
}
