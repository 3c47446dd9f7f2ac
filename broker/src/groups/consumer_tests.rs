//! Unit tests of the consumer-group state machine.

use std::time::Duration;

use super::*;
use crate::groups::consumer_messages::validate_request;
use crate::groups::consumer_replay::ConsumerReplay;

const A: Uuid = Uuid::from_u128(1);

fn view(partitions: i32) -> TopicsView {
    TopicsView::new([("a".to_string(), A, partitions, false)])
}

fn join(id: &str) -> ConsumerHeartbeat {
    ConsumerHeartbeat {
        member_id: id.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 300_000,
        subscribed_topic_names: Some(vec!["a".into()]),
        owned: Some(Assignment::new()),
        ..Default::default()
    }
}

fn beat(id: &str, epoch: i32, owned: &Assignment) -> ConsumerHeartbeat {
    ConsumerHeartbeat {
        member_id: id.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: -1,
        owned: Some(owned.clone()),
        ..Default::default()
    }
}

fn parts(a: &Assignment) -> BTreeSet<i32> {
    a.get(&A).cloned().unwrap_or_default()
}

fn group() -> ConsumerGroup {
    ConsumerGroup::new("g", ConsumerSettings::default())
}

#[test]
fn a_single_member_gets_everything() {
    let mut g = group();
    let r = g.heartbeat(join("m1"), &view(3), Instant::now()).unwrap();
    assert_eq!(r.member_epoch, 1);
    assert_eq!(r.heartbeat_interval_ms, 5000);
    assert_eq!(
        parts(r.assignment.as_ref().unwrap()),
        BTreeSet::from([0, 1, 2])
    );
    assert_eq!(g.state(), ConsumerGroupState::Stable);
    // Unchanged: no assignment in the answer.
    let owned = r.assignment.unwrap();
    let r = g
        .heartbeat(beat("m1", 1, &owned), &view(3), Instant::now())
        .unwrap();
    assert_eq!(r.assignment, None);
    assert!(!g.take_records().is_empty());
}

#[test]
fn revocation_comes_before_reassignment() {
    let now = Instant::now();
    let mut g = group();
    let r1 = g.heartbeat(join("m1"), &view(4), now).unwrap();
    let owned1 = r1.assignment.unwrap();
    assert_eq!(parts(&owned1).len(), 4);
    // m2 joins: epoch 2; m1's partitions are still held, so m2 waits.
    let r2 = g.heartbeat(join("m2"), &view(4), now).unwrap();
    assert_eq!(r2.member_epoch, 2);
    assert!(parts(r2.assignment.as_ref().unwrap()).is_empty());
    assert_eq!(g.members["m2"].state, MemberState::UnreleasedPartitions);
    assert_eq!(g.state(), ConsumerGroupState::Reconciling);
    // m1 is told to revoke two and stays at epoch 1.
    let r = g.heartbeat(beat("m1", 1, &owned1), &view(4), now).unwrap();
    assert_eq!(r.member_epoch, 1);
    let kept = r.assignment.unwrap();
    assert_eq!(parts(&kept).len(), 2);
    assert_eq!(g.members["m1"].state, MemberState::UnrevokedPartitions);
    // m2 still gets nothing: m1 has not acknowledged.
    let r = g
        .heartbeat(beat("m2", 2, &Assignment::new()), &view(4), now)
        .unwrap();
    assert_eq!(r.assignment, None);
    // m1 still reports the old set: nothing moves.
    let r = g.heartbeat(beat("m1", 1, &owned1), &view(4), now).unwrap();
    assert_eq!(r.member_epoch, 1);
    // m1 acknowledges: it moves to epoch 2.
    let r = g.heartbeat(beat("m1", 1, &kept), &view(4), now).unwrap();
    assert_eq!(r.member_epoch, 2);
    assert_eq!(g.members["m1"].state, MemberState::Stable);
    // Now m2 gets the released partitions.
    let r = g
        .heartbeat(beat("m2", 2, &Assignment::new()), &view(4), now)
        .unwrap();
    let got = parts(r.assignment.as_ref().unwrap());
    assert_eq!(got.len(), 2);
    assert!(got.is_disjoint(&parts(&kept)));
    assert_eq!(g.state(), ConsumerGroupState::Stable);
}

#[test]
fn fencing_and_unknown_members() {
    let now = Instant::now();
    let mut g = group();
    let r = g.heartbeat(join("m1"), &view(2), now).unwrap();
    let owned = r.assignment.unwrap();
    let e = g
        .heartbeat(beat("m1", 5, &owned), &view(2), now)
        .unwrap_err();
    assert_eq!(e.error, ResponseError::FencedMemberEpoch);
    let e = g
        .heartbeat(beat("zz", 1, &owned), &view(2), now)
        .unwrap_err();
    assert_eq!(e.error, ResponseError::UnknownMemberId);
    // Topic grows: epoch 2; the previous epoch is still accepted once.
    let r = g.heartbeat(beat("m1", 1, &owned), &view(3), now).unwrap();
    assert_eq!(r.member_epoch, 2);
    let r = g.heartbeat(beat("m1", 1, &owned), &view(3), now).unwrap();
    assert_eq!(r.member_epoch, 2);
    // The previous epoch with partitions it was never given is fenced.
    let stranger = Assignment::from([(A, BTreeSet::from([0, 1, 2, 7]))]);
    let e = g
        .heartbeat(beat("m1", 1, &stranger), &view(3), now)
        .unwrap_err();
    assert_eq!(e.error, ResponseError::FencedMemberEpoch);
    // Epoch 0 is a rejoin: the member gets its assignment again.
    let r = g.heartbeat(join("m1"), &view(3), now).unwrap();
    assert_eq!(r.member_epoch, 2);
    assert_eq!(
        parts(r.assignment.as_ref().unwrap()),
        BTreeSet::from([0, 1, 2])
    );
}

#[test]
fn leaving_and_session_expiry_release_partitions() {
    let now = Instant::now();
    let mut g = group();
    g.heartbeat(join("m1"), &view(2), now).unwrap();
    let r2 = g.heartbeat(join("m2"), &view(2), now).unwrap();
    assert_eq!(r2.member_epoch, 2);
    // m1 never comes back: its session ends and m2 takes everything.
    let later = now + Duration::from_millis(45_001);
    let _ = g.heartbeat(beat("m2", 2, &Assignment::new()), &view(2), now);
    g.members.get_mut("m2").unwrap().session_deadline = later + Duration::from_secs(60);
    assert_eq!(g.tick(later), vec!["m1".to_string()]);
    let r = g
        .heartbeat(beat("m2", 2, &Assignment::new()), &view(2), later)
        .unwrap();
    assert_eq!(r.member_epoch, 3);
    assert_eq!(
        parts(r.assignment.as_ref().unwrap()),
        BTreeSet::from([0, 1])
    );
    // Leaving.
    let mut leave = beat("m2", LEAVE_EPOCH, &Assignment::new());
    leave.owned = None;
    let r = g.heartbeat(leave, &view(2), later).unwrap();
    assert_eq!(r.member_epoch, -1);
    assert_eq!(g.state(), ConsumerGroupState::Empty);
}

#[test]
fn requests_are_checked() {
    let mut r = join("m");
    r.server_assignor = Some("sticky".into());
    assert_eq!(
        validate_request("g", &r, 1).unwrap_err().error,
        ResponseError::UnsupportedAssignor
    );
    let mut r = join("m");
    r.rebalance_timeout_ms = -1;
    assert_eq!(
        validate_request("g", &r, 1).unwrap_err().error,
        ResponseError::InvalidRequest
    );
    let mut r = join("");
    assert!(validate_request("g", &r, 0).is_ok());
    assert!(validate_request("g", &r, 1).is_err());
    r.member_id = "m".into();
    r.subscribed_topic_regex = Some("(".into());
    assert_eq!(
        validate_request("g", &r, 1).unwrap_err().error,
        ResponseError::InvalidRegularExpression
    );
}

#[test]
fn static_members_keep_their_assignment() {
    let now = Instant::now();
    let mut g = group();
    let mut j = join("m1");
    j.instance_id = Some("i".into());
    let r = g.heartbeat(j.clone(), &view(2), now).unwrap();
    assert_eq!(parts(r.assignment.as_ref().unwrap()).len(), 2);
    let mut other = join("m9");
    other.instance_id = Some("i".into());
    assert_eq!(
        g.heartbeat(other.clone(), &view(2), now).unwrap_err().error,
        ResponseError::UnreleasedInstanceId
    );
    let mut leave = beat("m1", STATIC_LEAVE_EPOCH, &Assignment::new());
    leave.instance_id = Some("i".into());
    assert_eq!(g.heartbeat(leave, &view(2), now).unwrap().member_epoch, -2);
    let r = g.heartbeat(other, &view(2), now).unwrap();
    assert_eq!(r.member_id, "m9");
    assert_eq!(parts(r.assignment.as_ref().unwrap()).len(), 2);
    assert_eq!(g.group_epoch, 1);
}

#[test]
fn records_replay_into_the_same_group() {
    let now = Instant::now();
    let mut g = group();
    let r = g.heartbeat(join("m1"), &view(3), now).unwrap();
    g.heartbeat(join("m2"), &view(3), now).unwrap();
    g.heartbeat(beat("m1", 1, r.assignment.as_ref().unwrap()), &view(3), now)
        .unwrap();
    let mut replay = ConsumerReplay::default();
    for (k, v) in g.take_records() {
        replay.apply(ConsumerKey::decode(&k).unwrap().unwrap(), v);
    }
    let stored = replay.groups.remove("g").unwrap();
    let back = ConsumerGroup::restore("g", stored, ConsumerSettings::default(), now);
    assert_eq!(back.group_epoch, g.group_epoch);
    assert_eq!(back.assignment_epoch, g.assignment_epoch);
    assert_eq!(back.target, g.target);
    for (id, m) in &g.members {
        let b = &back.members[id];
        assert_eq!(b.member_epoch, m.member_epoch);
        assert_eq!(b.assigned, m.assigned);
        assert_eq!(b.pending_revocation, m.pending_revocation);
        assert_eq!(b.state, m.state);
        assert_eq!(b.meta, m.meta);
    }
}
