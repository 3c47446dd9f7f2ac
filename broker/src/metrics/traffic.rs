//! Per-topic traffic counters, kept on the [`crate::cluster::Topic`] that
//! Produce and Fetch already hold: an atomic add per partition answered, no
//! label lookup. The scrape collector exports them as
//! `strata_topic_{bytes,records}_{in,out}_total{topic}`; a deleted topic's
//! series go with it (a counter reset to Prometheus if the name returns).

use std::sync::atomic::{AtomicU64, Ordering};

use strata_wire::batch::Batches;

#[derive(Debug, Default)]
pub(crate) struct TopicTraffic {
    bytes_in: AtomicU64,
    records_in: AtomicU64,
    bytes_out: AtomicU64,
    records_out: AtomicU64,
}

/// A snapshot of one topic's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrafficTotals {
    pub(crate) bytes_in: u64,
    pub(crate) records_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) records_out: u64,
}

impl TopicTraffic {
    /// A batch of `records` records and `bytes` bytes appended by Produce
    /// (a producer's retry of a batch already in the log is not counted).
    pub(crate) fn produced(&self, bytes: u64, records: u64) {
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
        self.records_in.fetch_add(records, Ordering::Relaxed);
    }

    /// Record batches returned by Fetch: their bytes, and the records of
    /// their data batches (transaction markers are not records a consumer
    /// sees). Reads only the batch headers.
    pub(crate) fn fetched(&self, batches: &[u8]) {
        if batches.is_empty() {
            return;
        }
        let records: u64 = Batches::new(batches)
            .map_while(Result::ok)
            .filter(|h| !h.is_control())
            .map(|h| h.record_count().max(0) as u64)
            .sum();
        self.bytes_out
            .fetch_add(batches.len() as u64, Ordering::Relaxed);
        self.records_out.fetch_add(records, Ordering::Relaxed);
    }

    pub(crate) fn totals(&self) -> TrafficTotals {
        TrafficTotals {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            records_in: self.records_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            records_out: self.records_out.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetched_batches_count_their_records_not_markers() {
        let records: Vec<_> = (0..5u8)
            .map(|i| {
                (
                    bytes::Bytes::from(vec![i]),
                    Some(bytes::Bytes::from_static(b"v")),
                )
            })
            .collect();
        let mut bytes = crate::internal_log::encode_batch(&records, 1_000).to_vec();
        let marker = strata_storage::Marker {
            producer_id: 1,
            producer_epoch: 0,
            coordinator_epoch: 0,
            commit: true,
            timestamp: 1_000,
        }
        .encode();
        bytes.extend_from_slice(&marker);
        let traffic = TopicTraffic::default();
        traffic.fetched(&bytes);
        traffic.produced(100, 5);
        assert_eq!(
            traffic.totals(),
            TrafficTotals {
                bytes_in: 100,
                records_in: 5,
                bytes_out: bytes.len() as u64,
                records_out: 5,
            }
        );
    }
}
