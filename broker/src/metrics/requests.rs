//! Kafka request metrics: a count and a latency histogram per API, and the
//! error codes responses carry.
//!
//! The per-API series are resolved once at start into a table indexed by
//! API key, so a request costs two atomic adds and no label hashing. Error
//! codes are counted the way Kafka's `ErrorsPerSec{request,error}` counts
//! them (`AbstractResponse.errorCounts`): every error code in the response,
//! top-level and per topic or partition, except `NONE`; errors are rare, so
//! they take the labelled lookup.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use prometheus::core::Collector;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts};

use crate::handlers::ROUTES;

/// From 100 µs (a Metadata answered from memory) to 10 s (a long poll, an
/// acks=all produce behind a slow disk).
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The request metrics, one entry per API key served.
pub(crate) struct RequestMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    errors: IntCounterVec,
    by_key: Vec<Option<(IntCounter, Histogram)>>,
}

impl RequestMetrics {
    pub(crate) fn new() -> Self {
        let requests = IntCounterVec::new(
            Opts::new("strata_requests_total", "Kafka requests handled, by API."),
            &["api"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "strata_request_duration_seconds",
                "Time from decoded request to built response, by API, seconds.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["api"],
        )
        .expect("valid metric");
        let errors = IntCounterVec::new(
            Opts::new(
                "strata_request_errors_total",
                "Error codes in Kafka responses (top-level and per partition), by API and error.",
            ),
            &["api", "error", "code"],
        )
        .expect("valid metric");
        let max_key = ROUTES.iter().map(|r| r.api_key as i16).max().unwrap_or(0);
        let mut by_key = vec![None; max_key as usize + 1];
        for route in ROUTES {
            by_key[route.api_key as i16 as usize] = Some((
                requests.with_label_values(&[route.name]),
                duration.with_label_values(&[route.name]),
            ));
        }
        RequestMetrics {
            requests,
            duration,
            errors,
            by_key,
        }
    }

    pub(crate) fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.duration.clone()),
            Box::new(self.errors.clone()),
        ]
    }

    /// Counts one handled request and the error codes of its response.
    pub(crate) fn observe(&self, api: ApiKey, took: Duration, response: &ResponseKind) {
        if let Some(Some((count, latency))) = self.by_key.get(api as i16 as usize) {
            count.inc();
            latency.observe(took.as_secs_f64());
        }
        let name = api_name(api);
        error_codes(response, &mut |code| {
            if code != 0 {
                self.errors
                    .with_label_values(&[name, &error_name(code), &code.to_string()])
                    .inc();
            }
        });
    }
}

/// The API's name as the route table spells it (a static metric label).
pub(crate) fn api_name(api_key: ApiKey) -> &'static str {
    ROUTES
        .iter()
        .find(|r| r.api_key == api_key)
        .map(|r| r.name)
        .unwrap_or("unknown")
}

/// Kafka's name of an error code, as its tools print it:
/// `UNKNOWN_TOPIC_OR_PARTITION`.
pub(crate) fn error_name(code: i16) -> String {
    let Some(error) = ResponseError::try_from_code(code) else {
        return "UNKNOWN_SERVER_ERROR".to_string();
    };
    let camel = format!("{error:?}");
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Calls `f` with every error code in `response`, as Kafka's
/// `errorCounts()` walks it (`0`s included; the caller drops them).
fn error_codes(response: &ResponseKind, f: &mut impl FnMut(i16)) {
    match response {
        ResponseKind::Produce(r) => r
            .responses
            .iter()
            .flat_map(|t| &t.partition_responses)
            .for_each(|p| f(p.error_code)),
        ResponseKind::Fetch(r) => {
            f(r.error_code);
            r.responses
                .iter()
                .flat_map(|t| &t.partitions)
                .for_each(|p| f(p.error_code));
        }
        ResponseKind::ListOffsets(r) => r
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| f(p.error_code)),
        ResponseKind::Metadata(r) => r.topics.iter().for_each(|t| {
            f(t.error_code);
            t.partitions.iter().for_each(|p| f(p.error_code));
        }),
        ResponseKind::OffsetCommit(r) => r
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| f(p.error_code)),
        ResponseKind::OffsetFetch(r) => {
            f(r.error_code);
            r.topics
                .iter()
                .flat_map(|t| &t.partitions)
                .for_each(|p| f(p.error_code));
            r.groups.iter().for_each(|g| {
                f(g.error_code);
                g.topics
                    .iter()
                    .flat_map(|t| &t.partitions)
                    .for_each(|p| f(p.error_code));
            });
        }
        ResponseKind::FindCoordinator(r) => {
            f(r.error_code);
            r.coordinators.iter().for_each(|c| f(c.error_code));
        }
        ResponseKind::JoinGroup(r) => f(r.error_code),
        ResponseKind::Heartbeat(r) => f(r.error_code),
        ResponseKind::LeaveGroup(r) => {
            f(r.error_code);
            r.members.iter().for_each(|m| f(m.error_code));
        }
        ResponseKind::SyncGroup(r) => f(r.error_code),
        ResponseKind::DescribeGroups(r) => r.groups.iter().for_each(|g| f(g.error_code)),
        ResponseKind::ListGroups(r) => f(r.error_code),
        ResponseKind::ApiVersions(r) => f(r.error_code),
        ResponseKind::CreateTopics(r) => r.topics.iter().for_each(|t| f(t.error_code)),
        ResponseKind::DeleteTopics(r) => r.responses.iter().for_each(|t| f(t.error_code)),
        ResponseKind::DeleteRecords(r) => r
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| f(p.error_code)),
        ResponseKind::InitProducerId(r) => f(r.error_code),
        ResponseKind::AddPartitionsToTxn(r) => {
            f(r.error_code);
            r.results_by_topic_v3_and_below
                .iter()
                .flat_map(|t| &t.results_by_partition)
                .for_each(|p| f(p.partition_error_code));
            r.results_by_transaction
                .iter()
                .flat_map(|t| &t.topic_results)
                .flat_map(|t| &t.results_by_partition)
                .for_each(|p| f(p.partition_error_code));
        }
        ResponseKind::AddOffsetsToTxn(r) => f(r.error_code),
        ResponseKind::EndTxn(r) => f(r.error_code),
        ResponseKind::TxnOffsetCommit(r) => r
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| f(p.error_code)),
        ResponseKind::OffsetForLeaderEpoch(r) => r
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| f(p.error_code)),
        ResponseKind::DescribeConfigs(r) => r.results.iter().for_each(|c| f(c.error_code)),
        ResponseKind::AlterConfigs(r) => r.responses.iter().for_each(|c| f(c.error_code)),
        ResponseKind::IncrementalAlterConfigs(r) => {
            r.responses.iter().for_each(|c| f(c.error_code))
        }
        ResponseKind::CreatePartitions(r) => r.results.iter().for_each(|c| f(c.error_code)),
        ResponseKind::OffsetDelete(r) => {
            f(r.error_code);
            r.topics
                .iter()
                .flat_map(|t| &t.partitions)
                .for_each(|p| f(p.error_code));
        }
        ResponseKind::ListPartitionReassignments(r) => f(r.error_code),
        ResponseKind::DeleteGroups(r) => r.results.iter().for_each(|g| f(g.error_code)),
        ResponseKind::DescribeCluster(r) => f(r.error_code),
        ResponseKind::DescribeTopicPartitions(r) => r.topics.iter().for_each(|t| {
            f(t.error_code);
            t.partitions.iter().for_each(|p| f(p.error_code));
        }),
        ResponseKind::DescribeProducers(r) => r
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| f(p.error_code)),
        ResponseKind::DescribeTransactions(r) => {
            r.transaction_states.iter().for_each(|t| f(t.error_code))
        }
        ResponseKind::ListTransactions(r) => f(r.error_code),
        ResponseKind::ConsumerGroupHeartbeat(r) => f(r.error_code),
        ResponseKind::ConsumerGroupDescribe(r) => r.groups.iter().for_each(|g| f(g.error_code)),
        ResponseKind::DescribeAcls(r) => f(r.error_code),
        ResponseKind::CreateAcls(r) => r.results.iter().for_each(|a| f(a.error_code)),
        ResponseKind::DeleteAcls(r) => r.filter_results.iter().for_each(|a| f(a.error_code)),
        ResponseKind::DescribeUserScramCredentials(r) => {
            f(r.error_code);
            r.results.iter().for_each(|u| f(u.error_code));
        }
        ResponseKind::AlterUserScramCredentials(r) => {
            r.results.iter().for_each(|u| f(u.error_code))
        }
        ResponseKind::SaslHandshake(r) => f(r.error_code),
        ResponseKind::SaslAuthenticate(r) => f(r.error_code),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::produce_response::{
        PartitionProduceResponse, TopicProduceResponse,
    };
    use kafka_protocol::messages::ProduceResponse;

    use super::*;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(6), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(error_name(-1), "UNKNOWN_SERVER_ERROR");
    }

    #[test]
    fn every_partition_error_is_counted_and_none_is_not() {
        let metrics = RequestMetrics::new();
        let partition = |code| PartitionProduceResponse::default().with_error_code(code);
        let response = ResponseKind::Produce(ProduceResponse::default().with_responses(vec![
            TopicProduceResponse::default().with_partition_responses(vec![
                partition(0),
                partition(3),
                partition(3),
            ]),
        ]));
        metrics.observe(ApiKey::Produce, Duration::from_millis(1), &response);
        let errors =
            metrics
                .errors
                .with_label_values(&["Produce", "UNKNOWN_TOPIC_OR_PARTITION", "3"]);
        assert_eq!(errors.get(), 2);
        assert_eq!(metrics.requests.with_label_values(&["Produce"]).get(), 1);
        assert_eq!(
            metrics
                .duration
                .with_label_values(&["Produce"])
                .get_sample_count(),
            1
        );
        let names: Vec<String> = metrics
            .collectors()
            .iter()
            .flat_map(|c| c.desc().into_iter().map(|d| d.fq_name.clone()))
            .collect();
        assert_eq!(
            names,
            [
                "strata_requests_total",
                "strata_request_duration_seconds",
                "strata_request_errors_total"
            ]
        );
    }
}
