//! Ending transactions: EndTxn from the client (transaction versions 1 and
//! 2), the abort that follows a fence (InitProducerId or the timeout), and
//! the completion that writes markers and then Complete*.

use std::collections::HashMap;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::metadata::{TxnMetadata, TxnState, NO_PRODUCER_ID, TV_2};
use super::{illegal, Durable, Entry, TransactionCoordinator, COORDINATOR_EPOCH};

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
    /// producer id and epoch), otherwise 0. Answers once the markers are
    /// durable, so read_committed consumers see the outcome at once; the
    /// Complete* record follows.
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
        let done = self.spawn_completion(transactional_id.to_string(), next);
        done.await.map_err(|_| ResponseError::UnknownServerError)
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
    /// receiver gets the producer id and epoch to answer with once the
    /// markers are durable: the outcome is then decided and visible to
    /// read_committed consumers, and Complete* only records it (a restart
    /// before it is durable writes the markers again). Requests arriving
    /// while it is written wait for it (`concurrent.rs`).
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
        let mut done = Some(done);
        if let Ok(next) = prepared.complete(self.now()) {
            if let Some(done) = done.take() {
                let _ = done.send((next.producer_id, next.producer_epoch));
            }
        }
        loop {
            let now = self.now();
            let step = {
                let mut entries = self.inner.entries.lock();
                match entries.get(id) {
                    // Nothing else can change a Prepare*: every other call
                    // answers CONCURRENT_TRANSACTIONS until it completes.
                    Some(entry) if entry.meta == prepared && entry.pending.is_none() => {
                        match prepared.complete(now) {
                            Ok(next) => self
                                .begin(&mut entries, id, &next)
                                .map(|durable| (next, durable)),
                            Err(e) => Err(illegal(id, e)),
                        }
                    }
                    Some(entry) if entry.pending.is_some() => {
                        Err(ResponseError::ConcurrentTransactions)
                    }
                    _ => {
                        tracing::warn!(
                            transactional_id = id,
                            "transaction changed before its completion"
                        );
                        return;
                    }
                }
            };
            let completed = match step {
                Ok((next, durable)) => {
                    let answer = (next.producer_id, next.producer_epoch);
                    self.finish(id, next, durable).await.map(|()| answer)
                }
                Err(e) => Err(e),
            };
            match completed {
                Ok(answer) => {
                    if let Some(done) = done.take() {
                        let _ = done.send(answer);
                    }
                    return;
                }
                Err(e) => {
                    // The markers are durable, so the outcome is decided:
                    // answer now, and keep trying to record it.
                    if let (Some(done), Ok(next)) = (done.take(), prepared.complete(now)) {
                        let _ = done.send((next.producer_id, next.producer_epoch));
                    }
                    tracing::warn!(transactional_id = id, error = ?e, "persisting the transaction's completion failed; retrying");
                    backoff.wait().await;
                }
            }
        }
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
