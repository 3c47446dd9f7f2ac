//! The transaction coordinator (Kafka 4.1 semantics): one state machine per
//! transactional id (`metadata.rs`), kept in the compacted internal topic
//! `__transaction_state` in Kafka's record layout (`log_records.rs`).
//!
//! Ordering and crash-safety invariants:
//!
//! * A change is computed under one lock, appended (page cache) under it, so
//!   log order is state order, and marked *pending*; the lock is released
//!   while the record is fsynced. Only then is the in-memory state replaced
//!   and the client answered. While a change is pending every other call on
//!   that id answers CONCURRENT_TRANSACTIONS, as Kafka's `pendingState`.
//! * Ending a transaction persists PrepareCommit/PrepareAbort first and
//!   answers EndTxn (as Kafka does), then
//!   writes the COMMIT/ABORT markers into every data partition (retried until
//!   they are durable: a Prepare* can never be taken back), then appends
//!   CompleteCommit/CompleteAbort and applies it without waiting for its
//!   fsync (`end.rs`, `record_completion`): the id's next record, in the same
//!   partition, is fsynced with it. A crash before it is durable leaves the
//!   Prepare* as the id's last record, and start-up finishes it
//!   (`resume_pending`), so markers are written at least once and Complete*
//!   never precedes them.
//! * Ongoing transactions found at start-up are left to the timeout abort.

mod concurrent;
mod end;
mod init;
mod log_records;
mod metadata;
mod partitions;
mod query;
mod replay;
mod timer;

#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use strata_storage::{AppendInfo, Log, StorageError};

pub(crate) use metadata::{TxnMetadata, TxnState};
pub(crate) use partitions::for_produce;

use crate::cluster::{AdminError, Cluster};
use crate::internal_log;
use crate::internal_topic::InternalTopic;

pub(crate) use crate::cluster::TRANSACTION_STATE_TOPIC;

/// Hands out producer ids (the lead's ProducerIdManager implements it).
pub(crate) trait ProducerIdSource: Send + Sync {
    fn next_producer_id(&self) -> BoxFuture<'_, Result<i64, ResponseError>>;
}

/// Writes COMMIT/ABORT control batches into data partitions and resolves
/// once they are durable; for `__consumer_offsets` partitions it also applies
/// (or drops) the transaction's pending offset commits.
pub(crate) trait MarkerWriter: Send + Sync {
    fn write_markers<'a>(
        &'a self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
        partitions: &'a [(String, i32)],
    ) -> BoxFuture<'a, Result<(), ResponseError>>;
}

/// The partition epoch of `__transaction_state` given to markers; one node
/// leads every partition forever, so it never changes.
pub(crate) const COORDINATOR_EPOCH: i32 = 0;

/// Coordinator settings, from Kafka's broker properties.
#[derive(Debug, Clone)]
pub(crate) struct TransactionConfig {
    /// `transaction.state.log.num.partitions`
    pub(crate) partitions: i32,
    /// `transaction.max.timeout.ms`
    pub(crate) max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`
    pub(crate) id_expiration_ms: i64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`
    pub(crate) abort_interval: Duration,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`
    pub(crate) remove_interval: Duration,
    /// First wait before a failed marker or state write is retried; doubles
    /// up to 100 times this (Kafka retries forever too).
    pub(crate) retry_backoff: Duration,
    /// Partitions of `__consumer_offsets`, to place a group's offsets.
    pub(crate) offsets_partitions: i32,
    /// How long a request waits for a change of its transactional id in
    /// progress before it is answered CONCURRENT_TRANSACTIONS (`concurrent.rs`).
    pub(crate) concurrent_wait: Duration,
}

/// Milliseconds since the epoch; injectable so tests can move time.
pub(crate) type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// One transactional id in memory.
#[derive(Debug, Clone)]
struct Entry {
    meta: TxnMetadata,
    /// The state a change being made durable leads to.
    pending: Option<TxnState>,
}

impl Entry {
    fn new(meta: TxnMetadata) -> Self {
        Entry {
            meta,
            pending: None,
        }
    }
}

/// The coordinator; cheap to clone (markers are finished by spawned tasks).
#[derive(Clone)]
pub(crate) struct TransactionCoordinator {
    inner: Arc<Inner>,
}

struct Inner {
    config: TransactionConfig,
    entries: Mutex<HashMap<String, Entry>>,
    state_topic: InternalTopic,
    producer_ids: Arc<dyn ProducerIdSource>,
    markers: Arc<dyn MarkerWriter>,
    clock: Clock,
    /// Woken whenever a change of some transactional id finishes.
    changed: tokio::sync::Notify,
}

/// What to wait on before a pending change takes effect.
struct Durable {
    log: Log,
    end: i64,
}

impl TransactionCoordinator {
    /// Rebuilds every transactional id from `__transaction_state`. Call
    /// `resume_pending` (or `run`) from the runtime afterwards to finish
    /// transactions caught between Prepare* and Complete*.
    pub(crate) fn open(
        cluster: &Cluster,
        config: TransactionConfig,
        producer_ids: Arc<dyn ProducerIdSource>,
        markers: Arc<dyn MarkerWriter>,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let mut entries = HashMap::new();
        let mut logs = Vec::new();
        if let Some(topic) = cluster.topic(TRANSACTION_STATE_TOPIC) {
            logs = topic.logs();
            for (id, meta) in replay::load(&logs)? {
                entries.insert(id, Entry::new(meta));
            }
            tracing::info!(
                transactional_ids = entries.len(),
                "transactions loaded from {TRANSACTION_STATE_TOPIC}"
            );
        }
        let state_topic = InternalTopic::new(TRANSACTION_STATE_TOPIC, config.partitions, logs);
        Ok(TransactionCoordinator {
            inner: Arc::new(Inner {
                config,
                entries: Mutex::new(entries),
                state_topic,
                producer_ids,
                markers,
                clock,
                changed: tokio::sync::Notify::new(),
            }),
        })
    }

    /// Creates `__transaction_state` on first use, as Kafka does when a
    /// client first looks for a transaction coordinator.
    pub(crate) async fn ensure_state_topic(&self, cluster: &Cluster) -> Result<(), AdminError> {
        self.inner.state_topic.ensure(cluster).await
    }

    /// Whether `__transaction_state` exists, so FindCoordinator can answer.
    pub(crate) fn is_ready(&self) -> bool {
        self.inner.state_topic.exists()
    }

    fn now(&self) -> i64 {
        (self.inner.clock)()
    }

    fn config(&self) -> &TransactionConfig {
        &self.inner.config
    }

    /// Appends `value` (None: a tombstone) for `id`. Call with the entries
    /// lock held, so log order is state order.
    fn append(&self, id: &str, value: Option<&TxnMetadata>) -> Result<Durable, ResponseError> {
        self.append_then(id, value, Log::append)
    }

    /// Appends `id`'s record with `append`: [`Log::append`], or
    /// [`Log::append_unsynced`] for a record that may wait for the next
    /// record's fsync.
    fn append_then(
        &self,
        id: &str,
        value: Option<&TxnMetadata>,
        append: fn(&Log, bytes::Bytes, i32, Option<i64>) -> Result<AppendInfo, StorageError>,
    ) -> Result<Durable, ResponseError> {
        let (_, log) = self
            .inner
            .state_topic
            .partition_of(id)
            .ok_or(ResponseError::CoordinatorNotAvailable)?;
        let key = log_records::encode_key(id);
        let value = value.map(|m| log_records::encode_value(m, log_records::VALUE_VERSION));
        let batch = internal_log::encode_batch(&[(key, value)], self.now());
        match append(&log, batch, 0, None) {
            Ok(info) => Ok(Durable {
                log,
                end: info.last_offset + 1,
            }),
            Err(e) => {
                tracing::error!(transactional_id = id, error = %e, "writing {TRANSACTION_STATE_TOPIC} failed");
                Err(ResponseError::NotCoordinator)
            }
        }
    }

    /// Starts the change of `id` to `next`: appends it and marks it pending.
    fn begin(
        &self,
        entries: &mut HashMap<String, Entry>,
        id: &str,
        next: &TxnMetadata,
    ) -> Result<Durable, ResponseError> {
        let entry = entries
            .get_mut(id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        let durable = self.append(id, Some(next))?;
        entry.pending = Some(next.state);
        Ok(durable)
    }

    /// Waits for a begun change to be durable, then applies it (or, if it
    /// failed, clears the pending mark and leaves the old state).
    async fn finish(
        &self,
        id: &str,
        next: TxnMetadata,
        durable: Durable,
    ) -> Result<(), ResponseError> {
        let outcome = durable.log.wait_durable(durable.end).await;
        let _wake = WakeOnDrop(&self.inner.changed);
        let mut entries = self.inner.entries.lock();
        let Some(entry) = entries.get_mut(id) else {
            return Err(ResponseError::InvalidProducerIdMapping);
        };
        entry.pending = None;
        match outcome {
            Ok(()) => {
                entry.meta = next;
                Ok(())
            }
            Err(e) => {
                tracing::error!(transactional_id = id, error = %e, "{TRANSACTION_STATE_TOPIC} record not durable");
                Err(ResponseError::NotCoordinator)
            }
        }
    }

    /// The current state of `id`.
    #[cfg(test)]
    pub(crate) fn metadata(&self, id: &str) -> Option<TxnMetadata> {
        self.inner.entries.lock().get(id).map(|e| e.meta.clone())
    }
}

/// Wakes the requests waiting out a change (`concurrent.rs`) once the
/// change is applied and the entries' lock released.
struct WakeOnDrop<'a>(&'a tokio::sync::Notify);

impl Drop for WakeOnDrop<'_> {
    fn drop(&mut self) {
        self.0.notify_waiters();
    }
}

/// Errors of a transition Kafka would never attempt: a broker bug, so the
/// client gets UNKNOWN_SERVER_ERROR and the log says why.
fn illegal(id: &str, e: metadata::IllegalTransition) -> ResponseError {
    tracing::error!(transactional_id = id, error = %e, "refused transaction transition");
    ResponseError::UnknownServerError
}
