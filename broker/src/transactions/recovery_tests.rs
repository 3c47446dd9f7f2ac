//! Coordinator tests across a restart: what a broker that stopped (or
//! crashed) between a transaction's Prepare* and Complete* finishes when it
//! opens `__transaction_state` again.

use std::sync::atomic::Ordering;

use super::metadata::{TxnMetadata, TxnState};
use super::tests::{tp, Fixture, T0, TIMEOUT};
use super::*;

#[tokio::test]
async fn a_restart_completes_prepared_transactions_and_nothing_else() {
    let f = Fixture::new().await;
    let mut prepared = TxnMetadata::new(42, TIMEOUT, T0);
    prepared.producer_epoch = 3;
    prepared.state = TxnState::PrepareCommit;
    prepared.start_ms = T0;
    prepared.partitions.insert(tp("a", 0));
    f.write_record("prepared", &prepared);
    let mut committed = prepared.clone();
    committed.producer_id = 43;
    committed.state = TxnState::CompleteCommit;
    committed.partitions.clear();
    f.write_record("committed", &committed);
    let mut ongoing = prepared.clone();
    ongoing.producer_id = 44;
    ongoing.state = TxnState::Ongoing;
    f.write_record("ongoing", &ongoing);
    let f = f.restart().await;
    f.markers.failures_left.store(2, Ordering::SeqCst);
    let waiters = f.txn.resume_pending();
    assert_eq!(waiters.len(), 1);
    for waiter in waiters {
        assert_eq!(waiter.await.unwrap(), (42, 3));
    }
    assert_eq!(f.written(), vec![(42, 3, true, vec![tp("a", 0)])]);
    f.settle("prepared", TxnState::CompleteCommit).await;
    assert_eq!(f.txn.metadata("committed").unwrap(), committed);
    assert_eq!(f.txn.metadata("ongoing").unwrap().state, TxnState::Ongoing);
    let f = f.restart().await;
    assert_eq!(
        f.txn.metadata("prepared").unwrap().state,
        TxnState::CompleteCommit
    );
}

#[tokio::test]
async fn a_lost_complete_is_redone_from_its_prepare() {
    let f = Fixture::new().await;
    f.ongoing("tx", &[tp("a", 0)]).await;
    assert_eq!(f.txn.end_txn("tx", 1000, 0, true, 0).await, Ok((1000, 0)));
    let done = f.settle("tx", TxnState::CompleteCommit).await;
    // A machine crash before any fsync covered the Complete* (it starts
    // none of its own): the log ends at the PrepareCommit.
    let topic = f.cluster.topic(TRANSACTION_STATE_TOPIC).unwrap();
    let log = topic.logs()[internal_log::partition_for("tx", 3) as usize].clone();
    let complete = internal_log::encode_batch(
        &[(
            log_records::encode_key("tx"),
            Some(log_records::encode_value(&done, log_records::VALUE_VERSION)),
        )],
        T0,
    );
    f.cluster.close();
    let segment = std::fs::read_dir(log.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    let size = file.metadata().unwrap().len();
    file.set_len(size - complete.len() as u64).unwrap();
    drop(file);

    let f = Fixture::open(f.dir, T0).await;
    assert_eq!(f.txn.metadata("tx").unwrap().state, TxnState::PrepareCommit);
    let waiters = f.txn.resume_pending();
    assert_eq!(waiters.len(), 1);
    for waiter in waiters {
        assert_eq!(waiter.await.unwrap(), (1000, 0));
    }
    // The markers go out again (at least once), then the Complete*.
    assert_eq!(f.written(), vec![(1000, 0, true, vec![tp("a", 0)])]);
    assert_eq!(
        f.settle("tx", TxnState::CompleteCommit).await.producer_id,
        1000
    );
}
