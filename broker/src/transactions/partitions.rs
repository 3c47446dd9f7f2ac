//! Adding partitions to a transaction: AddPartitionsToTxn (the client's
//! v0-3 and the broker's batched v4+ with `verify_only`), AddOffsetsToTxn,
//! and the produce path's verification (KIP-890).

use kafka_protocol::error::ResponseError;

use super::metadata::{TxnState, TV_2};
use super::{illegal, TransactionCoordinator};
use crate::groups::OFFSETS_TOPIC;
use crate::internal_log;

/// One partition's outcome: `Ok` or its error code.
pub(crate) type PartitionResult = ((String, i32), Result<(), ResponseError>);

impl TransactionCoordinator {
    /// AddPartitionsToTxn for one transaction. `Err` is the error of every
    /// partition; with `verify_only` each partition is checked on its own
    /// (TRANSACTION_ABORTABLE when it was not added), as Kafka's
    /// `handleVerifyPartitionsInTransaction`.
    pub(super) async fn add_partitions_once(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
        verify_only: bool,
    ) -> Result<Vec<PartitionResult>, ResponseError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        if verify_only {
            let entries = self.inner.entries.lock();
            let entry = entries
                .get(transactional_id)
                .ok_or(ResponseError::InvalidProducerIdMapping)?;
            let meta = &entry.meta;
            if meta.producer_id != producer_id {
                return Err(ResponseError::InvalidProducerIdMapping);
            }
            if meta.producer_epoch != producer_epoch {
                return Err(ResponseError::ProducerFenced);
            }
            if meta.state.is_prepare() {
                return Err(ResponseError::ConcurrentTransactions);
            }
            return Ok(partitions
                .iter()
                .map(|p| {
                    let added = meta.partitions.contains(p);
                    (
                        p.clone(),
                        added
                            .then_some(())
                            .ok_or(ResponseError::TransactionAbortable),
                    )
                })
                .collect());
        }
        self.add(
            transactional_id,
            producer_id,
            producer_epoch,
            partitions,
            None,
        )
        .await?;
        Ok(partitions.iter().map(|p| (p.clone(), Ok(()))).collect())
    }

    /// AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the
    /// transaction, so its offset commits get the transaction's marker.
    pub(super) async fn add_offsets_once(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        group_id: &str,
    ) -> Result<(), ResponseError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        let partition = internal_log::partition_for(group_id, self.config().offsets_partitions);
        self.add(
            transactional_id,
            producer_id,
            producer_epoch,
            &[(OFFSETS_TOPIC.to_string(), partition)],
            None,
        )
        .await
    }

    /// The produce path's check of a transactional batch. With `add` (Produce
    /// v12 from a transaction version 2 producer) the partition joins the
    /// transaction implicitly; otherwise it must have been added, or the
    /// batch gets INVALID_TXN_STATE. Errors are the coordinator's: map them
    /// with [`for_produce`] for the Produce response.
    pub(super) async fn verify_or_add_partition_once(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        topic: &str,
        partition: i32,
        add: bool,
    ) -> Result<(), ResponseError> {
        let tp = [(topic.to_string(), partition)];
        if add {
            if transactional_id.is_empty() {
                return Err(ResponseError::InvalidRequest);
            }
            return self
                .add(
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    &tp,
                    Some(TV_2),
                )
                .await;
        }
        let results = self
            .add_partitions(transactional_id, producer_id, producer_epoch, &tp, true)
            .await?;
        match results.into_iter().next() {
            Some((_, Ok(()))) => Ok(()),
            _ => Err(ResponseError::InvalidTxnState),
        }
    }

    /// Kafka's `handleAddPartitionsToTransaction`. `client_tv` is set by an
    /// implicit add (transaction version 2); explicit adds keep the id's.
    async fn add(
        &self,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
        client_tv: Option<i16>,
    ) -> Result<(), ResponseError> {
        let (next, durable) = {
            let mut entries = self.inner.entries.lock();
            let entry = entries
                .get(id)
                .ok_or(ResponseError::InvalidProducerIdMapping)?;
            let meta = &entry.meta;
            if meta.producer_id != producer_id {
                return Err(ResponseError::InvalidProducerIdMapping);
            }
            if meta.producer_epoch != producer_epoch {
                return Err(ResponseError::ProducerFenced);
            }
            if entry.pending.is_some() || meta.state.is_prepare() {
                return Err(ResponseError::ConcurrentTransactions);
            }
            if meta.state == TxnState::Ongoing
                && partitions.iter().all(|p| meta.partitions.contains(p))
                && client_tv.is_none_or(|tv| tv == meta.client_tv)
            {
                return Ok(());
            }
            let next = meta
                .add_partitions(
                    partitions.iter().cloned(),
                    client_tv.unwrap_or(meta.client_tv),
                    self.now(),
                )
                .map_err(|e| illegal(id, e))?;
            let durable = self.begin(&mut entries, id, &next)?;
            (next, durable)
        };
        self.finish(id, next, durable).await
    }
}

/// A coordinator error as the Produce response carries it, as Kafka's
/// `AddPartitionsToTxnManager` and `ReplicaManager` convert them: a fenced
/// producer sees INVALID_PRODUCER_EPOCH, and coordinator trouble becomes the
/// retriable NOT_ENOUGH_REPLICAS every producer version understands.
pub(crate) fn for_produce(e: ResponseError) -> ResponseError {
    match e {
        ResponseError::ProducerFenced => ResponseError::InvalidProducerEpoch,
        ResponseError::ConcurrentTransactions
        | ResponseError::CoordinatorNotAvailable
        | ResponseError::NotCoordinator
        | ResponseError::CoordinatorLoadInProgress => ResponseError::NotEnoughReplicas,
        other => other,
    }
}
