//! The recovery point of the broker's internal logs: what a restore gets
//! back of the state that has not reached a sealed, uploaded segment yet.
//!
//! Sealed segments reach the bucket through the pass (`tier.rs`), which only
//! sees a segment once it rolls. For the internal logs (the metadata log,
//! `__consumer_offsets`, `__transaction_state`, `_schemas`) that would put
//! the recovery point a roll interval behind. So every
//! `strata.tier.metadata.recovery.point.ms` each internal partition whose
//! high watermark moved since its last upload gets one object rewritten in
//! place, `{partition}/tail.log`: the record batches from the end of its
//! manifest (or its log start) up to the high watermark, as the log holds
//! them. No local segment is rolled for it; an idle partition costs nothing.
//!
//! Ordering and crash safety:
//! * the tail is read below the high watermark, which moves only once the
//!   records are durable, so the bucket never holds what a crash could
//!   undo locally;
//! * a tail always starts at or below the manifest end it was computed
//!   against, and manifests only grow at the end, so manifest plus tail have
//!   no gap; a tail older than the manifest overlaps it, and restore drops
//!   the batches the manifest already covers ([`tail_after`]);
//! * the pass uploads the metadata log's tail before any user segment or
//!   manifest (see `Tier::pass`): the topic, id and configs a restore needs
//!   to serve a segment are in the bucket before the segment is.
//!
//! A tail larger than [`TAIL_ROLL_BYTES`] rolls the active segment, so the
//! next pass uploads it sealed and the rewritten object stays small.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use strata_storage::{Log, StorageError};
use strata_wire::batch::{HeaderSummary, BATCH_HEADER_LEN};
use tokio::sync::watch;

use crate::manifest::Manifest;
use crate::partition::RemotePartition;
use crate::tier::Tier;

/// A tail this large rolls the active segment (the next pass uploads it).
pub(crate) const TAIL_ROLL_BYTES: usize = 4 << 20;

/// Internal partitions whose tails are uploaded at the same time.
const TAIL_CONCURRENCY: usize = 8;

/// What was last uploaded as a partition's tail.
#[derive(Debug, Default)]
pub(crate) struct TailState {
    /// The high watermark the uploaded tail reached; `None` before the
    /// first upload since start.
    pub(crate) uploaded_end: Option<i64>,
}

impl Tier {
    /// Uploads changed tails every `recovery_point` until `stopped`.
    pub async fn run_recovery_point(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let interval = self.config().recovery_point.max(Duration::from_millis(1));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            self.sync_recovery_points().await;
        }
    }

    /// Uploads the tail of every internal partition that changed; false if
    /// any upload failed (retried at the next tick).
    pub async fn sync_recovery_points(&self) -> bool {
        let internal: Vec<_> = self.all().into_iter().filter(|p| p.spec.internal).collect();
        let failures = futures::stream::iter(internal)
            .map(|p| async move {
                let result = self.sync_tail(&p).await;
                if let Err(e) = &result {
                    tracing::warn!(
                        partition = p.spec.path.as_str(),
                        error = format!("{e:#}"),
                        "uploading an internal log's recovery point failed"
                    );
                }
                result.is_err()
            })
            .buffer_unordered(TAIL_CONCURRENCY)
            .filter(|failed| futures::future::ready(*failed))
            .count()
            .await;
        if failures > 0 {
            self.metrics().recovery_point_errors.inc_by(failures as u64);
        }
        failures == 0
    }

    /// Uploads the partition's tail if its high watermark moved since the
    /// last upload. Returns whether it uploaded.
    pub(crate) async fn sync_tail(&self, p: &RemotePartition) -> anyhow::Result<bool> {
        let mut state = p.tail.lock().await;
        if p.is_removed() {
            return Ok(false);
        }
        let end = p.log.high_watermark();
        if state.uploaded_end.is_some_and(|uploaded| uploaded >= end) {
            return Ok(false);
        }
        let manifest = match p.manifest() {
            Some(m) => m,
            None => {
                let m = self.load_manifest(&p.spec).await?;
                p.set_manifest(m);
                p.manifest().expect("just set")
            }
        };
        let from = tail_start(&manifest).max(p.log.log_start_offset());
        if from >= end {
            // The manifest holds everything: an older tail object, if any,
            // is wholly covered and restore skips it.
            state.uploaded_end = Some(end);
            return Ok(false);
        }
        let log = p.log.clone();
        let tail = tokio::task::spawn_blocking(move || read_tail(&log, from, end)).await??;
        let path = self.store().path(&p.spec.path.tail());
        let bytes = tail.len() as u64;
        self.store()
            .store
            .put(&path, PutPayload::from(tail.clone()))
            .await
            .with_context(|| format!("uploading {path}"))?;
        state.uploaded_end = Some(end);
        self.metrics().recovery_point_uploads.inc();
        self.metrics().recovery_point_bytes.inc_by(bytes);
        if tail.len() > TAIL_ROLL_BYTES {
            p.log
                .roll_if_older(i64::MAX, 0)
                .context("rolling an internal log whose recovery point grew large")?;
        }
        tracing::debug!(
            partition = p.spec.path.as_str(),
            from,
            end,
            bytes,
            "recovery point uploaded"
        );
        Ok(true)
    }

    /// The partition's uploaded tail with the batches `manifest` covers
    /// dropped, and the offset its first kept batch belongs at; `None`
    /// when there is no tail or nothing in it is new.
    pub(crate) async fn load_tail(
        &self,
        spec: &crate::PartitionSpec,
        manifest: &Manifest,
    ) -> anyhow::Result<Option<(i64, Bytes)>> {
        let path = self.store().path(&spec.path.tail());
        let bytes = match self.store().store.get(&path).await {
            Ok(found) => found
                .bytes()
                .await
                .with_context(|| format!("reading {path}"))?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {path}")),
        };
        let start = tail_start(manifest);
        let kept = tail_after(&bytes, start);
        let Some(first) = kept.first_base else {
            return Ok(None);
        };
        if first < start {
            anyhow::bail!("{path}: a batch at {first} below the manifest end {start}");
        }
        Ok(Some((start, kept.bytes)))
    }
}

/// Where a tail starts: the end of the manifest's segments, or its log
/// start when it has none.
pub(crate) fn tail_start(manifest: &Manifest) -> i64 {
    manifest
        .end_offset()
        .unwrap_or(manifest.log_start_offset)
        .max(manifest.log_start_offset)
}

/// Reads the whole batches in `[from, end)` of `log` (segment by segment,
/// as `Log::read` hands them out).
fn read_tail(log: &Log, from: i64, end: i64) -> anyhow::Result<Bytes> {
    let mut out = BytesMut::new();
    let mut offset = from;
    while offset < end {
        let chunk = match log.read(offset, 1 << 20, true) {
            Ok(chunk) => chunk,
            // Retention or compaction moved the start under us: what is
            // left starts later.
            Err(StorageError::OffsetOutOfRange { .. }) if offset < log.log_start_offset() => {
                offset = log.log_start_offset();
                continue;
            }
            Err(e) => return Err(e).context("reading an internal log's tail"),
        };
        if chunk.is_empty() {
            break;
        }
        let mut position = 0;
        let mut next = offset;
        while position + BATCH_HEADER_LEN <= chunk.len() {
            let header = HeaderSummary::peek(&chunk[position..])
                .map_err(|e| anyhow::anyhow!("a batch of the local log near {offset}: {e}"))?;
            if header.base_offset >= end {
                break;
            }
            let stop = (position + header.total_len).min(chunk.len());
            out.extend_from_slice(&chunk[position..stop]);
            position = stop;
            next = header.last_offset + 1;
        }
        if next <= offset {
            break;
        }
        offset = next;
    }
    Ok(out.freeze())
}

/// The batches of an uploaded tail from `start` on.
pub(crate) struct KeptTail {
    pub(crate) bytes: Bytes,
    pub(crate) first_base: Option<i64>,
}

/// Drops the leading batches of `tail` below `start` (the manifest covers
/// them) and a torn or malformed end (recovery would cut it anyway).
pub(crate) fn tail_after(tail: &Bytes, start: i64) -> KeptTail {
    let mut position = 0;
    let mut keep_from = None;
    let mut first_base = None;
    while position + BATCH_HEADER_LEN <= tail.len() {
        let Ok(header) = HeaderSummary::peek(&tail[position..]) else {
            break;
        };
        if position + header.total_len > tail.len() {
            break;
        }
        if header.base_offset >= start && keep_from.is_none() {
            keep_from = Some(position);
            first_base = Some(header.base_offset);
        }
        position += header.total_len;
    }
    let bytes = keep_from.map_or_else(Bytes::new, |from| tail.slice(from..position));
    KeptTail { bytes, first_base }
}

/// One past the last offset of the whole batches in `tail`.
pub(crate) fn tail_end(tail: &[u8]) -> Option<i64> {
    let mut position = 0;
    let mut end = None;
    while position + BATCH_HEADER_LEN <= tail.len() {
        let Ok(header) = HeaderSummary::peek(&tail[position..]) else {
            break;
        };
        end = Some(header.last_offset + 1);
        position += header.total_len;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batches(bases: &[(i64, i32)]) -> Bytes {
        let mut out = BytesMut::new();
        for &(base, records) in bases {
            let mut b = strata_wire::testing::opaque_batch(records, 0, 10);
            b[..8].copy_from_slice(&base.to_be_bytes());
            out.extend_from_slice(&b);
        }
        out.freeze()
    }

    #[test]
    fn a_tail_keeps_what_the_manifest_does_not_cover() {
        let tail = batches(&[(10, 2), (12, 3), (15, 1)]);
        let kept = tail_after(&tail, 12);
        assert_eq!(kept.first_base, Some(12));
        assert_eq!(kept.bytes, batches(&[(12, 3), (15, 1)]));
        assert_eq!(tail_after(&tail, 0).bytes, tail);
        assert_eq!(tail_after(&tail, 16).first_base, None);
        // A torn last batch is dropped.
        let torn = tail.slice(..tail.len() - 3);
        assert_eq!(tail_after(&torn, 0).bytes, batches(&[(10, 2), (12, 3)]));
        assert_eq!(tail_after(&Bytes::new(), 0).first_base, None);
    }

    #[test]
    fn a_tail_starts_at_the_manifest_end() {
        let mut m = Manifest::new("t", None, 0);
        assert_eq!(tail_start(&m), 0);
        m.log_start_offset = 7;
        assert_eq!(tail_start(&m), 7);
        m.put_segment(crate::RemoteSegment {
            base_offset: 7,
            next_offset: 20,
            size_bytes: 1,
            max_timestamp: 0,
            uploaded_at_ms: 0,
            txn_index: false,
            producer_snapshot: false,
        });
        assert_eq!(tail_start(&m), 20);
    }
}
