//! The tier's background pass: per partition, sync DeleteRecords into the
//! manifest, upload pending sealed segments (then the manifest naming them),
//! bring internal logs' recovery points up to date, apply total retention.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use strata_storage::SegmentInfo;
use tokio::sync::watch;

use super::Tier;
use crate::manifest::{Manifest, PartitionPath, RemoteSegment};
use crate::partition::{self, RemotePartition};

/// Segments larger than this are uploaded in parts of this size.
const PART_BYTES: u64 = 16 << 20;

/// Bytes waiting for upload in every partition that uploads.
fn waiting_in<'a>(partitions: impl Iterator<Item = &'a Arc<RemotePartition>>) -> u64 {
    partitions
        .filter(|p| p.uploads() && !p.is_removed())
        .map(|p| waiting_bytes(p))
        .sum::<u64>()
}

/// Bytes of `partition`'s sealed segments its manifest does not hold yet
/// (all of them before its manifest is loaded).
fn waiting_bytes(partition: &RemotePartition) -> u64 {
    let manifest = partition
        .manifest()
        .map(|m| (*m).clone())
        .unwrap_or_else(|| Manifest::new(&partition.spec.topic, None, partition.spec.partition));
    partition::pending_uploads(&manifest, partition.log.sealed_segments())
        .iter()
        .map(|s| s.size_bytes)
        .sum()
}

impl Tier {
    /// Runs passes until `stopped` turns true.
    pub async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let mut backoff = self.config.retry_backoff;
        loop {
            let wait = if self.pass().await {
                backoff = self.config.retry_backoff;
                self.config.task_interval
            } else {
                let wait = backoff;
                backoff = (backoff * 2).min(self.config.retry_backoff_max);
                wait
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
        }
    }

    /// One pass over every partition; false if any part failed.
    ///
    /// Metadata before data: the partitions are listed first, then the
    /// metadata log's recovery point is brought up to its high watermark,
    /// and only then is anything uploaded. A partition is tracked only after
    /// the event creating its topic is durable, so every segment and
    /// manifest this pass writes belongs to a topic whose id and configs
    /// the bucket already holds. Without that upload nothing else is.
    pub async fn pass(&self) -> bool {
        let now_ms = now_ms();
        let partitions = self.all();
        if let Some(metadata) = partitions.iter().find(|p| p.spec.is_metadata_log()) {
            if let Err(e) = self.sync_tail(metadata).await {
                self.metrics.upload_errors.inc();
                self.metrics.store_reachable.set(0);
                // Nothing is uploaded in this pass, so everything waiting
                // counts: a lag left from an earlier pass would hide the
                // segments sealed since (the store may be down for long).
                self.metrics
                    .upload_lag_bytes
                    .set(waiting_in(partitions.iter()) as i64);
                tracing::warn!(
                    error = format!("{e:#}"),
                    "uploading the metadata log's recovery point failed; no segment is uploaded before it"
                );
                return false;
            }
        }
        let results: Vec<(Arc<RemotePartition>, anyhow::Result<()>)> =
            futures::stream::iter(partitions)
                .map(|p| async move {
                    let result = self.sync_partition(&p, now_ms).await;
                    (p, result)
                })
                .buffer_unordered(self.config.upload_concurrency.max(1))
                .collect()
                .await;
        let mut ok = true;
        for (partition, result) in &results {
            if let Err(e) = result {
                ok = false;
                partition.orphans_unchecked.store(true, Ordering::Relaxed);
                self.metrics.upload_errors.inc();
                tracing::warn!(
                    partition = partition.spec.path.as_str(),
                    error = format!("{e:#}"),
                    "tier pass failed; retrying with backoff"
                );
            }
        }
        // What waits now, counted at the end of the pass: a partition synced
        // early in a pass that then hung on another (a store that stopped
        // answering) has sealed segments since, and they wait too.
        let lag = waiting_in(results.iter().map(|(p, _)| p));
        self.metrics.upload_lag_bytes.set(lag as i64);
        self.metrics.store_reachable.set(i64::from(ok));
        ok
    }

    /// Brings one partition's remote side up to date (the pass counts what
    /// still waits at its end, `waiting_in`).
    pub(super) async fn sync_partition(
        &self,
        p: &RemotePartition,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let _pass = p.pass.lock().await;
        if p.is_removed() {
            return Ok(());
        }
        let mut manifest = match p.manifest() {
            Some(m) => (*m).clone(),
            None => {
                let m = self.load_manifest(&p.spec).await?;
                p.set_manifest(m.clone());
                m
            }
        };
        if !p.uploads() {
            return Ok(());
        }
        if p.spec.internal {
            p.log.roll_if_older(now_ms, self.config.internal_roll_ms)?;
        }
        if p.orphans_unchecked.load(Ordering::Relaxed) {
            self.delete_orphans(&p.spec.path, &manifest).await?;
            p.orphans_unchecked.store(false, Ordering::Relaxed);
        }
        // DeleteRecords moved the log start: the manifest follows.
        let mut doomed = Vec::new();
        let log_start = p.log.log_start_offset();
        if log_start > manifest.log_start_offset {
            doomed.extend(manifest.advance_start(log_start));
            self.write_manifest(p, &manifest).await?;
            self.delete_segments(&p.spec.path, std::mem::take(&mut doomed))
                .await?;
        }
        for info in partition::pending_uploads(&manifest, p.log.sealed_segments()) {
            if p.is_removed() {
                return Ok(());
            }
            let Some(segment) = self.upload_segment(&p.spec.path, &info, now_ms).await? else {
                continue; // changed under us (compaction or retention): next pass
            };
            if let Some(replaced) = manifest.put_segment(segment) {
                doomed.push(replaced);
            }
            self.write_manifest(p, &manifest).await?;
            self.delete_segments(&p.spec.path, std::mem::take(&mut doomed))
                .await?;
        }
        // Total retention across both tiers.
        let config = p.log.config();
        if config.remote_storage {
            let local_only = partition::local_only_bytes(&p.log, &manifest);
            if let Some(start) = partition::total_retention_start(
                &manifest,
                local_only,
                config.total_retention_ms,
                config.total_retention_bytes,
                now_ms,
            ) {
                let doomed = manifest.advance_start(start);
                self.write_manifest(p, &manifest).await?;
                p.log
                    .delete_records_before(start.min(p.log.high_watermark()))
                    .context("moving the local log start with total retention")?;
                self.delete_segments(&p.spec.path, doomed).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn write_manifest(
        &self,
        p: &RemotePartition,
        manifest: &Manifest,
    ) -> anyhow::Result<()> {
        let path = self.store.path(&p.spec.path.manifest());
        self.store
            .store
            .put(&path, PutPayload::from(manifest.encode()))
            .await
            .with_context(|| format!("writing manifest {path}"))?;
        p.set_manifest(manifest.clone());
        Ok(())
    }

    /// Uploads one sealed segment's files (three, and its transaction index
    /// and producer snapshot when the log has them); `None` when the segment
    /// changed or went away since it was listed.
    pub(super) async fn upload_segment(
        &self,
        partition: &PartitionPath,
        info: &SegmentInfo,
        now_ms: i64,
    ) -> anyhow::Result<Option<RemoteSegment>> {
        let files = {
            let info = info.clone();
            tokio::task::spawn_blocking(move || open_segment_files(&info)).await??
        };
        let Some(files) = files else {
            return Ok(None);
        };
        let mut segment = partition::remote_segment(info, now_ms);
        segment.txn_index = files.txn_index.is_some();
        segment.producer_snapshot = files.producer_snapshot.is_some();
        self.limiter.acquire(info.size_bytes).await;
        let log_path = self.store.path(&partition.segment_file(&segment, "log"));
        upload_file(&*self.store.store, &log_path, files.log, info.size_bytes).await?;
        let small = [
            ("index", Some(files.index)),
            ("timeindex", Some(files.time_index)),
            ("txnindex", files.txn_index),
            ("snapshot", files.producer_snapshot),
        ];
        for (extension, bytes) in small {
            let Some(bytes) = bytes else { continue };
            let path = self
                .store
                .path(&partition.segment_file(&segment, extension));
            self.store
                .store
                .put(&path, PutPayload::from(bytes))
                .await
                .with_context(|| format!("uploading {path}"))?;
        }
        self.metrics.uploaded_bytes.inc_by(info.size_bytes);
        self.metrics.uploaded_segments.inc();
        tracing::debug!(
            partition = partition.as_str(),
            base_offset = info.base_offset,
            size = info.size_bytes,
            "segment uploaded"
        );
        Ok(Some(segment))
    }
}

/// A sealed segment's data file, opened, and its other files, read.
struct SegmentFiles {
    log: std::fs::File,
    index: Vec<u8>,
    time_index: Vec<u8>,
    /// `None` when the segment has no aborted transaction.
    txn_index: Option<Vec<u8>>,
    /// The producer snapshot at the segment's end; `None` when the log no
    /// longer keeps it (only the newest few are kept) or could not write it.
    producer_snapshot: Option<Vec<u8>>,
}

/// Opens the segment and reads its index files, checking the segment is
/// still the size it was listed with, and its optional files.
fn open_segment_files(info: &SegmentInfo) -> anyhow::Result<Option<SegmentFiles>> {
    let not_found = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
    let file = match std::fs::File::open(&info.path) {
        Ok(f) => f,
        Err(e) if not_found(&e) => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", info.path.display())),
    };
    if file.metadata()?.len() != info.size_bytes {
        return Ok(None);
    }
    let mut indexes = Vec::with_capacity(2);
    for extension in ["index", "timeindex"] {
        let path = info.path.with_extension(extension);
        match std::fs::read(&path) {
            Ok(bytes) => indexes.push(bytes),
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    let time_index = indexes.pop().expect("two");
    let index = indexes.pop().expect("two");
    let optional = |path: std::path::PathBuf| match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let txn_index = optional(info.path.with_extension("txnindex"))?;
    let producer_snapshot = match info.path.parent() {
        Some(dir) => optional(strata_storage::producer_snapshot_path(
            dir,
            info.next_offset,
        ))?,
        None => None,
    };
    Ok(Some(SegmentFiles {
        log: file,
        index,
        time_index,
        txn_index,
        producer_snapshot,
    }))
}

/// Uploads `size` bytes of `file`: one PUT, or a multipart upload in
/// `PART_BYTES` parts for large segments, so memory stays bounded.
async fn upload_file(
    store: &dyn ObjectStore,
    path: &object_store::path::Path,
    file: std::fs::File,
    size: u64,
) -> anyhow::Result<()> {
    let file = Arc::new(file);
    let read = |offset: u64, len: u64| {
        let file = file.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; len as usize];
                std::os::unix::fs::FileExt::read_exact_at(&*file, &mut buf, offset)?;
                Ok::<_, io::Error>(Bytes::from(buf))
            })
            .await?
        }
    };
    if size <= PART_BYTES {
        let bytes = read(0, size).await?;
        store
            .put(path, PutPayload::from(bytes))
            .await
            .with_context(|| format!("uploading {path}"))?;
        return Ok(());
    }
    let mut upload = store
        .put_multipart(path)
        .await
        .with_context(|| format!("starting multipart upload of {path}"))?;
    let mut offset = 0;
    while offset < size {
        let len = PART_BYTES.min(size - offset);
        let bytes = match read(offset, len).await {
            Ok(b) => b,
            Err(e) => {
                let _ = upload.abort().await;
                return Err(e.into());
            }
        };
        if let Err(e) = upload.put_part(PutPayload::from(bytes)).await {
            let _ = upload.abort().await;
            return Err(e).with_context(|| format!("uploading a part of {path}"));
        }
        offset += len;
    }
    upload
        .complete()
        .await
        .with_context(|| format!("completing upload of {path}"))?;
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
