//! Unit tests of the coordinator's operations through its entry points,
//! on a real `__consumer_offsets`: what each answers, what it leaves in
//! memory, what a restart recovers, and that a failed append changes
//! nothing (the log comes before memory).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use uuid::Uuid;

use super::consumer::ConsumerGroupState;
use super::*;

async fn open(dir: &Path) -> (Cluster, GroupCoordinator) {
    super::test_support::open(dir, 64).await
}

fn failing(c: &GroupCoordinator, fail: bool) {
    c.fail_appends.store(fail, Ordering::SeqCst);
}

fn join_request(member_id: &str) -> JoinRequest {
    JoinRequest {
        member_id: member_id.into(),
        group_instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 6_000,
        rebalance_timeout_ms: 10_000,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"meta"))],
        require_known_member_id: false,
    }
}

fn sync_request(member_id: &str, generation_id: i32, assignment: &'static [u8]) -> SyncRequest {
    SyncRequest {
        member_id: member_id.into(),
        group_instance_id: None,
        generation_id,
        protocol_type: None,
        protocol_name: None,
        assignments: vec![(member_id.into(), Bytes::from_static(assignment))],
    }
}

fn simple() -> Committer {
    Committer {
        generation_id: -1,
        member_id: String::new(),
        group_instance_id: None,
    }
}

fn offset(partition: i32, offset: i64) -> OffsetCommit {
    OffsetCommit {
        topic: "t".into(),
        partition,
        offset,
        leader_epoch: 0,
        metadata: None,
    }
}

fn committed(c: &GroupCoordinator, group: &str, partition: i32) -> Option<i64> {
    let tp = [("t".to_string(), partition)];
    let answer = c.fetch_offsets(group, Some(&tp), false).remove(0).1;
    answer.unwrap().map(|c| c.offset)
}

/// A one-member classic group, Stable at generation 1; returns the member id.
async fn stable_group(c: &GroupCoordinator) -> String {
    let joined = c.join("g", join_request("")).await;
    assert_eq!(joined.error, None);
    assert_eq!(joined.generation_id, 1);
    assert_eq!(joined.leader, joined.member_id);
    let synced = c.sync("g", sync_request(&joined.member_id, 1, b"p0")).await;
    assert_eq!(synced.error, None);
    assert_eq!(synced.assignment, Bytes::from_static(b"p0"));
    joined.member_id
}

fn state(c: &GroupCoordinator, group: &str) -> Option<&'static str> {
    c.list()
        .into_iter()
        .find(|g| g.group_id == group)
        .map(|g| g.state.name())
}

#[tokio::test]
async fn a_classic_member_joins_syncs_heartbeats_and_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, c) = open(dir.path()).await;
    let member = stable_group(&c).await;
    assert_eq!(c.heartbeat("g", &member, None, 1), Ok(()));
    assert_eq!(
        c.heartbeat("g", &member, None, 0),
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        c.heartbeat("g", "stranger", None, 1),
        Err(ResponseError::UnknownMemberId)
    );
    let described = c.describe("g").unwrap();
    assert_eq!(described.state, DescribedState::Classic(GroupState::Stable));
    assert_eq!(described.protocol_name, "range");
    assert_eq!(described.members.len(), 1);
    assert_eq!(described.members[0].assignment, Bytes::from_static(b"p0"));
    assert_eq!(
        c.leave("g", &[(member.clone(), None), ("stranger".into(), None)])
            .unwrap(),
        vec![Ok(()), Err(ResponseError::UnknownMemberId)]
    );
    assert_eq!(state(&c, "g"), Some("Empty"));
    assert_eq!(
        c.leave("nope", &[(member, None)]),
        Err(ResponseError::UnknownMemberId)
    );
    cluster.close();
}

#[tokio::test]
async fn commits_are_fetched_deleted_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, c) = open(dir.path()).await;
    let member = stable_group(&c).await;
    let as_member = Committer {
        generation_id: 1,
        member_id: member.clone(),
        group_instance_id: None,
    };
    let results = c
        .commit("g", &as_member, vec![offset(0, 5), offset(1, 6)])
        .await
        .unwrap();
    assert_eq!(results, vec![Ok(()), Ok(())]);
    let stale = Committer {
        generation_id: 0,
        ..as_member.clone()
    };
    assert_eq!(
        c.commit("g", &stale, vec![offset(0, 9)]).await,
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(committed(&c, "g", 0), Some(5));
    assert_eq!(c.fetch_offsets("g", None, false).len(), 2);
    cluster.close();
    drop(c);

    let (cluster, c) = open(dir.path()).await;
    let described = c.describe("g").unwrap();
    assert_eq!(described.members[0].member_id, member);
    assert_eq!(committed(&c, "g", 1), Some(6));
    c.leave("g", &[(member, None)]).unwrap();
    assert_eq!(
        c.delete_offsets("g", &[("t".into(), 1)]).unwrap(),
        vec![Ok(())]
    );
    assert_eq!(committed(&c, "g", 1), None);
    assert_eq!(c.delete_group("g"), Ok(()));
    assert_eq!(state(&c, "g"), None);
    assert_eq!(c.delete_group("g"), Err(ResponseError::GroupIdNotFound));
    cluster.close();
    drop(c);

    let (cluster, c) = open(dir.path()).await;
    assert_eq!(state(&c, "g"), None);
    assert!(c.fetch_offsets("g", None, false).is_empty());
    cluster.close();
}

#[tokio::test]
async fn a_failed_append_fails_a_join_and_leaves_no_group() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, c) = open(dir.path()).await;
    failing(&c, true);
    let joined = c.join("g", join_request("")).await;
    assert_eq!(joined.error, Some(ResponseError::NotCoordinator));
    assert_eq!(
        c.commit("s", &simple(), vec![offset(0, 1)]).await,
        Err(ResponseError::NotCoordinator)
    );
    assert!(c.list().is_empty());
    failing(&c, false);
    assert_eq!(c.join("g", join_request("")).await.error, None);
    cluster.close();
}

#[tokio::test]
async fn a_failed_append_leaves_a_stable_group_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, c) = open(dir.path()).await;
    let member = stable_group(&c).await;
    c.commit("g", &simple_member(&member), vec![offset(0, 5)])
        .await
        .unwrap();
    failing(&c, true);
    // (A second member's join writes nothing until its join phase ends, as
    // in Kafka, so it is not refused here.)
    assert_eq!(
        c.leave("g", &[(member.clone(), None)]),
        Err(ResponseError::NotCoordinator)
    );
    assert_eq!(
        c.commit("g", &simple_member(&member), vec![offset(0, 9)])
            .await,
        Err(ResponseError::NotCoordinator)
    );
    assert_eq!(c.delete_group("g"), Err(ResponseError::NonEmptyGroup));
    let described = c.describe("g").unwrap();
    assert_eq!(described.state, DescribedState::Classic(GroupState::Stable));
    assert_eq!(described.members.len(), 1);
    assert_eq!(c.heartbeat("g", &member, None, 1), Ok(()));
    assert_eq!(committed(&c, "g", 0), Some(5));
    failing(&c, false);
    cluster.close();
}

fn simple_member(member: &str) -> Committer {
    Committer {
        generation_id: 1,
        member_id: member.into(),
        group_instance_id: None,
    }
}

#[tokio::test]
async fn a_failed_append_keeps_offsets_and_empty_groups() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, c) = open(dir.path()).await;
    c.commit("g", &simple(), vec![offset(0, 5)]).await.unwrap();
    failing(&c, true);
    assert_eq!(
        c.delete_offsets("g", &[("t".into(), 0)]),
        Err(ResponseError::NotCoordinator)
    );
    assert_eq!(c.delete_group("g"), Err(ResponseError::NotCoordinator));
    c.remove_topic_offsets("t");
    assert_eq!(committed(&c, "g", 0), Some(5));
    assert_eq!(state(&c, "g"), Some("Empty"));
    failing(&c, false);
    c.remove_topic_offsets("t");
    assert_eq!(committed(&c, "g", 0), None);
    cluster.close();
}

#[tokio::test]
async fn an_expired_session_leaves_only_once_written() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, c) = open(dir.path()).await;
    let member = stable_group(&c).await;
    let later = Instant::now() + Duration::from_secs(7);
    failing(&c, true);
    c.tick(later);
    assert_eq!(c.describe("g").unwrap().members.len(), 1);
    failing(&c, false);
    c.tick(later);
    let described = c.describe("g").unwrap();
    assert!(described.members.is_empty());
    assert_eq!(described.state, DescribedState::Classic(GroupState::Empty));
    assert_eq!(
        c.heartbeat("g", &member, None, 1),
        Err(ResponseError::UnknownMemberId)
    );
    cluster.close();
}

const TOPIC: Uuid = Uuid::from_u128(7);

fn topics() -> TopicsView {
    TopicsView::new([("t".to_string(), TOPIC, 4, false)])
}

fn consumer_join(member_id: &str) -> ConsumerHeartbeat {
    ConsumerHeartbeat {
        member_id: member_id.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 30_000,
        subscribed_topic_names: Some(vec!["t".into()]),
        owned: Some(Assignment::new()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_consumer_group_reports_its_real_state() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, c) = open(dir.path()).await;
    let first = c
        .consumer_heartbeat("cg", consumer_join("m1"), &topics())
        .unwrap();
    assert_eq!(first.member_epoch, 1);
    let listed = c.list().remove(0);
    assert_eq!(listed.group_type, "consumer");
    assert_eq!(
        listed.state,
        DescribedState::Consumer(ConsumerGroupState::Stable)
    );
    // A second member: the first must give partitions up first.
    c.consumer_heartbeat("cg", consumer_join("m2"), &topics())
        .unwrap();
    assert_eq!(state(&c, "cg"), Some("Reconciling"));
    assert!(c.describe("cg").is_none(), "not a classic group");
    assert!(c.is_consumer_group("cg"));
    let described = c.describe_consumer("cg").unwrap().unwrap();
    assert_eq!(described.state, ConsumerGroupState::Reconciling);
    assert_eq!(described.members.len(), 2);
    // A classic join cannot take a group with consumer members.
    assert_eq!(
        c.join("cg", join_request("")).await.error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    cluster.close();
}

#[tokio::test]
async fn a_failed_append_fails_a_consumer_heartbeat_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, c) = open(dir.path()).await;
    failing(&c, true);
    let refused = c.consumer_heartbeat("cg", consumer_join("m1"), &topics());
    assert_eq!(refused.unwrap_err().error, ResponseError::NotCoordinator);
    assert!(c.list().is_empty());
    failing(&c, false);
    c.consumer_heartbeat("cg", consumer_join("m1"), &topics())
        .unwrap();
    failing(&c, true);
    let refused = c.consumer_heartbeat("cg", consumer_join("m2"), &topics());
    assert_eq!(refused.unwrap_err().error, ResponseError::NotCoordinator);
    let described = c.describe_consumer("cg").unwrap().unwrap();
    assert_eq!(described.members.len(), 1);
    assert_eq!(described.group_epoch, 1);
    assert_eq!(described.state, ConsumerGroupState::Stable);
    failing(&c, false);
    cluster.close();
}

#[tokio::test]
async fn an_empty_consumer_group_turns_classic_on_a_join() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, c) = open(dir.path()).await;
    c.consumer_heartbeat("g", consumer_join("m1"), &topics())
        .unwrap();
    let leave = ConsumerHeartbeat {
        member_id: "m1".into(),
        member_epoch: consumer_messages::LEAVE_EPOCH,
        ..Default::default()
    };
    c.consumer_heartbeat("g", leave, &topics()).unwrap();
    assert_eq!(state(&c, "g"), Some(ConsumerGroupState::Empty.name()));
    stable_group(&c).await;
    assert!(!c.is_consumer_group("g"));
    cluster.close();
    drop(c);
    // The consumer group's records were deleted: it comes back classic.
    let (cluster, c) = open(dir.path()).await;
    assert!(!c.is_consumer_group("g"));
    assert_eq!(c.describe("g").unwrap().members.len(), 1);
    cluster.close();
}
