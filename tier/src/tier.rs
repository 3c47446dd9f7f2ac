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
//!
//! Rooms: [`upload`] (the pass: uploads, manifests, recovery points,
//! total retention), [`deletion`] (remote objects that go) and
//! [`restore`] (downloads at start).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use object_store::ObjectStoreExt;
use parking_lot::Mutex;
use strata_storage::{AbortedTxn, Log};

use crate::aborted::TxnIndexes;
use crate::cache::{CacheConfig, ChunkCache};
use crate::limiter::RateLimiter;
use crate::manifest::{Manifest, PartitionPath};
use crate::metrics::TierMetrics;
use crate::partition::{PartitionSpec, RemotePartition};
use crate::reader::{Reader, RemoteReadError};
use crate::store::TierStore;

mod deletion;
mod restore;
mod upload;

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

    /// Flushes the cache's disk part.
    pub async fn close(&self) {
        if let Err(e) = self.cache.close().await {
            tracing::warn!(error = format!("{e:#}"), "closing the tier cache");
        }
    }
}
