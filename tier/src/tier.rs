//! The tier: the store, the cache, every tracked partition, and the
//! background task that uploads sealed segments and applies remote
//! retention.
//!
//! Each pass visits every tracked partition (at most
//! `upload_concurrency` at a time): it syncs a DeleteRecords into the
//! manifest, uploads each pending sealed segment (`.log`, `.index`,
//! `.timeindex`, and when the log has them its `.txnindex` and the producer
//! snapshot at its end, then the manifest naming them, then it deletes
//! objects the new manifest no longer names), and applies total retention. A failed
//! pass marks the store unreachable and the next one comes after an
//! exponential backoff; nothing local is deleted meanwhile, because the
//! log's local retention only deletes what the manifest holds.

use std::collections::BTreeMap;
use std::io;
use std::path::Path as FsPath;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parking_lot::Mutex;
use strata_storage::{AbortedTxn, Log, SegmentInfo};
use tokio::sync::watch;

use crate::aborted::TxnIndexes;
use crate::cache::{CacheConfig, ChunkCache};
use crate::limiter::RateLimiter;
use crate::manifest::{Manifest, PartitionPath, RemoteSegment};
use crate::metrics::TierMetrics;
use crate::partition::{self, PartitionSpec, RemotePartition};
use crate::reader::{Reader, RemoteReadError};
use crate::store::TierStore;

/// Segments larger than this are uploaded in parts of this size.
const PART_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone)]
pub struct TierConfig {
    pub url: String,
    pub cache: CacheConfig,
    /// `remote.log.manager.task.interval.ms`.
    pub task_interval: Duration,
    /// `remote.log.manager.task.retry.backoff.ms` / `.max.ms`.
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    /// `remote.log.manager.copy.max.bytes.per.second`; `None` is unlimited.
    pub upload_bytes_per_second: Option<u64>,
    /// Partitions uploaded at the same time
    /// (`remote.log.manager.copier.thread.pool.size`).
    pub upload_concurrency: usize,
    /// Size of the ranges read from remote segments and cached.
    pub chunk_bytes: u64,
    /// Chunks fetched ahead of a sequential reader.
    pub read_ahead_chunks: u64,
    /// How often internal logs roll so their state gets uploaded
    /// (`strata.remote.internal.roll.ms`).
    pub internal_roll_ms: u64,
    /// How far internal logs' uploaded state may lag their durable state
    /// (`strata.tier.metadata.recovery.point.ms`, see `recovery_point.rs`).
    pub recovery_point: Duration,
}

pub struct Tier {
    store: TierStore,
    cache: Arc<ChunkCache>,
    reader: Reader,
    txn_indexes: TxnIndexes,
    limiter: RateLimiter,
    config: TierConfig,
    metrics: TierMetrics,
    partitions: Mutex<BTreeMap<PartitionPath, Arc<RemotePartition>>>,
}

impl Tier {
    /// Opens the store and checks it answers (a tier that cannot be reached
    /// stops start-up), then opens the cache.
    pub async fn open(config: TierConfig, metrics: TierMetrics) -> anyhow::Result<Arc<Tier>> {
        let store = TierStore::open(&config.url)?;
        store.check().await?;
        metrics.store_reachable.set(1);
        let cache = Arc::new(ChunkCache::open(&config.cache).await.with_context(|| {
            format!("opening the tier cache in {}", config.cache.dir.display())
        })?);
        let reader = Reader::new(
            store.clone(),
            cache.clone(),
            config.chunk_bytes,
            config.read_ahead_chunks,
            metrics.clone(),
        );
        tracing::info!(url = %config.url, "tiered storage enabled");
        Ok(Arc::new(Tier {
            txn_indexes: TxnIndexes::new(store.clone()),
            store,
            cache,
            reader,
            limiter: RateLimiter::new(config.upload_bytes_per_second),
            config,
            metrics,
            partitions: Mutex::new(BTreeMap::new()),
        }))
    }

    pub fn store(&self) -> &TierStore {
        &self.store
    }

    pub(crate) fn config(&self) -> &TierConfig {
        &self.config
    }

    pub(crate) fn metrics(&self) -> &TierMetrics {
        &self.metrics
    }

    /// Starts tracking a partition. Its manifest is loaded by
    /// [`Tier::load_pending`] or the next pass.
    pub fn track(&self, spec: PartitionSpec, log: Log) {
        let path = spec.path.clone();
        self.partitions
            .lock()
            .insert(path, Arc::new(RemotePartition::new(spec, log)));
    }

    /// Stops tracking a deleted partition and deletes its remote objects in
    /// the background (what is left after a failure is an orphan).
    pub fn untrack_and_delete(self: &Arc<Self>, path: &PartitionPath) {
        let Some(partition) = self.partitions.lock().remove(path) else {
            return;
        };
        partition.removed.store(true, Ordering::Relaxed);
        let tier = self.clone();
        let path = path.clone();
        tokio::spawn(async move {
            let _pass = partition.pass.lock().await;
            if let Err(e) = tier.delete_prefix(&path).await {
                tracing::warn!(
                    partition = path.as_str(),
                    error = format!("{e:#}"),
                    "deleting a deleted partition's remote objects"
                );
            }
        });
    }

    pub fn partition(&self, path: &PartitionPath) -> Option<Arc<RemotePartition>> {
        self.partitions.lock().get(path).cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<RemotePartition>> {
        self.partitions.lock().values().cloned().collect()
    }

    /// The bytes each tracked partition holds in the store, from its
    /// manifest as last written: `(spec, bytes)`, for the broker's
    /// per-partition tiered size metric (read at scrape time, no I/O).
    /// Partitions whose manifest is not loaded yet are left out.
    pub fn remote_sizes(&self) -> Vec<(PartitionSpec, u64)> {
        self.all()
            .iter()
            .filter_map(|p| Some((p.spec.clone(), p.manifest()?.total_bytes())))
            .collect()
    }

    /// Loads the manifest of every partition that has none loaded yet, so
    /// that log start offsets span both tiers before clients are served.
    pub async fn load_pending(&self) -> anyhow::Result<()> {
        for partition in self.all() {
            if partition.manifest().is_none() {
                let manifest = self.load_manifest(&partition.spec).await?;
                partition.set_manifest(manifest);
            }
        }
        Ok(())
    }

    pub(crate) async fn load_manifest(&self, spec: &PartitionSpec) -> anyhow::Result<Manifest> {
        let path = self.store.path(&spec.path.manifest());
        match self.store.store.get(&path).await {
            Ok(found) => {
                let bytes = found.bytes().await?;
                Manifest::decode(&bytes).with_context(|| format!("decoding manifest {path}"))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(Manifest::new(
                &spec.topic,
                spec.topic_id.clone(),
                spec.partition,
            )),
            Err(e) => Err(e).with_context(|| format!("reading manifest {path}")),
        }
    }

    /// Reads whole batches from the remote segments (see `Reader::read`).
    pub async fn read(
        &self,
        partition: &RemotePartition,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
    ) -> Result<Bytes, RemoteReadError> {
        let manifest = partition
            .manifest()
            .ok_or_else(|| anyhow::anyhow!("the remote manifest is not loaded yet"))?;
        self.reader
            .read(
                &partition.spec.path,
                &manifest,
                offset,
                max_bytes,
                min_one_batch,
            )
            .await
    }

    /// The aborted transactions of the remote segments that a read_committed
    /// consumer of `[from, to)` must skip (see `TxnIndexes::aborted_transactions`).
    pub async fn aborted_transactions(
        &self,
        partition: &RemotePartition,
        from: i64,
        to: i64,
    ) -> Result<Vec<AbortedTxn>, RemoteReadError> {
        let Some(manifest) = partition.manifest() else {
            return Ok(Vec::new());
        };
        self.txn_indexes
            .aborted_transactions(&partition.spec.path, &manifest, from, to)
            .await
    }

    /// ListOffsets by timestamp in the remote range.
    pub async fn batch_at_timestamp(
        &self,
        partition: &RemotePartition,
        timestamp: i64,
    ) -> Result<Option<Bytes>, RemoteReadError> {
        let Some(manifest) = partition.manifest() else {
            return Ok(None);
        };
        self.reader
            .batch_at_timestamp(&partition.spec.path, &manifest, timestamp)
            .await
    }

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
                tracing::warn!(
                    error = format!("{e:#}"),
                    "uploading the metadata log's recovery point failed; no segment is uploaded before it"
                );
                return false;
            }
        }
        let results: Vec<(Arc<RemotePartition>, anyhow::Result<u64>)> =
            futures::stream::iter(partitions)
                .map(|p| async move {
                    let result = self.sync_partition(&p, now_ms).await;
                    (p, result)
                })
                .buffer_unordered(self.config.upload_concurrency.max(1))
                .collect()
                .await;
        let mut ok = true;
        let mut lag = 0;
        for (partition, result) in results {
            match result {
                Ok(pending) => lag += pending,
                Err(e) => {
                    ok = false;
                    partition.orphans_unchecked.store(true, Ordering::Relaxed);
                    self.metrics.upload_errors.inc();
                    tracing::warn!(
                        partition = partition.spec.path.as_str(),
                        error = format!("{e:#}"),
                        "tier pass failed; retrying with backoff"
                    );
                    lag += partition::pending_uploads(
                        &partition
                            .manifest()
                            .map(|m| (*m).clone())
                            .unwrap_or_else(|| {
                                Manifest::new(&partition.spec.topic, None, partition.spec.partition)
                            }),
                        partition.log.sealed_segments(),
                    )
                    .iter()
                    .map(|s| s.size_bytes)
                    .sum::<u64>();
                }
            }
        }
        self.metrics.upload_lag_bytes.set(lag as i64);
        self.metrics.store_reachable.set(i64::from(ok));
        ok
    }

    /// Brings one partition's remote side up to date; returns the bytes
    /// still waiting for upload (0 unless interrupted).
    async fn sync_partition(&self, p: &RemotePartition, now_ms: i64) -> anyhow::Result<u64> {
        let _pass = p.pass.lock().await;
        if p.is_removed() {
            return Ok(0);
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
            return Ok(0);
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
        let pending = partition::pending_uploads(&manifest, p.log.sealed_segments());
        let mut lag: u64 = pending.iter().map(|s| s.size_bytes).sum();
        for info in pending {
            if p.is_removed() {
                return Ok(0);
            }
            let Some(segment) = self.upload_segment(&p.spec.path, &info, now_ms).await? else {
                continue; // changed under us (compaction or retention): next pass
            };
            lag = lag.saturating_sub(info.size_bytes);
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
        Ok(lag)
    }

    async fn write_manifest(&self, p: &RemotePartition, manifest: &Manifest) -> anyhow::Result<()> {
        let path = self.store.path(&p.spec.path.manifest());
        self.store
            .store
            .put(&path, PutPayload::from(manifest.encode()))
            .await
            .with_context(|| format!("writing manifest {path}"))?;
        p.set_manifest(manifest.clone());
        Ok(())
    }

    async fn delete_segments(
        &self,
        partition: &PartitionPath,
        segments: Vec<RemoteSegment>,
    ) -> anyhow::Result<()> {
        for segment in segments {
            for extension in segment.extensions() {
                let path = self
                    .store
                    .path(&partition.segment_file(&segment, extension));
                match self.store.store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e).with_context(|| format!("deleting {path}")),
                }
            }
            self.reader.forget(partition, &segment);
            self.txn_indexes.forget(partition, &segment);
            self.metrics.deleted_segments.inc();
        }
        Ok(())
    }

    /// Deletes the partition's objects that the manifest does not name.
    /// Callers hold the partition's pass lock, so no upload of this
    /// partition is in flight.
    async fn delete_orphans(
        &self,
        partition: &PartitionPath,
        manifest: &Manifest,
    ) -> anyhow::Result<()> {
        let mut named: std::collections::HashSet<String> = manifest
            .segments
            .iter()
            .flat_map(|s| {
                s.extensions()
                    .into_iter()
                    .map(|ext| partition.segment_file(s, ext))
            })
            .map(|relative| self.store.path(&relative).to_string())
            .collect();
        named.insert(self.store.path(&partition.manifest()).to_string());
        named.insert(self.store.path(&partition.tail()).to_string());
        let prefix = self.store.path(partition.as_str());
        let mut listing = self.store.store.list(Some(&prefix));
        let mut orphans = Vec::new();
        while let Some(meta) = listing.next().await {
            let location = meta?.location;
            if !named.contains(location.as_ref()) {
                orphans.push(location);
            }
        }
        for orphan in orphans {
            tracing::info!(object = %orphan, "deleting an orphaned tier object");
            match self.store.store.delete(&orphan).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e).with_context(|| format!("deleting {orphan}")),
            }
        }
        Ok(())
    }

    async fn delete_prefix(&self, partition: &PartitionPath) -> anyhow::Result<()> {
        let prefix = self.store.path(partition.as_str());
        let locations = self
            .store
            .store
            .list(Some(&prefix))
            .map(|meta| meta.map(|m| m.location))
            .boxed();
        let mut deleted = self.store.store.delete_stream(locations);
        while let Some(result) = deleted.next().await {
            result?;
        }
        Ok(())
    }

    /// Uploads one sealed segment's files (three, and its transaction index
    /// and producer snapshot when the log has them); `None` when the segment
    /// changed or went away since it was listed.
    async fn upload_segment(
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

    /// Flushes the cache's disk part.
    pub async fn close(&self) {
        if let Err(e) = self.cache.close().await {
            tracing::warn!(error = format!("{e:#}"), "closing the tier cache");
        }
    }

    /// Downloads every segment of a partition into `dir` (restore of the
    /// broker's own logs), with its transaction index, and then its
    /// recovery point (`tail.log`) as the active segment. Returns how many
    /// offsets past the sealed segments the tail brought back, or `None`
    /// when the store had nothing of the partition.
    pub async fn download_partition(
        &self,
        spec: &PartitionSpec,
        dir: &FsPath,
    ) -> anyhow::Result<Option<i64>> {
        let manifest = self.load_manifest(spec).await?;
        let tail = self.load_tail(spec, &manifest).await?;
        if manifest.segments.is_empty() && tail.is_none() {
            return Ok(None);
        }
        tokio::fs::create_dir_all(dir).await?;
        for segment in &manifest.segments {
            // Not the producer snapshots: recovery scans the last segment
            // and replays the producer state from the first one anyway.
            for extension in segment
                .extensions()
                .into_iter()
                .filter(|&e| e != "snapshot")
            {
                let path = self.store.path(&spec.path.segment_file(segment, extension));
                let bytes = self.store.store.get(&path).await?.bytes().await?;
                let target = dir.join(format!("{:020}.{extension}", segment.base_offset));
                tokio::fs::write(&target, &bytes)
                    .await
                    .with_context(|| format!("writing {}", target.display()))?;
            }
        }
        if manifest
            .segments
            .first()
            .is_some_and(|s| manifest.log_start_offset > s.base_offset)
        {
            tokio::fs::write(
                dir.join("log-start-offset"),
                format!("{}\n", manifest.log_start_offset),
            )
            .await?;
        }
        let mut tail_offsets = 0;
        if let Some((start, bytes)) = &tail {
            // The active segment: `Log::open` scans it with CRC checks and
            // rebuilds its indexes and producer state.
            let target = dir.join(format!("{start:020}.log"));
            tokio::fs::write(&target, bytes)
                .await
                .with_context(|| format!("writing {}", target.display()))?;
            tail_offsets = crate::recovery_point::tail_end(bytes).map_or(0, |end| end - start);
        }
        tracing::info!(
            partition = spec.path.as_str(),
            segments = manifest.segments.len(),
            tail_bytes = tail.as_ref().map_or(0, |(_, b)| b.len()),
            tail_offsets,
            "restored from the tier"
        );
        Ok(Some(tail_offsets))
    }

    /// Prepares an empty local directory for a partition whose records live
    /// in the store: the local log starts where the remote one ends, and
    /// reads below go to the store. The producer snapshot uploaded with the
    /// last remote segment (if any) is placed at that start, before the log
    /// is opened, so `Log::open` loads it: a producer retrying its last
    /// batch is still deduplicated and open transactions still hold the
    /// last stable offset. Returns whether the store had any.
    pub async fn restore_partition_start(
        &self,
        spec: &PartitionSpec,
        dir: &FsPath,
    ) -> anyhow::Result<bool> {
        let manifest = self.load_manifest(spec).await?;
        let Some(end) = manifest.end_offset() else {
            return Ok(false);
        };
        tokio::fs::create_dir_all(dir).await?;
        if let Some(last) = manifest.segments.last().filter(|s| s.producer_snapshot) {
            let path = self.store.path(&spec.path.segment_file(last, "snapshot"));
            let bytes = self
                .store
                .store
                .get(&path)
                .await
                .with_context(|| format!("reading {path}"))?
                .bytes()
                .await
                .with_context(|| format!("reading {path}"))?;
            // Untrusted bytes: `Log::open` checks the snapshot's checksum and
            // rebuilds without it when it does not hold.
            let target = strata_storage::producer_snapshot_path(dir, end);
            tokio::fs::write(&target, &bytes)
                .await
                .with_context(|| format!("writing {}", target.display()))?;
        }
        tokio::fs::write(dir.join(format!("{end:020}.log")), b"").await?;
        tracing::info!(
            partition = spec.path.as_str(),
            end,
            "restored from the tier: local log starts after the remote one"
        );
        Ok(true)
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
