//! Unit tests of the classic group state machine, one per Kafka behaviour.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

use super::classic::*;
use super::replies::Waiter;

/// The state machine's calls as the coordinator makes them once a change is
/// in the log: the queued answers go out.
fn join(g: &mut ClassicGroup, request: JoinRequest, now: Instant) -> oneshot::Receiver<JoinResult> {
    let (waiter, rx) = Waiter::new();
    g.join(request, waiter, now);
    g.replies.deliver();
    rx
}

fn sync(g: &mut ClassicGroup, request: SyncRequest, now: Instant) -> oneshot::Receiver<SyncResult> {
    let (waiter, rx) = Waiter::new();
    g.sync(request, waiter, now);
    g.replies.deliver();
    rx
}

fn tick(g: &mut ClassicGroup, now: Instant) {
    g.tick(now);
    g.replies.deliver();
}

fn settings(delay_ms: u64) -> GroupSettings {
    GroupSettings {
        initial_rebalance_delay: Duration::from_millis(delay_ms),
        min_session_timeout_ms: 6000,
        max_session_timeout_ms: 1_800_000,
    }
}

fn join_request(member_id: &str, instance: Option<&str>, protocols: &[&str]) -> JoinRequest {
    JoinRequest {
        member_id: member_id.to_string(),
        group_instance_id: instance.map(str::to_string),
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 20_000,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("meta-{p}"))))
            .collect(),
        require_known_member_id: true,
    }
}

fn now_result<T>(mut rx: oneshot::Receiver<T>) -> T {
    rx.try_recv().expect("answered at once")
}

/// Joins a new dynamic member through MEMBER_ID_REQUIRED; returns its id
/// and the pending receiver of the real join.
fn join_new(group: &mut ClassicGroup, now: Instant) -> (String, oneshot::Receiver<JoinResult>) {
    let first = now_result(join(group, join_request("", None, &["range"]), now));
    assert_eq!(first.error, Some(ResponseError::MemberIdRequired));
    let id = first.member_id.clone();
    (
        id.clone(),
        join(group, join_request(&id, None, &["range"]), now),
    )
}

fn sync_req(member_id: &str, generation_id: i32, assignments: Vec<(String, Bytes)>) -> SyncRequest {
    SyncRequest {
        member_id: member_id.to_string(),
        group_instance_id: None,
        generation_id,
        protocol_type: Some("consumer".into()),
        protocol_name: Some("range".into()),
        assignments,
    }
}

#[test]
fn first_member_becomes_leader_after_the_initial_delay() {
    let t0 = Instant::now();
    let mut g = ClassicGroup::new("g", settings(100));
    let (id, mut rx) = join_new(&mut g, t0);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert!(rx.try_recv().is_err(), "the initial delay holds the join");
    tick(&mut g, t0 + Duration::from_millis(50));
    assert!(rx.try_recv().is_err());
    tick(&mut g, t0 + Duration::from_millis(100));
    let r = now_result(rx);
    assert_eq!(
        (r.error, r.generation_id, r.leader.as_str()),
        (None, 1, id.as_str())
    );
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.members[0].metadata, Bytes::from("meta-range"));
    assert_eq!(g.state, GroupState::CompletingRebalance);
    let s = now_result(sync(
        &mut g,
        sync_req(&id, 1, vec![(id.clone(), Bytes::from("a"))]),
        t0,
    ));
    assert_eq!((s.error, s.assignment), (None, Bytes::from("a")));
    assert_eq!(g.state, GroupState::Stable);
}

#[test]
fn a_second_member_triggers_a_rebalance_everyone_rejoins() {
    let t0 = Instant::now();
    let mut g = ClassicGroup::new("g", settings(0));
    let (a, rx) = join_new(&mut g, t0);
    assert_eq!(now_result(rx).generation_id, 1);
    now_result(sync(
        &mut g,
        sync_req(&a, 1, vec![(a.clone(), Bytes::from("all"))]),
        t0,
    ));
    let (b, mut rx_b) = join_new(&mut g, t0);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat(&a, None, 1, t0),
        Err(ResponseError::RebalanceInProgress)
    );
    assert!(
        rx_b.try_recv().is_err(),
        "waits for the known member to rejoin"
    );
    let rx_a = join(&mut g, join_request(&a, None, &["range"]), t0);
    let (ra, rb) = (now_result(rx_a), now_result(rx_b));
    assert_eq!((ra.generation_id, rb.generation_id), (2, 2));
    assert_eq!(ra.leader, a, "the leader is kept");
    assert_eq!((ra.members.len(), rb.members.len()), (2, 0));
    let rx_b = sync(&mut g, sync_req(&b, 2, vec![]), t0);
    let rx_a = sync(
        &mut g,
        sync_req(
            &a,
            2,
            vec![
                (a.clone(), Bytes::from("p0")),
                (b.clone(), Bytes::from("p1")),
            ],
        ),
        t0,
    );
    assert_eq!(now_result(rx_a).assignment, Bytes::from("p0"));
    assert_eq!(now_result(rx_b).assignment, Bytes::from("p1"));
    assert_eq!(g.state, GroupState::Stable);
    assert_eq!(
        g.heartbeat(&b, None, 1, t0),
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(g.heartbeat(&b, None, 2, t0), Ok(()));
}

#[test]
fn a_member_id_handed_out_before_the_join_phase_ends_still_joins_after_it() {
    let t0 = Instant::now();
    let mut g = ClassicGroup::new("g", settings(100));
    let (a, rx_a) = join_new(&mut g, t0);
    let late = now_result(join(&mut g, join_request("", None, &["range"]), t0));
    assert_eq!(late.error, Some(ResponseError::MemberIdRequired));
    tick(&mut g, t0 + Duration::from_millis(100));
    assert_eq!(
        now_result(rx_a).generation_id,
        1,
        "the initial delay ended the phase"
    );
    let rx_late = join(
        &mut g,
        join_request(&late.member_id, None, &["range"]),
        t0 + Duration::from_millis(150),
    );
    assert_eq!(
        g.state,
        GroupState::PreparingRebalance,
        "the late member starts a rebalance"
    );
    assert!(g.members.contains_key(&late.member_id));
    let rx_a = join(
        &mut g,
        join_request(&a, None, &["range"]),
        t0 + Duration::from_millis(160),
    );
    let (ra, rl) = (now_result(rx_a), now_result(rx_late));
    assert_eq!((ra.error, rl.error), (None, None));
    assert_eq!((ra.generation_id, rl.generation_id), (2, 2));
}

#[test]
fn an_unused_member_id_expires_with_its_session() {
    let t0 = Instant::now();
    let mut g = ClassicGroup::new("g", settings(0));
    let unused = now_result(join(&mut g, join_request("", None, &["range"]), t0));
    tick(&mut g, t0 + Duration::from_millis(10_000));
    let r = now_result(join(
        &mut g,
        join_request(&unused.member_id, None, &["range"]),
        t0 + Duration::from_millis(10_000),
    ));
    assert_eq!(r.error, Some(ResponseError::UnknownMemberId));
}

#[test]
fn a_silent_member_is_removed_after_its_session_timeout() {
    let t0 = Instant::now();
    let mut g = ClassicGroup::new("g", settings(0));
    let (a, rx) = join_new(&mut g, t0);
    now_result(rx);
    now_result(sync(&mut g, sync_req(&a, 1, vec![]), t0));
    tick(&mut g, t0 + Duration::from_millis(9_999));
    assert_eq!(g.state, GroupState::Stable);
    tick(&mut g, t0 + Duration::from_millis(10_000));
    assert_eq!(g.state, GroupState::Empty);
    assert!(g.members.is_empty());
    assert_eq!(
        g.heartbeat(&a, None, 1, t0),
        Err(ResponseError::UnknownMemberId)
    );
}

#[test]
fn a_static_member_returning_keeps_its_assignment_without_a_rebalance() {
    let t0 = Instant::now();
    let mut g = ClassicGroup::new("g", settings(0));
    let old = now_result(join(&mut g, join_request("", Some("i1"), &["range"]), t0));
    let old_id = old.member_id.clone();
    assert_eq!(old.generation_id, 1);
    now_result(sync(
        &mut g,
        sync_req(&old_id, 1, vec![(old_id.clone(), Bytes::from("mine"))]),
        t0,
    ));
    // Restart: same instance id, no member id.
    let back = now_result(join(&mut g, join_request("", Some("i1"), &["range"]), t0));
    assert_ne!(back.member_id, old_id);
    assert_eq!((back.error, back.generation_id), (None, 1));
    assert_eq!(g.state, GroupState::Stable);
    let mut req = sync_req(&back.member_id, 1, vec![]);
    req.group_instance_id = Some("i1".into());
    assert_eq!(
        now_result(sync(&mut g, req, t0)).assignment,
        Bytes::from("mine")
    );
    // The old incarnation is fenced.
    assert_eq!(
        g.heartbeat(&old_id, Some("i1"), 1, t0),
        Err(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        g.heartbeat(&back.member_id, Some("other"), 1, t0),
        Err(ResponseError::FencedInstanceId)
    );
}

#[test]
fn leaving_empties_the_group_and_bad_requests_get_kafka_errors() {
    let t0 = Instant::now();
    let mut g = ClassicGroup::new("g", settings(0));
    let (a, rx) = join_new(&mut g, t0);
    now_result(rx);
    let bad = now_result(join(&mut g, join_request("", None, &["roundrobin"]), t0));
    assert_eq!(bad.error, Some(ResponseError::InconsistentGroupProtocol));
    let mut short = join_request("", None, &["range"]);
    short.session_timeout_ms = 10;
    assert_eq!(
        now_result(join(&mut g, short, t0)).error,
        Some(ResponseError::InvalidSessionTimeout)
    );
    assert_eq!(
        now_result(sync(&mut g, sync_req(&a, 7, vec![]), t0)).error,
        Some(ResponseError::IllegalGeneration)
    );
    assert_eq!(g.leave(&a, None, t0), Ok(()));
    assert_eq!(g.state, GroupState::Empty);
    assert_eq!(g.leave(&a, None, t0), Err(ResponseError::UnknownMemberId));
}

#[test]
fn stored_groups_come_back_with_members_and_assignments() {
    let t0 = Instant::now();
    let mut g = ClassicGroup::new("g", settings(0));
    let (a, rx) = join_new(&mut g, t0);
    now_result(rx);
    now_result(sync(
        &mut g,
        sync_req(&a, 1, vec![(a.clone(), Bytes::from("x"))]),
        t0,
    ));
    let restored = ClassicGroup::restore("g", g.to_stored(0), settings(0), t0);
    assert_eq!(restored.state, GroupState::Stable);
    assert_eq!(restored.generation_id, 1);
    assert_eq!(restored.members[&a].assignment, Bytes::from("x"));
    assert_eq!(restored.leader.as_deref(), Some(a.as_str()));
}

#[test]
fn the_transition_table_is_kafkas_with_a_direct_way_to_empty() {
    use GroupState::*;
    let all = [Empty, PreparingRebalance, CompletingRebalance, Stable, Dead];
    let allowed = |from: GroupState, to: GroupState| to.valid_previous().contains(&from);
    // Kafka's validPreviousStates.
    assert!(allowed(PreparingRebalance, Empty));
    assert!(allowed(Empty, PreparingRebalance));
    assert!(allowed(Stable, PreparingRebalance));
    assert!(allowed(CompletingRebalance, PreparingRebalance));
    assert!(allowed(PreparingRebalance, CompletingRebalance));
    assert!(allowed(CompletingRebalance, Stable));
    assert!(all.iter().all(|s| allowed(*s, Dead)));
    // The last member leaving empties the group at once.
    assert!(allowed(Stable, Empty) && allowed(CompletingRebalance, Empty));
    // Never out of Dead, never straight to Stable from a join phase.
    assert!(all
        .iter()
        .filter(|s| **s != Dead)
        .all(|s| !allowed(Dead, *s)));
    assert!(!allowed(PreparingRebalance, Stable));
    assert!(!allowed(Empty, CompletingRebalance));
}
