//! Waiting out a change in progress instead of answering
//! CONCURRENT_TRANSACTIONS at once.
//!
//! While a transactional id's state change is being made durable (Kafka's
//! `pendingState`), or its markers are being written, Kafka
//! answers every other request for it with CONCURRENT_TRANSACTIONS and the
//! client retries after its backoff (librdkafka: 100 ms and more). The
//! commonest case is a producer's next transaction starting right after a
//! commit, while its markers are still being made durable. So
//! the coordinator waits for the change to finish, up to
//! `concurrent_wait`, and answers then; past that it answers
//! CONCURRENT_TRANSACTIONS as Kafka does.

use std::future::Future;

use kafka_protocol::error::ResponseError;

use super::partitions::PartitionResult;
use super::TransactionCoordinator;

impl TransactionCoordinator {
    /// Runs `attempt` until it answers something other than
    /// CONCURRENT_TRANSACTIONS or `concurrent_wait` has passed, waiting for
    /// a change of any transactional id between attempts.
    pub(super) async fn waiting_out_changes<T, F, Fut>(
        &self,
        mut attempt: F,
    ) -> Result<T, ResponseError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ResponseError>>,
    {
        let deadline = tokio::time::Instant::now() + self.config().concurrent_wait;
        loop {
            // Registered before the attempt, so a change finishing in
            // between still wakes this waiter.
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match attempt().await {
                Err(ResponseError::ConcurrentTransactions)
                    if tokio::time::Instant::now() < deadline =>
                {
                    if tokio::time::timeout_at(deadline, changed).await.is_err() {
                        return Err(ResponseError::ConcurrentTransactions);
                    }
                }
                other => return other,
            }
        }
    }
}

/// The coordinator's requests, each waiting out changes in progress.
impl TransactionCoordinator {
    /// InitProducerId with a transactional id (see `init_producer_id_once`).
    pub(crate) async fn init_producer_id(
        &self,
        transactional_id: &str,
        transaction_timeout_ms: i32,
        producer_id: i64,
        producer_epoch: i16,
        enable_2pc: bool,
    ) -> Result<(i64, i16), ResponseError> {
        self.waiting_out_changes(|| {
            self.init_producer_id_once(
                transactional_id,
                transaction_timeout_ms,
                producer_id,
                producer_epoch,
                enable_2pc,
            )
        })
        .await
    }

    /// AddPartitionsToTxn (see `add_partitions_once`).
    pub(crate) async fn add_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
        verify_only: bool,
    ) -> Result<Vec<PartitionResult>, ResponseError> {
        self.waiting_out_changes(|| {
            self.add_partitions_once(
                transactional_id,
                producer_id,
                producer_epoch,
                partitions,
                verify_only,
            )
        })
        .await
    }

    /// AddOffsetsToTxn (see `add_offsets_once`).
    pub(crate) async fn add_offsets(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        group_id: &str,
    ) -> Result<(), ResponseError> {
        self.waiting_out_changes(|| {
            self.add_offsets_once(transactional_id, producer_id, producer_epoch, group_id)
        })
        .await
    }

    /// The produce path's and TxnOffsetCommit's check (see
    /// `verify_or_add_partition_once`).
    pub(crate) async fn verify_or_add_partition(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        topic: &str,
        partition: i32,
        add: bool,
    ) -> Result<(), ResponseError> {
        self.waiting_out_changes(|| {
            self.verify_or_add_partition_once(
                transactional_id,
                producer_id,
                producer_epoch,
                topic,
                partition,
                add,
            )
        })
        .await
    }

    /// EndTxn (see `end_txn_once`).
    pub(crate) async fn end_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        client_transaction_version: i16,
    ) -> Result<(i64, i16), ResponseError> {
        self.waiting_out_changes(|| {
            self.end_txn_once(
                transactional_id,
                producer_id,
                producer_epoch,
                commit,
                client_transaction_version,
            )
        })
        .await
    }
}
