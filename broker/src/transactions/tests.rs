//! Coordinator tests over a real `__transaction_state` in a temporary data
//! directory, with fake producer ids, fake markers and a hand-moved clock.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;

use super::metadata::{TxnMetadata, TxnState};
use super::*;
use crate::properties::BrokerProperties;

struct Ids(AtomicI64);

impl ProducerIdSource for Ids {
    fn next_producer_id(&self) -> BoxFuture<'_, Result<i64, ResponseError>> {
        let id = self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(id) })
    }
}

/// One marker write: producer id, epoch, commit, partitions.
type Written = (i64, i16, bool, Vec<(String, i32)>);

#[derive(Default)]
pub(super) struct Markers {
    pub(super) written: Mutex<Vec<Written>>,
    pub(super) failures_left: AtomicUsize,
    /// Held for writing by a test that wants marker writes to wait.
    gate: tokio::sync::RwLock<()>,
}

impl MarkerWriter for Markers {
    fn write_markers<'a>(
        &'a self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
        partitions: &'a [(String, i32)],
    ) -> BoxFuture<'a, Result<(), ResponseError>> {
        assert_eq!(coordinator_epoch, COORDINATOR_EPOCH);
        Box::pin(async move {
            let _open = self.gate.read().await;
            if self
                .failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(ResponseError::NotLeaderOrFollower);
            }
            self.written
                .lock()
                .push((producer_id, producer_epoch, commit, partitions.to_vec()));
            Ok(())
        })
    }
}

pub(super) struct Fixture {
    pub(super) dir: tempfile::TempDir,
    pub(super) cluster: Cluster,
    pub(super) txn: TransactionCoordinator,
    pub(super) markers: Arc<Markers>,
    pub(super) time: Arc<AtomicI64>,
}

pub(super) const T0: i64 = 1_700_000_000_000;
pub(super) const TIMEOUT: i32 = 60_000;

fn config() -> TransactionConfig {
    TransactionConfig {
        partitions: 3,
        max_timeout_ms: 900_000,
        id_expiration_ms: 604_800_000,
        abort_interval: Duration::from_millis(10),
        remove_interval: Duration::from_millis(10),
        retry_backoff: Duration::from_millis(1),
        offsets_partitions: 50,
        // Most tests look at the CONCURRENT_TRANSACTIONS answers themselves.
        concurrent_wait: Duration::ZERO,
    }
}

impl Fixture {
    pub(super) async fn new() -> Self {
        Self::open(tempfile::tempdir().unwrap(), T0).await
    }

    pub(super) async fn open(dir: tempfile::TempDir, now: i64) -> Self {
        Self::open_with(dir, now, config()).await
    }

    async fn open_with(dir: tempfile::TempDir, now: i64, config: TransactionConfig) -> Self {
        let cluster = Cluster::open(dir.path(), BrokerProperties::default()).unwrap();
        let markers = Arc::new(Markers::default());
        let time = Arc::new(AtomicI64::new(now));
        let clock_time = time.clone();
        let txn = TransactionCoordinator::open(
            &cluster,
            config,
            Arc::new(Ids(AtomicI64::new(1000))),
            markers.clone(),
            Arc::new(move || clock_time.load(Ordering::SeqCst)),
        )
        .unwrap();
        txn.ensure_state_topic(&cluster).await.unwrap();
        Fixture {
            dir,
            cluster,
            txn,
            markers,
            time,
        }
    }

    /// Closes the logs and opens everything again from the same directory.
    pub(super) async fn restart(self) -> Self {
        let now = self.time.load(Ordering::SeqCst);
        self.cluster.close();
        Self::open(self.dir, now).await
    }

    fn advance(&self, ms: i64) {
        self.time.fetch_add(ms, Ordering::SeqCst);
    }

    /// Starts `id` (the first producer id, 1000, epoch 0) and opens a
    /// transaction over `partitions`: where most tests begin.
    pub(super) async fn ongoing(&self, id: &str, partitions: &[(String, i32)]) {
        assert_eq!(
            self.txn.init_producer_id(id, TIMEOUT, -1, -1, false).await,
            Ok((1000, 0))
        );
        self.txn
            .add_partitions(id, 1000, 0, partitions, false)
            .await
            .unwrap();
    }

    pub(super) fn written(&self) -> Vec<Written> {
        self.markers.written.lock().clone()
    }

    /// Waits (bounded) for a background completion to reach `state`.
    pub(super) async fn settle(&self, id: &str, state: TxnState) -> TxnMetadata {
        for _ in 0..2000 {
            if let Some(meta) = self.txn.metadata(id) {
                if meta.state == state && self.txn.inner.entries.lock()[id].pending.is_none() {
                    return meta;
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("{id} never reached {state:?}: {:?}", self.txn.metadata(id));
    }

    /// Appends a state record directly, as a broker that crashed after it would have.
    pub(super) fn write_record(&self, id: &str, meta: &TxnMetadata) {
        let topic = self.cluster.topic(TRANSACTION_STATE_TOPIC).unwrap();
        let log = &topic.logs()[internal_log::partition_for(id, 3) as usize];
        let batch = internal_log::encode_batch(
            &[(
                log_records::encode_key(id),
                Some(log_records::encode_value(meta, 1)),
            )],
            T0,
        );
        log.append(batch, 0, None).unwrap();
        log.flush().unwrap();
    }
}

pub(super) fn tp(topic: &str, partition: i32) -> (String, i32) {
    (topic.to_string(), partition)
}

#[tokio::test]
async fn commit_writes_markers_before_complete_and_persists_every_step() {
    let f = Fixture::new().await;
    assert_eq!(
        f.txn.init_producer_id("tx", TIMEOUT, -1, -1, false).await,
        Ok((1000, 0))
    );
    f.txn
        .add_partitions("tx", 1000, 0, &[tp("a", 0), tp("b", 1)], false)
        .await
        .unwrap();
    f.txn.add_offsets("tx", 1000, 0, "group").await.unwrap();
    let offsets = tp(
        crate::groups::OFFSETS_TOPIC,
        internal_log::partition_for("group", 50),
    );
    assert_eq!(f.txn.end_txn("tx", 1000, 0, true, 0).await, Ok((1000, 0)));
    let done = f.settle("tx", TxnState::CompleteCommit).await;
    let written = f.written();
    assert_eq!(written.len(), 1);
    let (pid, epoch, commit, partitions) = &written[0];
    assert_eq!((*pid, *epoch, *commit), (1000, 0, true));
    assert!(partitions.contains(&offsets) && partitions.contains(&tp("a", 0)));
    // A retried EndTxn after completion is answered as a success.
    assert_eq!(f.txn.end_txn("tx", 1000, 0, true, 0).await, Ok((1000, 0)));
    assert_eq!(
        f.txn.end_txn("tx", 1000, 0, false, 0).await,
        Err(ResponseError::InvalidTxnState)
    );
    let f = f.restart().await;
    assert_eq!(f.txn.metadata("tx"), Some(done));
    assert!(f.txn.resume_pending().is_empty());
}

#[tokio::test]
async fn refusals_match_kafka() {
    let f = Fixture::new().await;
    assert_eq!(
        f.txn.init_producer_id("tx", 900_001, -1, -1, false).await,
        Err(ResponseError::InvalidTransactionTimeout)
    );
    assert_eq!(
        f.txn.init_producer_id("", TIMEOUT, -1, -1, false).await,
        Err(ResponseError::InvalidRequest)
    );
    assert_eq!(
        f.txn.end_txn("nobody", 1, 0, true, 0).await,
        Err(ResponseError::InvalidProducerIdMapping)
    );
    f.txn
        .init_producer_id("tx", TIMEOUT, -1, -1, false)
        .await
        .unwrap();
    assert_eq!(
        f.txn.end_txn("tx", 1000, 0, true, 0).await,
        Err(ResponseError::InvalidTxnState)
    );
    assert_eq!(
        f.txn
            .add_partitions("tx", 999, 0, &[tp("a", 0)], false)
            .await,
        Err(ResponseError::InvalidProducerIdMapping)
    );
    assert_eq!(
        f.txn
            .verify_or_add_partition("tx", 1000, 0, "a", 0, false)
            .await,
        Err(ResponseError::InvalidTxnState)
    );
    f.txn
        .add_partitions("tx", 1000, 0, &[tp("a", 0)], false)
        .await
        .unwrap();
    assert_eq!(
        f.txn
            .verify_or_add_partition("tx", 1000, 0, "a", 0, false)
            .await,
        Ok(())
    );
    let verified = f
        .txn
        .add_partitions("tx", 1000, 0, &[tp("a", 0), tp("a", 1)], true)
        .await
        .unwrap();
    assert_eq!(
        verified,
        vec![
            (tp("a", 0), Ok(())),
            (tp("a", 1), Err(ResponseError::TransactionAbortable))
        ]
    );
    let described = f.txn.describe(&["tx".to_string(), "nope".to_string()]);
    let tx = described[0].1.as_ref().unwrap();
    assert_eq!((tx.state, tx.start_ms), (TxnState::Ongoing, T0));
    assert_eq!(described[1].1, Err(ResponseError::TransactionalIdNotFound));
    let (listed, unknown) = f
        .txn
        .list(&["Ongoing".to_string(), "Bogus".to_string()], &[], -1);
    assert_eq!(listed.len(), 1);
    assert_eq!(unknown, vec!["Bogus".to_string()]);
    assert!(f.txn.list(&[], &[], 10).0.is_empty());
    f.advance(11);
    assert_eq!(f.txn.list(&[], &[1000], 10).0.len(), 1);
}

#[tokio::test]
async fn a_new_instance_fences_the_old_one_and_aborts_its_transaction() {
    let f = Fixture::new().await;
    f.ongoing("tx", &[tp("a", 0)]).await;
    assert_eq!(
        f.txn.init_producer_id("tx", TIMEOUT, -1, -1, false).await,
        Err(ResponseError::ConcurrentTransactions)
    );
    f.settle("tx", TxnState::CompleteAbort).await;
    assert_eq!(f.written(), vec![(1000, 1, false, vec![tp("a", 0)])]);
    assert_eq!(
        f.txn.init_producer_id("tx", TIMEOUT, -1, -1, false).await,
        Ok((1000, 2))
    );
    assert_eq!(
        f.txn
            .add_partitions("tx", 1000, 0, &[tp("a", 0)], false)
            .await,
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        f.txn.end_txn("tx", 1000, 1, true, 0).await,
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        for_produce(
            f.txn
                .verify_or_add_partition("tx", 1000, 0, "a", 0, false)
                .await
                .unwrap_err()
        ),
        ResponseError::InvalidProducerEpoch
    );
    // A recovering producer (InitProducerId v3+) with a stale epoch is fenced.
    assert_eq!(
        f.txn.init_producer_id("tx", TIMEOUT, 1000, 0, false).await,
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        f.txn.init_producer_id("tx", TIMEOUT, 1000, 2, false).await,
        Ok((1000, 3))
    );
}

#[tokio::test]
async fn the_timer_aborts_transactions_past_their_timeout() {
    let f = Fixture::new().await;
    f.ongoing("tx", &[tp("a", 0)]).await;
    f.advance(i64::from(TIMEOUT));
    f.txn.abort_timed_out().await;
    assert_eq!(f.txn.metadata("tx").unwrap().state, TxnState::Ongoing);
    f.advance(1);
    f.txn.abort_timed_out().await;
    let aborted = f.settle("tx", TxnState::CompleteAbort).await;
    assert_eq!(aborted.producer_epoch, 1);
    assert_eq!(f.written(), vec![(1000, 1, false, vec![tp("a", 0)])]);
    assert_eq!(
        f.txn.end_txn("tx", 1000, 0, true, 0).await,
        Err(ResponseError::ProducerFenced)
    );
}

#[tokio::test]
async fn transaction_version_2_bumps_the_epoch_at_every_end() {
    let f = Fixture::new().await;
    f.txn
        .init_producer_id("tx", TIMEOUT, -1, -1, false)
        .await
        .unwrap();
    f.txn
        .verify_or_add_partition("tx", 1000, 0, "a", 0, true)
        .await
        .unwrap();
    assert_eq!(f.txn.end_txn("tx", 1000, 0, true, 2).await, Ok((1000, 1)));
    f.settle("tx", TxnState::CompleteCommit).await;
    assert_eq!(f.written(), vec![(1000, 1, true, vec![tp("a", 0)])]);
    // The retry of that EndTxn (its answer lost) still carries epoch 0.
    assert_eq!(f.txn.end_txn("tx", 1000, 0, true, 2).await, Ok((1000, 1)));
    f.txn
        .verify_or_add_partition("tx", 1000, 1, "a", 0, true)
        .await
        .unwrap();
    assert_eq!(f.txn.end_txn("tx", 1000, 1, false, 2).await, Ok((1000, 2)));
    f.settle("tx", TxnState::CompleteAbort).await;
    let f = f.restart().await;
    let meta = f.txn.metadata("tx").unwrap();
    assert_eq!((meta.producer_epoch, meta.client_tv), (2, 2));
}

#[tokio::test]
async fn exhausted_epochs_move_to_a_new_producer_id() {
    let f = Fixture::new().await;
    let mut meta = TxnMetadata::new(7, TIMEOUT, T0);
    meta.producer_epoch = i16::MAX - 1;
    meta.state = TxnState::CompleteCommit;
    meta.start_ms = T0;
    f.write_record("old", &meta);
    meta.state = TxnState::Ongoing;
    meta.client_tv = 2;
    meta.partitions.insert(tp("a", 0));
    f.write_record("v2", &meta);
    let f = f.restart().await;
    // KIP-360: InitProducerId rotates the producer id.
    assert_eq!(
        f.txn.init_producer_id("old", TIMEOUT, -1, -1, false).await,
        Ok((1000, 0))
    );
    assert_eq!(f.txn.metadata("old").unwrap().previous_producer_id, 7);
    // KIP-890: EndTxn v5 answers with the next producer id.
    assert_eq!(
        f.txn.end_txn("v2", 7, i16::MAX - 1, true, 2).await,
        Ok((1001, 0))
    );
    f.settle("v2", TxnState::CompleteCommit).await;
    assert_eq!(f.written(), vec![(7, i16::MAX, true, vec![tp("a", 0)])]);
    // Its retry with the old id and epoch is recognised.
    assert_eq!(
        f.txn.end_txn("v2", 7, i16::MAX - 1, true, 2).await,
        Ok((1001, 0))
    );
}

#[tokio::test]
async fn idle_ids_expire_with_a_tombstone() {
    let f = Fixture::new().await;
    f.txn
        .init_producer_id("tx", TIMEOUT, -1, -1, false)
        .await
        .unwrap();
    f.txn.remove_expired().await;
    assert!(f.txn.metadata("tx").is_some());
    f.advance(604_800_000);
    f.txn.remove_expired().await;
    assert!(f.txn.metadata("tx").is_none());
    let f = f.restart().await;
    assert!(f.txn.metadata("tx").is_none());
    assert_eq!(
        f.txn.describe(&["tx".to_string()])[0].1,
        Err(ResponseError::TransactionalIdNotFound)
    );
}

/// EndTxn is answered once Prepare* is durable (as Kafka answers); until
/// the markers are written nothing else moves.
#[tokio::test]
async fn nothing_moves_while_markers_are_being_written() {
    let f = Fixture::new().await;
    f.ongoing("tx", &[tp("a", 0)]).await;
    let closed = f.markers.gate.write().await;
    assert_eq!(f.txn.end_txn("tx", 1000, 0, true, 0).await, Ok((1000, 0)));
    assert_eq!(f.txn.metadata("tx").unwrap().state, TxnState::PrepareCommit);
    let busy = Err(ResponseError::ConcurrentTransactions);
    assert_eq!(f.txn.end_txn("tx", 1000, 0, true, 0).await, busy);
    assert_eq!(
        f.txn
            .add_partitions("tx", 1000, 0, &[tp("b", 0)], false)
            .await,
        Err(ResponseError::ConcurrentTransactions)
    );
    assert_eq!(
        f.txn.init_producer_id("tx", TIMEOUT, -1, -1, false).await,
        Err(ResponseError::ConcurrentTransactions)
    );
    assert_eq!(
        f.txn.end_txn("tx", 1000, 0, false, 0).await,
        Err(ResponseError::InvalidTxnState)
    );
    // Complete* is not written before the markers are.
    let replayed = replay::load(&f.cluster.topic(TRANSACTION_STATE_TOPIC).unwrap().logs()).unwrap();
    assert_eq!(replayed["tx"].state, TxnState::PrepareCommit);
    assert!(f.written().is_empty());
    drop(closed);
    f.settle("tx", TxnState::CompleteCommit).await;
    assert_eq!(f.written().len(), 1);
}

#[tokio::test]
async fn a_request_during_a_commit_waits_for_it_instead_of_bouncing() {
    let config = TransactionConfig {
        concurrent_wait: Duration::from_secs(10),
        ..config()
    };
    let f = Fixture::open_with(tempfile::tempdir().unwrap(), T0, config).await;
    f.ongoing("tx", &[tp("a", 0)]).await;
    let closed = f.markers.gate.write().await;
    let ending = tokio::spawn({
        let txn = f.txn.clone();
        async move { txn.end_txn("tx", 1000, 0, true, 0).await }
    });
    for _ in 0..2000 {
        if f.txn.metadata("tx").unwrap().state == TxnState::PrepareCommit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // The producer's next transaction starts while the commit completes.
    let adding = tokio::spawn({
        let txn = f.txn.clone();
        async move {
            txn.add_partitions("tx", 1000, 0, &[tp("b", 0)], false)
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!adding.is_finished(), "it waits rather than bouncing");
    drop(closed);
    assert_eq!(ending.await.unwrap(), Ok((1000, 0)));
    let added = adding.await.unwrap().unwrap();
    assert_eq!(added, vec![(tp("b", 0), Ok(()))]);
    let meta = f.txn.metadata("tx").unwrap();
    assert_eq!(meta.state, TxnState::Ongoing);
    assert_eq!(
        meta.partitions.iter().cloned().collect::<Vec<_>>(),
        vec![tp("b", 0)]
    );
}
