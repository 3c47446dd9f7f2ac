//! Prometheus metrics, declared once and named the Prometheus way
//! (`strata_` prefix, `_total` counters, `_seconds` and `_bytes` units);
//! `docs/metrics.md` lists them all.
//!
//! Two kinds of metric live here. Event metrics (requests, connections,
//! logins, HTTP routes) are counted where the event happens, through series
//! resolved in advance. State metrics (per-partition sizes and offsets,
//! per-topic traffic, consumer group lag) are read at scrape time by
//! [`BrokerCollector`] from the broker's own structures, so the
//! produce and fetch paths pay at most an atomic add on a topic they already
//! hold, and nothing for partitions or groups.

mod http;
mod lag;
pub(crate) mod requests;
mod scrape;
mod traffic;

use prometheus::core::Collector;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub(crate) use http::HttpMetrics;
pub(crate) use requests::RequestMetrics;
pub(crate) use scrape::BrokerCollector;
pub(crate) use traffic::TopicTraffic;

/// The broker's metrics and the registry that serves them.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) requests: RequestMetrics,
    pub(crate) http: HttpMetrics,
    pub(crate) connections: IntGaugeVec,
    pub(crate) authentication_failures: IntCounterVec,
    pub(crate) produced_bytes: IntCounter,
    pub(crate) fetched_bytes: IntCounter,
    pub(crate) closed_for_bad_input: IntCounter,
    /// Throttle times given for client quotas, by quota type.
    pub(crate) quota_throttle_time: HistogramVec,
    /// Reads partitions, topics and groups at scrape time once the broker
    /// exists (see [`BrokerCollector::attach`]); rendered after the registry.
    pub(crate) broker_state: BrokerCollector,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let requests = RequestMetrics::new();
        let http = HttpMetrics::new();
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
            "Record batch bytes appended by Produce, all topics.",
        )
        .expect("valid metric");
        let fetched_bytes = IntCounter::new(
            "strata_fetched_bytes_total",
            "Record batch bytes returned by Fetch, all topics.",
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
        let broker_state = BrokerCollector::new();
        let mut collectors: Vec<Box<dyn Collector>> = vec![
            Box::new(connections.clone()),
            Box::new(authentication_failures.clone()),
            Box::new(produced_bytes.clone()),
            Box::new(fetched_bytes.clone()),
            Box::new(closed_for_bad_input.clone()),
            Box::new(quota_throttle_time.clone()),
        ];
        collectors.extend(requests.collectors());
        collectors.extend(http.collectors());
        collectors.extend(strata_storage::metrics::collectors());
        for c in collectors {
            registry.register(c).expect("metric registered once");
        }
        Metrics {
            registry,
            requests,
            http,
            connections,
            authentication_failures,
            produced_bytes,
            fetched_bytes,
            closed_for_bad_input,
            quota_throttle_time,
            broker_state,
        }
    }

    /// Adds collectors owned elsewhere (the tier's) to `/metrics`.
    pub(crate) fn register(&self, collectors: Vec<Box<dyn Collector>>) {
        for c in collectors {
            self.registry.register(c).expect("metric registered once");
        }
    }

    /// The Prometheus text exposition of every metric: the registry's,
    /// then the broker state read now.
    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        let mut out = String::from_utf8(out).expect("prometheus text is utf-8");
        self.broker_state.render(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name follows the conventions `docs/metrics.md` states.
    #[test]
    fn metric_names_follow_prometheus_conventions() {
        let metrics = Metrics::new();
        // Descriptors, not gathered families: a family with no series yet
        // is not gathered.
        let mut collectors: Vec<Box<dyn Collector>> = vec![
            Box::new(metrics.connections.clone()),
            Box::new(metrics.authentication_failures.clone()),
            Box::new(metrics.produced_bytes.clone()),
            Box::new(metrics.fetched_bytes.clone()),
            Box::new(metrics.closed_for_bad_input.clone()),
        ];
        collectors.extend(metrics.requests.collectors());
        collectors.extend(metrics.http.collectors());
        collectors.extend(strata_storage::metrics::collectors());
        collectors.extend(strata_tier::TierMetrics::new().collectors());
        let mut names: Vec<String> = collectors
            .iter()
            .flat_map(|c| c.desc().into_iter().map(|d| d.fq_name.clone()))
            .collect();
        names.extend(scrape::FAMILIES.iter().map(|f| f.0.to_string()));
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a name declared twice");
        for name in &names {
            assert!(name.starts_with("strata_"), "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
            assert!(
                !name.ends_with("_ms") && !name.ends_with("_seconds_total"),
                "{name}"
            );
            if name.contains("bytes") && !name.ends_with("_total") {
                assert!(name.ends_with("_bytes"), "{name}: a size ends in _bytes");
            }
        }
        for counter in [
            "strata_requests_total",
            "strata_topic_bytes_in_total",
            "strata_topic_records_in_total",
            "strata_topic_bytes_out_total",
            "strata_topic_records_out_total",
            "strata_http_requests_total",
        ] {
            assert!(names.iter().any(|n| n == counter), "{counter} missing");
        }
        for gauge in [
            "strata_consumer_group_lag",
            "strata_consumer_group_lag_committed",
            "strata_consumer_group_members",
            "strata_consumer_group_state",
            "strata_partition_log_size_bytes",
            "strata_partition_tiered_size_bytes",
            "strata_log_fsync_duration_seconds",
        ] {
            assert!(names.iter().any(|n| n == gauge), "{gauge} missing");
        }
    }
}
