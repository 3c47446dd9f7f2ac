//! Transactional offsets: pending until the transaction's marker, then
//! committed or dropped, live and on replay.

use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;

use super::classic::{StoredGroup, StoredMember};
use super::*;
use crate::internal_log::{encode_marker, TxnMarker};

const PID: i64 = 1000;
const EPOCH: i16 = 2;

async fn open(dir: &Path) -> (Cluster, GroupCoordinator) {
    super::test_support::open(dir, 16).await
}

/// A coordinator on its own temporary directory, which the caller keeps alive.
async fn fresh() -> (tempfile::TempDir, Cluster, GroupCoordinator) {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, c) = open(dir.path()).await;
    (dir, cluster, c)
}

fn offset(topic: &str, partition: i32, offset: i64) -> OffsetCommit {
    OffsetCommit {
        topic: topic.into(),
        partition,
        offset,
        leader_epoch: 0,
        metadata: None,
    }
}

fn simple() -> Committer {
    Committer {
        generation_id: -1,
        member_id: String::new(),
        group_instance_id: None,
    }
}

fn member(generation_id: i32, member_id: &str, instance: Option<&str>) -> Committer {
    Committer {
        generation_id,
        member_id: member_id.into(),
        group_instance_id: instance.map(str::to_string),
    }
}

/// The committed offset of g's partition, or the fetch error with require_stable.
fn fetched(
    c: &GroupCoordinator,
    topic: &str,
    partition: i32,
) -> Result<Option<i64>, ResponseError> {
    let tp = [(topic.to_string(), partition)];
    let unstable = c.fetch_offsets("g", Some(&tp), true).remove(0).1;
    let plain = c.fetch_offsets("g", Some(&tp), false).remove(0).1;
    let plain = plain
        .expect("no error without require_stable")
        .map(|c| c.offset);
    unstable.map(|_| plain)
}

/// A non-transactional commit to g, as a simple consumer makes it.
async fn plain_commit(c: &GroupCoordinator, offsets: Vec<OffsetCommit>) {
    c.commit("g", &simple(), offsets).await.unwrap();
}

async fn txn_commit(c: &GroupCoordinator, pid: i64, offsets: Vec<OffsetCommit>) {
    let results = c
        .txn_offset_commit("g", pid, EPOCH, None, offsets)
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
}

/// Appends a COMMIT or ABORT marker to the only `__consumer_offsets` partition.
async fn append_marker(c: &GroupCoordinator, pid: i64, marker: TxnMarker) {
    let log = c.offsets_topic.logs()[0].clone();
    let info = log
        .append(encode_marker(pid, EPOCH, marker, 5), 0, None)
        .unwrap();
    log.wait_durable(info.last_offset + 1).await.unwrap();
}

#[tokio::test]
async fn pending_offsets_are_invisible_until_the_transaction_commits() {
    let (_dir, cluster, c) = fresh().await;
    plain_commit(&c, vec![offset("t", 0, 3)]).await;
    txn_commit(&c, PID, vec![offset("t", 0, 10), offset("t", 1, 11)]).await;
    assert_eq!(
        fetched(&c, "t", 0),
        Err(ResponseError::UnstableOffsetCommit)
    );
    assert_eq!(
        fetched(&c, "t", 1),
        Err(ResponseError::UnstableOffsetCommit)
    );
    let plain = c.fetch_offsets("g", Some(&[("t".into(), 0)]), false);
    assert_eq!(plain[0].1.as_ref().unwrap().as_ref().unwrap().offset, 3);
    // A fetch of everything lists committed partitions only.
    let all = c.fetch_offsets("g", None, true);
    assert_eq!(all.len(), 1);
    assert!(matches!(all[0].1, Err(ResponseError::UnstableOffsetCommit)));
    // Another producer, or another partition of __consumer_offsets, is not this one.
    c.complete_transaction(0, PID + 1, true);
    c.complete_transaction(1, PID, true);
    assert_eq!(
        fetched(&c, "t", 0),
        Err(ResponseError::UnstableOffsetCommit)
    );
    c.complete_transaction(0, PID, true);
    assert_eq!(fetched(&c, "t", 0), Ok(Some(10)));
    assert_eq!(fetched(&c, "t", 1), Ok(Some(11)));
    // A second completion finds nothing to do.
    c.complete_transaction(0, PID, false);
    assert_eq!(fetched(&c, "t", 0), Ok(Some(10)));
    cluster.close();
}

#[tokio::test]
async fn an_abort_drops_pending_offsets() {
    let (_dir, cluster, c) = fresh().await;
    plain_commit(&c, vec![offset("t", 0, 3)]).await;
    txn_commit(&c, PID, vec![offset("t", 0, 10), offset("t", 1, 11)]).await;
    c.complete_transaction(0, PID, false);
    assert_eq!(fetched(&c, "t", 0), Ok(Some(3)));
    assert_eq!(fetched(&c, "t", 1), Ok(None));
    cluster.close();
}

#[tokio::test]
async fn a_plain_commit_made_while_pending_wins_over_the_transaction() {
    let (_dir, cluster, c) = fresh().await;
    txn_commit(&c, PID, vec![offset("t", 0, 10), offset("t", 1, 11)]).await;
    // Allowed while pending, and later in the log than the transactional record.
    plain_commit(&c, vec![offset("t", 0, 7)]).await;
    c.complete_transaction(0, PID, true);
    assert_eq!(fetched(&c, "t", 0), Ok(Some(7)));
    assert_eq!(fetched(&c, "t", 1), Ok(Some(11)));
    cluster.close();
}

#[tokio::test]
async fn the_batch_is_transactional_with_the_producer_and_no_sequence() {
    let (_dir, cluster, c) = fresh().await;
    txn_commit(&c, PID, vec![offset("t", 0, 10), offset("t", 1, 11)]).await;
    let log = c.offsets_topic.logs()[0].clone();
    let mut bytes = log.read(0, 1 << 20, true).unwrap();
    let info = RecordBatchDecoder::decode_batch_info(&mut bytes).unwrap();
    assert_eq!(info.len(), 1);
    assert!(info[0].transactional && !info[0].control);
    assert_eq!(
        (
            info[0].producer_id,
            info[0].producer_epoch,
            info[0].base_sequence
        ),
        (PID, EPOCH, -1)
    );
    assert_eq!(info[0].record_count, 2);
    cluster.close();
}

#[tokio::test]
async fn replay_rebuilds_exactly_the_committed_transactions() {
    let (dir, cluster, c) = fresh().await;
    plain_commit(&c, vec![offset("t", 0, 1), offset("t", 1, 1)]).await;
    txn_commit(&c, PID, vec![offset("t", 0, 10)]).await; // committed below
    txn_commit(&c, PID + 1, vec![offset("t", 1, 20)]).await; // aborted below
    txn_commit(&c, PID + 2, vec![offset("t", 2, 30)]).await; // superseded below
    txn_commit(&c, PID + 3, vec![offset("t", 3, 40)]).await; // never ends
    txn_commit(&c, PID + 4, vec![offset("t", 4, 50)]).await; // its partition deleted
    plain_commit(&c, vec![offset("t", 2, 9)]).await;
    c.delete_offsets("g", &[("t".into(), 4)]).unwrap();
    for (pid, marker) in [
        (PID, TxnMarker::Commit),
        (PID + 1, TxnMarker::Abort),
        (PID + 2, TxnMarker::Commit),
        (PID + 4, TxnMarker::Commit),
    ] {
        append_marker(&c, pid, marker).await;
        c.complete_transaction(0, pid, marker == TxnMarker::Commit);
    }
    let live = c.fetch_offsets("g", None, false);
    let expected = [(0, 10), (1, 1), (2, 9)];
    let offsets = |answer: &[((String, i32), FetchedOffset)]| {
        answer
            .iter()
            .map(|((_, p), c)| (*p, c.as_ref().unwrap().as_ref().unwrap().offset))
            .collect::<Vec<_>>()
    };
    assert_eq!(offsets(&live), expected);
    cluster.close();
    drop(c);

    let (cluster, c) = open(dir.path()).await;
    assert_eq!(offsets(&c.fetch_offsets("g", None, false)), expected);
    // The open transaction is still pending after the restart, and the
    // transaction coordinator can still end it.
    assert_eq!(
        fetched(&c, "t", 3),
        Err(ResponseError::UnstableOffsetCommit)
    );
    assert_eq!(fetched(&c, "t", 4), Ok(None));
    append_marker(&c, PID + 3, TxnMarker::Commit).await;
    c.complete_transaction(0, PID + 3, true);
    assert_eq!(fetched(&c, "t", 3), Ok(Some(40)));
    cluster.close();
    drop(c);

    let (cluster, c) = open(dir.path()).await;
    assert_eq!(fetched(&c, "t", 3), Ok(Some(40)));
    cluster.close();
}

#[tokio::test]
async fn other_internal_logs_skip_control_batches() {
    let (_dir, cluster, c) = fresh().await;
    plain_commit(&c, vec![offset("t", 0, 1)]).await;
    append_marker(&c, PID, TxnMarker::Commit).await;
    let log = c.offsets_topic.logs()[0].clone();
    let records = crate::internal_log::replay(&log).unwrap();
    assert_eq!(records.len(), 1);
    let all = crate::internal_log::replay_records(&log).unwrap();
    assert_eq!(all.len(), 2);
    cluster.close();
}

#[tokio::test]
async fn refusals_are_per_partition_or_for_the_request() {
    let (_dir, cluster, c) = fresh().await;
    let mut long = offset("t", 1, 5);
    long.metadata = Some("x".repeat(17));
    let results = c
        .txn_offset_commit("g", PID, EPOCH, None, vec![offset("t", 0, 5), long])
        .await
        .unwrap();
    assert_eq!(
        results,
        vec![Ok(()), Err(ResponseError::OffsetMetadataTooLarge)]
    );
    assert_eq!(
        c.txn_offset_commit("g", -1, 0, None, vec![offset("t", 0, 5)])
            .await
            .unwrap_err(),
        ResponseError::InvalidProducerIdMapping
    );
    // An unknown group with a generation: Kafka's ILLEGAL_GENERATION.
    assert_eq!(
        c.txn_offset_commit(
            "other",
            PID,
            EPOCH,
            Some(member(1, "m", None)),
            vec![offset("t", 0, 5)]
        )
        .await
        .unwrap_err(),
        ResponseError::IllegalGeneration
    );
    cluster.close();
}

fn stored_member(id: &str, instance: Option<&str>) -> StoredMember {
    StoredMember {
        member_id: id.into(),
        group_instance_id: instance.map(str::to_string),
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        rebalance_timeout_ms: 300_000,
        session_timeout_ms: 45_000,
        subscription: Bytes::new(),
        assignment: Bytes::new(),
    }
}

/// Puts `kind` in place as group g, whose members the commits below check.
fn install(c: &GroupCoordinator, kind: GroupKind) {
    let group = Group {
        kind,
        offsets: BTreeMap::new(),
    };
    c.groups.lock().insert("g".into(), group);
}

/// A transactional commit of t-0 to g by `committer` (`None` as v0-2 send it).
async fn commit_as(
    c: &GroupCoordinator,
    committer: Option<Committer>,
) -> Result<(), ResponseError> {
    c.txn_offset_commit("g", PID, EPOCH, committer, vec![offset("t", 0, 5)])
        .await
        .map(|_| ())
}

#[tokio::test]
async fn classic_members_are_checked_from_v3() {
    let (_dir, cluster, c) = fresh().await;
    let stored = StoredGroup {
        protocol_type: "consumer".into(),
        generation_id: 3,
        protocol_name: Some("range".into()),
        leader: Some("m1".into()),
        state_timestamp: 0,
        members: vec![stored_member("m1", None), stored_member("m2", Some("i2"))],
    };
    let classic = ClassicGroup::restore(
        "g",
        stored,
        super::test_support::config(16).group,
        Instant::now(),
    );
    install(&c, GroupKind::Classic(classic));
    let commit = |committer| commit_as(&c, committer);
    assert_eq!(commit(Some(member(3, "m1", None))).await, Ok(()));
    assert_eq!(commit(Some(member(3, "m2", Some("i2")))).await, Ok(()));
    assert_eq!(
        commit(Some(member(2, "m1", None))).await,
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        commit(Some(member(3, "gone", None))).await,
        Err(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        commit(Some(member(3, "old-m2", Some("i2")))).await,
        Err(ResponseError::FencedInstanceId)
    );
    assert_eq!(
        commit(Some(member(3, "m1", Some("i9")))).await,
        Err(ResponseError::UnknownMemberId)
    );
    // v0-2 carry no member fields: accepted although the group has members.
    assert_eq!(commit(None).await, Ok(()));
    // And a transactional commit does not wait for a rebalance to complete.
    match &mut c.groups.lock().get_mut("g").unwrap().kind {
        GroupKind::Classic(classic) => classic.state = GroupState::CompletingRebalance,
        GroupKind::Consumer(_) => panic!("a classic group"),
    }
    assert_eq!(commit(Some(member(3, "m1", None))).await, Ok(()));
    cluster.close();
}

#[tokio::test]
async fn consumer_group_members_are_checked_by_epoch() {
    let (_dir, cluster, c) = fresh().await;
    let mut consumer = ConsumerGroup::new("g", ConsumerSettings::default());
    let view = TopicsView::new([("t".to_string(), uuid::Uuid::from_u128(1), 1, false)]);
    let joined = consumer
        .heartbeat(
            ConsumerHeartbeat {
                member_id: "m1".into(),
                member_epoch: 0,
                rebalance_timeout_ms: 300_000,
                subscribed_topic_names: Some(vec!["t".into()]),
                owned: Some(Assignment::new()),
                ..Default::default()
            },
            &view,
            Instant::now(),
        )
        .unwrap();
    install(&c, GroupKind::Consumer(consumer));
    let commit = |committer| commit_as(&c, committer);
    let epoch = joined.member_epoch;
    assert_eq!(commit(Some(member(epoch, "m1", None))).await, Ok(()));
    assert_eq!(
        commit(Some(member(epoch + 1, "m1", None))).await,
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        commit(Some(member(epoch, "m2", None))).await,
        Err(ResponseError::UnknownMemberId)
    );
    // Kafka 4.1 checks v0-2's defaults against a consumer group too.
    assert_eq!(commit(None).await, Err(ResponseError::UnknownMemberId));
    cluster.close();
}
