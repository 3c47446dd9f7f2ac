//! One tracked partition: its local log, its manifest, and the pass that
//! brings the remote side up to date (uploads, DeleteRecords, total
//! retention).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use strata_storage::{Log, SegmentInfo};

use crate::manifest::{Manifest, PartitionPath, RemoteSegment};
use crate::recovery_point::TailState;

/// What the tier needs to know about a partition besides its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSpec {
    pub path: PartitionPath,
    pub topic: String,
    /// `None` for the broker's metadata log.
    pub topic_id: Option<String>,
    pub partition: i32,
    /// The broker's own logs (metadata, consumer offsets, schemas): always
    /// uploaded, whatever `remote.storage.enable` says, so a broker restored
    /// from the bucket gets them back; rolled every
    /// `strata.remote.internal.roll.ms` so their latest state gets uploaded.
    pub internal: bool,
}

impl PartitionSpec {
    /// The broker's metadata log: the one partition without a topic id.
    /// Its recovery point is uploaded before any user segment (see
    /// `recovery_point.rs`).
    pub fn is_metadata_log(&self) -> bool {
        self.topic_id.is_none()
    }
}

pub struct RemotePartition {
    pub(crate) spec: PartitionSpec,
    pub(crate) log: Log,
    /// `None` until loaded from the store.
    manifest: RwLock<Option<Arc<Manifest>>>,
    /// Serialises passes over this partition.
    pub(crate) pass: tokio::sync::Mutex<()>,
    pub(crate) removed: AtomicBool,
    /// Objects no manifest names (left by a crash or a failed pass between
    /// an upload and its manifest) are looked for once after start and
    /// after every failed pass.
    pub(crate) orphans_unchecked: AtomicBool,
    /// Serialises uploads of the internal log's tail (its recovery point)
    /// and remembers what was last uploaded.
    pub(crate) tail: tokio::sync::Mutex<TailState>,
}

impl RemotePartition {
    pub(crate) fn new(spec: PartitionSpec, log: Log) -> RemotePartition {
        RemotePartition {
            spec,
            log,
            manifest: RwLock::new(None),
            pass: tokio::sync::Mutex::new(()),
            removed: AtomicBool::new(false),
            orphans_unchecked: AtomicBool::new(true),
            tail: tokio::sync::Mutex::new(TailState::default()),
        }
    }

    pub fn spec(&self) -> &PartitionSpec {
        &self.spec
    }

    /// The manifest as last written (or loaded).
    pub fn manifest(&self) -> Option<Arc<Manifest>> {
        self.manifest.read().clone()
    }

    /// Installs a manifest and tells the log what remote storage now holds.
    pub(crate) fn set_manifest(&self, manifest: Manifest) {
        self.log.set_tiered_range(manifest.range());
        *self.manifest.write() = Some(Arc::new(manifest));
    }

    pub(crate) fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Relaxed)
    }

    /// Whether sealed segments go to the store.
    pub(crate) fn uploads(&self) -> bool {
        self.spec.internal || self.log.config().remote_storage
    }
}

/// Sealed segments that still need uploading: not below the log start, and
/// either unknown to the manifest or known under another size (a compacted
/// replacement).
pub(crate) fn pending_uploads(manifest: &Manifest, sealed: Vec<SegmentInfo>) -> Vec<SegmentInfo> {
    sealed
        .into_iter()
        .filter(|s| s.next_offset > manifest.log_start_offset)
        .filter(|s| {
            manifest
                .segments
                .binary_search_by_key(&s.base_offset, |r| r.base_offset)
                .map_or(true, |i| manifest.segments[i].size_bytes != s.size_bytes)
        })
        .collect()
}

/// The remote segments total retention removes, oldest first: older than
/// `retention_ms`, or while the partition (remote bytes plus local bytes not
/// uploaded) exceeds `retention_bytes`. Returns the new log start offset.
pub(crate) fn total_retention_start(
    manifest: &Manifest,
    local_only_bytes: u64,
    retention_ms: Option<u64>,
    retention_bytes: Option<u64>,
    now_ms: i64,
) -> Option<i64> {
    let mut total = manifest.total_bytes() + local_only_bytes;
    let mut new_start = None;
    for segment in &manifest.segments {
        let expired =
            retention_ms.is_some_and(|ms| segment.max_timestamp < now_ms.saturating_sub(ms as i64));
        let oversized =
            retention_bytes.is_some_and(|cap| total.saturating_sub(segment.size_bytes) >= cap);
        if !(expired || oversized) {
            break;
        }
        total -= segment.size_bytes;
        new_start = Some(segment.next_offset);
    }
    new_start.filter(|&s| s > manifest.log_start_offset)
}

/// Bytes of the partition on local disk that remote storage does not hold.
pub(crate) fn local_only_bytes(log: &Log, manifest: &Manifest) -> u64 {
    let end = manifest.end_offset().unwrap_or(i64::MIN);
    let covered: u64 = log
        .sealed_segments()
        .iter()
        .filter(|s| s.next_offset <= end)
        .map(|s| s.size_bytes)
        .sum();
    log.size_bytes().saturating_sub(covered)
}

pub(crate) fn remote_segment(info: &SegmentInfo, now_ms: i64) -> RemoteSegment {
    RemoteSegment {
        base_offset: info.base_offset,
        next_offset: info.next_offset,
        size_bytes: info.size_bytes,
        max_timestamp: info.max_timestamp,
        uploaded_at_ms: now_ms,
        txn_index: false,
        producer_snapshot: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(base: i64, next: i64, size: u64, ts: i64) -> RemoteSegment {
        RemoteSegment {
            base_offset: base,
            next_offset: next,
            size_bytes: size,
            max_timestamp: ts,
            uploaded_at_ms: 0,
            txn_index: false,
            producer_snapshot: false,
        }
    }

    fn info(base: i64, next: i64, size: u64) -> SegmentInfo {
        SegmentInfo {
            base_offset: base,
            next_offset: next,
            path: format!("/x/{base}.log").into(),
            size_bytes: size,
            max_timestamp: 0,
        }
    }

    #[test]
    fn uploads_new_and_replaced_segments_only() {
        let mut m = Manifest::new("t", None, 0);
        m.put_segment(seg(0, 10, 100, 0));
        m.put_segment(seg(10, 20, 100, 0));
        m.log_start_offset = 5;
        let pending = pending_uploads(
            &m,
            vec![info(0, 10, 100), info(10, 20, 70), info(20, 30, 100)],
        );
        let bases: Vec<i64> = pending.iter().map(|s| s.base_offset).collect();
        assert_eq!(bases, vec![10, 20]);
        m.log_start_offset = 10;
        assert_eq!(pending_uploads(&m, vec![info(0, 10, 60)]), vec![]);
    }

    #[test]
    fn total_retention_by_time_and_size() {
        let mut m = Manifest::new("t", None, 0);
        m.put_segment(seg(0, 10, 100, 1_000));
        m.put_segment(seg(10, 20, 100, 2_000));
        m.put_segment(seg(20, 30, 100, 3_000));
        assert_eq!(total_retention_start(&m, 50, None, None, 10_000), None);
        // Older than 8.5 s at 10 s: the first two.
        assert_eq!(
            total_retention_start(&m, 50, Some(7_500), None, 10_000),
            Some(20)
        );
        // 350 bytes in all, cap 200: drop while what remains stays at or above the cap.
        assert_eq!(total_retention_start(&m, 50, None, Some(200), 0), Some(10));
        assert_eq!(total_retention_start(&m, 50, None, Some(150), 0), Some(20));
        assert_eq!(total_retention_start(&m, 50, None, Some(1_000), 0), None);
    }
}
