//! The tier's Prometheus metrics. The broker registers them with its
//! registry, so they appear at `/metrics` beside the broker's own.

use prometheus::core::Collector;
use prometheus::{IntCounter, IntGauge};

#[derive(Clone)]
pub struct TierMetrics {
    pub uploaded_bytes: IntCounter,
    pub uploaded_segments: IntCounter,
    /// Bytes of sealed segments of tiered partitions not uploaded yet.
    pub upload_lag_bytes: IntGauge,
    pub upload_errors: IntCounter,
    pub remote_reads: IntCounter,
    pub remote_read_bytes: IntCounter,
    /// Ranged GETs of segment bytes (one fetches one or more chunks).
    pub remote_fetches: IntCounter,
    pub cache_hits: IntCounter,
    pub cache_misses: IntCounter,
    /// 1 while the last contact with the store succeeded.
    pub store_reachable: IntGauge,
    pub deleted_segments: IntCounter,
    /// Uploads of internal logs' tails (their recovery point objects).
    pub recovery_point_uploads: IntCounter,
    pub recovery_point_bytes: IntCounter,
    pub recovery_point_errors: IntCounter,
}

fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::new(name, help).expect("valid metric")
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).expect("valid metric")
}

impl TierMetrics {
    pub fn new() -> TierMetrics {
        TierMetrics {
            uploaded_bytes: counter(
                "strata_tier_uploaded_bytes_total",
                "Segment bytes uploaded to the object store.",
            ),
            uploaded_segments: counter(
                "strata_tier_uploaded_segments_total",
                "Segments uploaded to the object store.",
            ),
            upload_lag_bytes: gauge(
                "strata_tier_upload_lag_bytes",
                "Bytes of sealed segments of tiered partitions not uploaded yet.",
            ),
            upload_errors: counter(
                "strata_tier_upload_errors_total",
                "Failed tier passes (uploads, manifest writes, remote deletions).",
            ),
            remote_reads: counter(
                "strata_tier_remote_reads_total",
                "Fetch and ListOffsets reads served from remote segments.",
            ),
            remote_read_bytes: counter(
                "strata_tier_remote_read_bytes_total",
                "Record batch bytes returned from remote segments.",
            ),
            remote_fetches: counter(
                "strata_tier_remote_fetches_total",
                "Ranged GETs of remote segment bytes, each one or more chunks (cache misses and read-ahead).",
            ),
            cache_hits: counter(
                "strata_tier_cache_hits_total",
                "Remote segment chunks served by the memory/disk cache.",
            ),
            cache_misses: counter(
                "strata_tier_cache_misses_total",
                "Remote segment chunks not in the cache.",
            ),
            store_reachable: gauge(
                "strata_tier_store_reachable",
                "1 while the object store answers, 0 after a failed call.",
            ),
            deleted_segments: counter(
                "strata_tier_deleted_segments_total",
                "Remote segments deleted by retention, DeleteRecords or replacement.",
            ),
            recovery_point_uploads: counter(
                "strata_tier_recovery_point_uploads_total",
                "PUTs of internal logs' unsealed tails (tail.log), one per changed partition and interval.",
            ),
            recovery_point_bytes: counter(
                "strata_tier_recovery_point_uploaded_bytes_total",
                "Bytes of internal logs' tails uploaded (each upload rewrites the whole tail).",
            ),
            recovery_point_errors: counter(
                "strata_tier_recovery_point_errors_total",
                "Failed uploads of internal logs' tails (retried at the next interval).",
            ),
        }
    }

    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.uploaded_bytes.clone()),
            Box::new(self.uploaded_segments.clone()),
            Box::new(self.upload_lag_bytes.clone()),
            Box::new(self.upload_errors.clone()),
            Box::new(self.remote_reads.clone()),
            Box::new(self.remote_read_bytes.clone()),
            Box::new(self.remote_fetches.clone()),
            Box::new(self.cache_hits.clone()),
            Box::new(self.cache_misses.clone()),
            Box::new(self.store_reachable.clone()),
            Box::new(self.deleted_segments.clone()),
            Box::new(self.recovery_point_uploads.clone()),
            Box::new(self.recovery_point_bytes.clone()),
            Box::new(self.recovery_point_errors.clone()),
        ]
    }
}

impl Default for TierMetrics {
    fn default() -> Self {
        TierMetrics::new()
    }
}
