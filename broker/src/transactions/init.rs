//! InitProducerId for a transactional id (Kafka's `handleInitProducerId`):
//! a first epoch for a new id, the next epoch for a known one, a new producer
//! id once the epochs are used up (KIP-360), and a fence of an Ongoing
//! transaction, which is aborted first while the client retries.

use std::collections::HashMap;

use kafka_protocol::error::ResponseError;

use super::metadata::{TxnMetadata, TxnState, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};
use super::{illegal, Durable, Entry, TransactionCoordinator};

/// What InitProducerId does once validated.
enum InitStep {
    /// Persist this Empty state and answer with its id and epoch.
    Bump(TxnMetadata, Durable),
    /// Fence the ongoing transaction: persist this PrepareAbort, then abort.
    Fence(TxnMetadata, Durable),
    /// The epochs are used up: a new producer id is needed first.
    NeedProducerId,
}

impl TransactionCoordinator {
    /// InitProducerId with a transactional id. `producer_id`/`producer_epoch`
    /// are InitProducerId v3+'s fields for a producer recovering from an
    /// error (-1/-1 otherwise). `enable_2pc` (KIP-939) is refused as Kafka
    /// refuses it with `transaction.two.phase.commit.enable=false`.
    pub(super) async fn init_producer_id_once(
        &self,
        transactional_id: &str,
        transaction_timeout_ms: i32,
        producer_id: i64,
        producer_epoch: i16,
        enable_2pc: bool,
    ) -> Result<(i64, i16), ResponseError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        if enable_2pc {
            return Err(ResponseError::TransactionalIdAuthorizationFailed);
        }
        if transaction_timeout_ms <= 0 || transaction_timeout_ms > self.config().max_timeout_ms {
            return Err(ResponseError::InvalidTransactionTimeout);
        }
        let expected = match (producer_id, producer_epoch) {
            (NO_PRODUCER_ID, NO_PRODUCER_EPOCH) => None,
            (NO_PRODUCER_ID, _) | (_, NO_PRODUCER_EPOCH) => {
                return Err(ResponseError::InvalidRequest)
            }
            (id, epoch) => Some((id, epoch)),
        };
        if !self.is_ready() {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        let known = self.inner.entries.lock().contains_key(transactional_id);
        if !known {
            let pid = self.inner.producer_ids.next_producer_id().await?;
            let now = self.now();
            self.inner
                .entries
                .lock()
                .entry(transactional_id.to_string())
                .or_insert_with(|| Entry::new(TxnMetadata::new(pid, transaction_timeout_ms, now)));
        }
        let mut new_producer_id = None;
        let step = loop {
            let step = {
                let mut entries = self.inner.entries.lock();
                self.plan_init(
                    &mut entries,
                    transactional_id,
                    transaction_timeout_ms,
                    expected,
                    new_producer_id,
                )?
            };
            match step {
                InitStep::NeedProducerId => {
                    new_producer_id = Some(self.inner.producer_ids.next_producer_id().await?)
                }
                step => break step,
            }
        };
        match step {
            InitStep::Bump(next, durable) => {
                let answer = (next.producer_id, next.producer_epoch);
                self.finish(transactional_id, next, durable).await?;
                tracing::info!(
                    transactional_id,
                    producer_id = answer.0,
                    producer_epoch = answer.1,
                    "initialized transactional producer"
                );
                Ok(answer)
            }
            InitStep::Fence(next, durable) => {
                self.finish_fence(transactional_id, next, durable).await?;
                // The client retries; by then the abort is done and the
                // epoch is bumped once more for it.
                Err(ResponseError::ConcurrentTransactions)
            }
            InitStep::NeedProducerId => Err(ResponseError::UnknownServerError),
        }
    }

    fn plan_init(
        &self,
        entries: &mut HashMap<String, Entry>,
        id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        new_producer_id: Option<i64>,
    ) -> Result<InitStep, ResponseError> {
        let now = self.now();
        let entry = entries
            .get(id)
            .ok_or(ResponseError::CoordinatorNotAvailable)?;
        let meta = &entry.meta;
        if entry.pending.is_some() {
            return Err(ResponseError::ConcurrentTransactions);
        }
        // A recovering producer is fenced unless the id was just created, it
        // names the current producer id, or it retries a rotation whose
        // answer it lost (the previous id with an exhausted epoch).
        let valid_id = |(pid, epoch): (i64, i16)| {
            meta.producer_epoch == NO_PRODUCER_EPOCH
                || pid == meta.producer_id
                || (pid == meta.previous_producer_id && TxnMetadata::epoch_exhausted(epoch))
        };
        if !expected.is_none_or(valid_id) {
            return Err(ResponseError::ProducerFenced);
        }
        let next = match meta.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                return Err(ResponseError::ConcurrentTransactions)
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let rotate = TxnMetadata::epoch_exhausted(meta.producer_epoch)
                    && expected.is_none_or(|(_, epoch)| epoch == meta.producer_epoch);
                if rotate {
                    let Some(pid) = new_producer_id else {
                        return Ok(InitStep::NeedProducerId);
                    };
                    meta.rotate_producer_id(pid, timeout_ms, expected.is_some(), now)
                        .map_err(|e| illegal(id, e))?
                } else {
                    meta.bump_epoch(timeout_ms, expected.map(|(_, e)| e), now)
                        .map_err(|e| illegal(id, e))?
                        .ok_or(ResponseError::ProducerFenced)?
                }
            }
            TxnState::Ongoing => {
                let next = meta.fence_then_abort(now).map_err(|e| illegal(id, e))?;
                let durable = self.begin(entries, id, &next)?;
                return Ok(InitStep::Fence(next, durable));
            }
            TxnState::Dead | TxnState::PrepareEpochFence => {
                return Err(illegal(
                    id,
                    super::metadata::IllegalTransition {
                        from: meta.state,
                        to: TxnState::Empty,
                    },
                ))
            }
        };
        let durable = self.begin(entries, id, &next)?;
        Ok(InitStep::Bump(next, durable))
    }
}
