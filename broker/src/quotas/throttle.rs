//! What a served request adds to its client's quotas, the throttle time it
//! earns, and the connection's mute (KIP-219).
//!
//! Kafka answers a throttled request at once, with `throttle_time_ms`, and
//! then reads nothing more from the connection until that time has passed.
//! [`enforce`] runs after the handler: Produce counts the request's bytes,
//! Fetch the response's record bytes (a throttled fetch answers empty and
//! its bytes are taken back, as Kafka's `getThrottledResponse`), every
//! request but ApiVersions and SASL its handler time as a percentage of one
//! thread; a controller mutation throttle was already set by its handler.
//! The longest throttle wins, goes in the response and mutes the
//! connection ([`Mute`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kafka_protocol::messages::{ApiKey, FetchResponse, ResponseKind};
use strata_governance::Identity;

use super::{ClientQuotas, QuotaKind};
use crate::metrics::Metrics;

/// Until when a connection reads nothing, on the quotas' clock.
#[derive(Debug, Default)]
pub(crate) struct Mute {
    until_ms: AtomicU64,
}

impl Mute {
    /// Mutes until `throttle_ms` from now (never shortening a longer mute).
    pub(crate) fn extend(&self, quotas: &ClientQuotas, throttle_ms: u64) {
        let until = quotas.now_ms() + throttle_ms;
        self.until_ms.fetch_max(until, Ordering::Relaxed);
    }

    /// How long the connection must still wait before its next request.
    pub(crate) fn remaining(&self, quotas: &ClientQuotas) -> Option<Duration> {
        let until = self.until_ms.load(Ordering::Relaxed);
        if until == 0 {
            return None;
        }
        let now = quotas.now_ms();
        (until > now).then(|| Duration::from_millis(until - now))
    }
}

/// One served request, as the quotas see it.
pub(crate) struct Served<'a> {
    pub(crate) identity: &'a Identity,
    pub(crate) client_id: &'a str,
    pub(crate) api_key: ApiKey,
    /// The request frame's size (Produce's byte count).
    pub(crate) request_bytes: usize,
    /// Handler time (`request_percentage`).
    pub(crate) elapsed: Duration,
}

/// Records `served` against its client's quotas, puts the throttle time in
/// `response`, and returns it in milliseconds (0: not throttled).
pub(crate) fn enforce(
    quotas: &ClientQuotas,
    metrics: &Metrics,
    served: &Served<'_>,
    response: &mut ResponseKind,
) -> u64 {
    if !quotas.any() {
        return 0;
    }
    let user = served.identity.principal.name.as_str();
    let client = served.client_id;
    let mut worst = (QuotaKind::ControllerMutation, throttle_time(response));
    let mut raise = |kind: QuotaKind, ms: u64| {
        if ms > worst.1 {
            worst = (kind, ms);
        }
    };
    if !exempt(served.api_key) && quotas.enabled(QuotaKind::Request) {
        let percent = served.elapsed.as_nanos() as f64 * 100.0 / 1e9;
        raise(
            QuotaKind::Request,
            quotas.record_and_throttle(QuotaKind::Request, user, client, percent),
        );
    }
    match response {
        ResponseKind::Produce(_) if quotas.enabled(QuotaKind::Produce) => {
            let bytes = served.request_bytes as f64;
            raise(
                QuotaKind::Produce,
                quotas.record_and_throttle(QuotaKind::Produce, user, client, bytes),
            );
        }
        ResponseKind::Fetch(fetch) if quotas.enabled(QuotaKind::Fetch) => {
            let bytes = fetched_bytes(fetch) as f64;
            let ms = quotas.record_and_throttle(QuotaKind::Fetch, user, client, bytes);
            raise(QuotaKind::Fetch, ms);
            if worst.1 > 0 {
                quotas.unrecord(QuotaKind::Fetch, user, client, bytes);
                let empty = FetchResponse::default()
                    .with_error_code(fetch.error_code)
                    .with_session_id(fetch.session_id);
                *fetch = empty;
            }
        }
        _ => {}
    }
    let (kind, ms) = worst;
    if ms == 0 {
        return 0;
    }
    set_throttle_time(response, ms.min(i32::MAX as u64) as i32);
    metrics
        .quota_throttle_time
        .with_label_values(&[kind.label()])
        .observe(ms as f64);
    ms
}

/// Requests Kafka never throttles on the request quota: a client must be
/// able to learn versions and log in.
fn exempt(api_key: ApiKey) -> bool {
    matches!(
        api_key,
        ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
    )
}

/// The record bytes a fetch response carries.
fn fetched_bytes(fetch: &FetchResponse) -> usize {
    fetch
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| p.records.as_ref().map_or(0, |r| r.len()))
        .sum()
}

macro_rules! throttled_responses {
    ($( $variant:ident ),* $(,)?) => {
        /// The `throttle_time_ms` a handler already set (controller mutations).
        fn throttle_time(response: &ResponseKind) -> u64 {
            match response {
                $( ResponseKind::$variant(r) => r.throttle_time_ms.max(0) as u64, )*
                _ => 0,
            }
        }

        /// Sets `throttle_time_ms` (absent from a version, it is not sent).
        fn set_throttle_time(response: &mut ResponseKind, ms: i32) {
            match response {
                $( ResponseKind::$variant(r) => r.throttle_time_ms = ms, )*
                _ => {}
            }
        }
    };
}

throttled_responses!(
    Produce,
    Fetch,
    ListOffsets,
    Metadata,
    OffsetCommit,
    OffsetFetch,
    FindCoordinator,
    JoinGroup,
    Heartbeat,
    LeaveGroup,
    SyncGroup,
    DescribeGroups,
    ListGroups,
    ApiVersions,
    CreateTopics,
    DeleteTopics,
    DeleteRecords,
    InitProducerId,
    OffsetForLeaderEpoch,
    AddPartitionsToTxn,
    AddOffsetsToTxn,
    EndTxn,
    TxnOffsetCommit,
    DescribeAcls,
    CreateAcls,
    DeleteAcls,
    DescribeConfigs,
    AlterConfigs,
    CreatePartitions,
    DeleteGroups,
    IncrementalAlterConfigs,
    ListPartitionReassignments,
    OffsetDelete,
    DescribeClientQuotas,
    AlterClientQuotas,
    DescribeUserScramCredentials,
    AlterUserScramCredentials,
    DescribeCluster,
    DescribeProducers,
    DescribeTransactions,
    ListTransactions,
    ConsumerGroupHeartbeat,
    ConsumerGroupDescribe,
    DescribeTopicPartitions,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quotas::rate::WindowConfig;
    use crate::quotas::{QuotaChange, QuotaEntity};
    use kafka_protocol::messages::ProduceResponse;
    use strata_governance::Principal;

    #[test]
    fn a_produce_over_its_quota_is_throttled_and_mutes() {
        let quotas = ClientQuotas::new(WindowConfig::default());
        let metrics = Metrics::new();
        let identity = Identity::new(Principal::anonymous(), "127.0.0.1");
        let served = |client_id| Served {
            identity: &identity,
            client_id,
            api_key: ApiKey::Produce,
            request_bytes: 20_000,
            elapsed: Duration::from_micros(50),
        };
        let mut response = ResponseKind::Produce(ProduceResponse::default());
        assert_eq!(
            enforce(&quotas, &metrics, &served("slow"), &mut response),
            0
        );
        quotas.apply(&[QuotaChange {
            entity: QuotaEntity {
                user: None,
                client_id: Some(Some("slow".into())),
            },
            key: "producer_byte_rate".into(),
            value: Some(1000.0),
        }]);
        // 20,000 bytes over ten seconds is twice the quota: ten seconds.
        let ms = enforce(&quotas, &metrics, &served("slow"), &mut response);
        assert_eq!(ms, 10_000);
        assert_eq!(throttle_time(&response), 10_000);
        let mut other = ResponseKind::Produce(ProduceResponse::default());
        assert_eq!(enforce(&quotas, &metrics, &served("fast"), &mut other), 0);
        let mute = Mute::default();
        assert!(mute.remaining(&quotas).is_none());
        mute.extend(&quotas, ms);
        assert!(mute.remaining(&quotas).unwrap() > Duration::from_secs(9));
    }
}
