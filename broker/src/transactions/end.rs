//! Ending transactions: EndTxn from the client (transaction versions 1 and
//! 2), the abort that follows a fence (InitProducerId or the timeout), and
//! the completion that writes markers and then Complete*.

use std::collections::HashMap;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use strata_storage::Log;
use tokio::sync::oneshot;

use super::metadata::{TxnMetadata, TxnState, NO_PRODUCER_ID, TV_2};
use super::{illegal, Durable, Entry, TransactionCoordinator, COORDINATOR_EPOCH};

/// How long a Complete* waits for a later record's fsync to cover it
/// before it is synced on its own (`record_completion`).
const COMPLETION_SYNC_DELAY: Duration = Duration::from_millis(50);

enum EndStep {
    /// Nothing to write: a retry of an end that already completed.
    Done(i64, i16),
    /// The epochs are used up (transaction version 2): a new producer id first.
    NeedProducerId,
    Prepared(TxnMetadata, Durable),
}

impl TransactionCoordinator {
    /// EndTxn. `client_transaction_version` is 2 for EndTxn v5+ (KIP-890:
    /// the epoch is bumped at every end and the answer carries the new
    /// producer id and epoch), otherwise 0.
    ///
    /// Answers once the Prepare* is durable, as Kafka's
    /// `TransactionCoordinator.endTransaction` does ("we can respond to the
    /// client immediately and continue to write the txn markers"): the
    /// outcome is decided then, and a crash before the markers are durable
    /// writes them at start-up (`resume_pending`). The markers and the
    /// Complete* follow in their own task; read_committed consumers see the
    /// outcome when the markers are durable, and the producer's next
    /// request for this id waits for that (`concurrent.rs`). Waiting for the
    /// markers here instead made every commit ~1 ms longer (one more round
    /// of fsyncs on the producer's critical path: p99 of a 100-record
    /// transaction 12-13 ms against 8-10 ms, `compat-tests/perf/idempotence_txn.py`).
    pub(super) async fn end_txn_once(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        client_transaction_version: i16,
    ) -> Result<(i64, i16), ResponseError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        let mut new_producer_id = None;
        let (next, durable) = loop {
            let step = {
                let mut entries = self.inner.entries.lock();
                self.plan_end(
                    &mut entries,
                    transactional_id,
                    (producer_id, producer_epoch),
                    commit,
                    client_transaction_version,
                    new_producer_id,
                )?
            };
            match step {
                EndStep::Done(pid, epoch) => return Ok((pid, epoch)),
                EndStep::NeedProducerId => {
                    new_producer_id = Some(self.inner.producer_ids.next_producer_id().await?)
                }
                EndStep::Prepared(next, durable) => break (next, durable),
            }
        };
        self.finish(transactional_id, next.clone(), durable).await?;
        // The completion starts whatever the answer: a durable Prepare*
        // must always get its markers.
        let completed = next.complete(self.now());
        drop(self.spawn_completion(transactional_id.to_string(), next));
        completed
            .map(|c| (c.producer_id, c.producer_epoch))
            .map_err(|e| illegal(transactional_id, e))
    }

    /// Kafka's `endTransaction` checks for a request from the client.
    fn plan_end(
        &self,
        entries: &mut HashMap<String, Entry>,
        id: &str,
        (pid, epoch): (i64, i16),
        commit: bool,
        client_tv: i16,
        new_producer_id: Option<i64>,
    ) -> Result<EndStep, ResponseError> {
        let entry = entries
            .get(id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        let meta = &entry.meta;
        let tv2 = meta.supports_epoch_bump();
        // A retry of an end that bumped the epoch, or that rotated the
        // producer id because the epochs ran out.
        let retry_on_bump = tv2 && i32::from(meta.producer_epoch) == i32::from(epoch) + 1;
        let retry_on_overflow = tv2
            && meta.previous_producer_id == pid
            && epoch == i16::MAX - 1
            && meta.producer_epoch == 0;
        let valid_epoch = if tv2 {
            match meta.state {
                TxnState::PrepareCommit | TxnState::PrepareAbort => retry_on_bump,
                TxnState::CompleteCommit | TxnState::CompleteAbort => {
                    retry_on_bump || retry_on_overflow
                }
                _ => epoch == meta.producer_epoch,
            }
        } else {
            epoch == meta.producer_epoch
        };
        if meta.producer_id != pid && !retry_on_overflow {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if !valid_epoch {
            return Err(ResponseError::ProducerFenced);
        }
        if entry.pending.is_some() {
            return Err(ResponseError::ConcurrentTransactions);
        }
        let same_outcome = |prepare: TxnState| {
            if (prepare == TxnState::PrepareCommit) == commit {
                Ok(())
            } else {
                tracing::debug!(transactional_id = id, state = ?meta.state, commit, "end of a transaction in another outcome");
                Err(ResponseError::InvalidTxnState)
            }
        };
        match meta.state {
            TxnState::Ongoing => {
                let next_pid =
                    if client_tv >= TV_2 && TxnMetadata::epoch_exhausted(meta.producer_epoch) {
                        match new_producer_id {
                            Some(pid) => pid,
                            None => return Ok(EndStep::NeedProducerId),
                        }
                    } else {
                        NO_PRODUCER_ID
                    };
                let next = meta
                    .prepare_end(commit, client_tv, next_pid, self.now())
                    .map_err(|e| illegal(id, e))?;
                let durable = self.begin(entries, id, &next)?;
                Ok(EndStep::Prepared(next, durable))
            }
            TxnState::CompleteCommit => same_outcome(TxnState::PrepareCommit)
                .map(|()| EndStep::Done(meta.producer_id, meta.producer_epoch)),
            TxnState::CompleteAbort => same_outcome(TxnState::PrepareAbort)
                .map(|()| EndStep::Done(meta.producer_id, meta.producer_epoch)),
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                same_outcome(meta.state)?;
                Err(ResponseError::ConcurrentTransactions)
            }
            TxnState::Empty => Err(ResponseError::InvalidTxnState),
            TxnState::Dead | TxnState::PrepareEpochFence => Err(illegal(
                id,
                super::metadata::IllegalTransition {
                    from: meta.state,
                    to: TxnState::PrepareCommit,
                },
            )),
        }
    }

    /// Finishes a fence's PrepareAbort and starts writing its abort markers.
    pub(super) async fn finish_fence(
        &self,
        id: &str,
        next: TxnMetadata,
        durable: Durable,
    ) -> Result<(), ResponseError> {
        self.finish(id, next.clone(), durable).await?;
        tracing::info!(
            transactional_id = id,
            producer_epoch = next.producer_epoch,
            "fenced the producer; aborting its transaction"
        );
        drop(self.spawn_completion(id.to_string(), next));
        Ok(())
    }

    /// Writes the markers of a persisted Prepare* and then its Complete*, in
    /// a task of its own so a client that goes away cannot stop it. The
    /// receiver gets the completed producer id and epoch once the markers
    /// are durable (tests wait on it): the outcome is then
    /// visible to read_committed consumers, and Complete* only records it
    /// (a restart before it is durable writes the markers again). Requests
    /// arriving while it is written wait for it (`concurrent.rs`).
    pub(super) fn spawn_completion(
        &self,
        id: String,
        prepared: TxnMetadata,
    ) -> oneshot::Receiver<(i64, i16)> {
        let (tx, rx) = oneshot::channel();
        let coordinator = self.clone();
        tokio::spawn(async move { coordinator.complete(&id, prepared, tx).await });
        rx
    }

    async fn complete(&self, id: &str, prepared: TxnMetadata, done: oneshot::Sender<(i64, i16)>) {
        let commit = prepared.state == TxnState::PrepareCommit;
        let partitions: Vec<(String, i32)> = prepared.partitions.iter().cloned().collect();
        let mut backoff = Backoff::new(self.config().retry_backoff);
        while !partitions.is_empty() {
            let written = self
                .inner
                .markers
                .write_markers(
                    prepared.producer_id,
                    prepared.producer_epoch,
                    COORDINATOR_EPOCH,
                    commit,
                    &partitions,
                )
                .await;
            match written {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(transactional_id = id, error = ?e, "writing transaction markers failed; retrying");
                    backoff.wait().await;
                }
            }
        }
        if let Ok(next) = prepared.complete(self.now()) {
            let _ = done.send((next.producer_id, next.producer_epoch));
        }
        loop {
            match self.record_completion(id, &prepared) {
                Ok(()) => return,
                Err(ResponseError::InvalidTxnState) => {
                    tracing::warn!(
                        transactional_id = id,
                        "transaction changed before its completion"
                    );
                    return;
                }
                Err(e) => {
                    tracing::warn!(transactional_id = id, error = ?e, "persisting the transaction's completion failed; retrying");
                    backoff.wait().await;
                }
            }
        }
    }

    /// Appends the Complete* of `prepared` and applies it at once, without
    /// waiting for its fsync. It only records an outcome the durable markers
    /// already decided: if a crash loses it, the Prepare* is the id's last
    /// durable record and recovery writes the markers again and completes
    /// (markers are written at least once). Every later record of the id
    /// (the next transaction's Ongoing, an epoch bump, a tombstone) lands
    /// in the same partition after it, so the fsync that any of those waits
    /// for covers it: no change made durable can rest on a lost Complete*.
    /// This spares every transaction one fsync on its critical path (the
    /// producer's next transaction would wait for it).
    ///
    /// Nor does the append start an fsync of its own: under load the next
    /// transaction's first record follows at once, and its fsync would
    /// otherwise queue behind this one's (two fsyncs where one covers both).
    /// When nothing follows within [`COMPLETION_SYNC_DELAY`], a task syncs
    /// it, so `__transaction_state`'s readers see it soon after.
    /// `InvalidTxnState` when something else changed the id meanwhile.
    fn record_completion(&self, id: &str, prepared: &TxnMetadata) -> Result<(), ResponseError> {
        let now = self.now();
        let _wake = super::WakeOnDrop(&self.inner.changed);
        let mut entries = self.inner.entries.lock();
        match entries.get(id) {
            Some(entry) if entry.pending.is_some() => {
                return Err(ResponseError::ConcurrentTransactions)
            }
            // Nothing else can change a Prepare*: every other call
            // answers CONCURRENT_TRANSACTIONS until it completes.
            Some(entry) if entry.meta == *prepared => {}
            _ => return Err(ResponseError::InvalidTxnState),
        }
        let next = prepared.complete(now).map_err(|e| illegal(id, e))?;
        let Durable { log, end } = self.append_then(id, Some(&next), Log::append_unsynced)?;
        if let Some(entry) = entries.get_mut(id) {
            entry.meta = next;
        }
        tokio::spawn(async move {
            tokio::time::sleep(COMPLETION_SYNC_DELAY).await;
            match log.wait_durable(end).await {
                // Closed at shutdown: closing synced it.
                Ok(()) | Err(strata_storage::StorageError::Closed) => {}
                Err(e) => tracing::warn!(error = %e, "syncing a transaction's completion failed"),
            }
        });
        Ok(())
    }
}

/// Exponential backoff from `first` up to 100 times it.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(first: Duration) -> Self {
        Backoff {
            next: first,
            max: first * 100,
        }
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
    }
}
