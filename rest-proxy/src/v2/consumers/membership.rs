//! The group membership of a subscribed instance: a background task per
//! instance that joins the group with the classic protocol (protocol type
//! `consumer`, assignors `range` and `roundrobin`), computes the assignment
//! when elected leader, heartbeats, rejoins on REBALANCE_IN_PROGRESS or
//! UNKNOWN_MEMBER_ID, and auto-commits what the instance read.
//!
//! The task follows Kafka's eager consumer: before rejoining it commits
//! (with auto-commit) and gives up every partition, so another member never
//! reads a partition this one still reads.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::error::{ParseResponseErrorCode, ResponseError};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::assignors;
use super::instance::{Instance, Mode};
use super::kafka::{self, Tp};
use crate::error::RestError;
use crate::RestProxy;

/// Kafka consumer defaults: `session.timeout.ms`, `max.poll.interval.ms`
/// (the rebalance timeout), `heartbeat.interval.ms`,
/// `auto.commit.interval.ms`.
const SESSION_TIMEOUT_MS: i32 = 45_000;
const REBALANCE_TIMEOUT_MS: i32 = 300_000;
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);
const AUTO_COMMIT_INTERVAL: Duration = Duration::from_secs(5);
/// How often a pattern subscription looks for new matching topics.
const PATTERN_REFRESH: Duration = Duration::from_secs(10);
/// Pause after a failed join before the next attempt.
const RETRY_BACKOFF: Duration = Duration::from_millis(500);

fn group_id(instance: &Instance) -> GroupId {
    GroupId(StrBytes::from_string(instance.group.clone()))
}

fn code(error_code: i16) -> Option<ResponseError> {
    error_code.err()
}

/// Runs until the instance closes: joins while subscribed, otherwise
/// auto-commits manually assigned partitions.
pub(crate) async fn run(proxy: Arc<RestProxy>, instance: Arc<Instance>) {
    let mut last_commit = Instant::now();
    while !instance.is_closed() {
        let (mode, epoch) = {
            let state = instance.state.lock().await;
            (state.mode.clone(), state.mode_epoch)
        };
        match mode {
            Mode::Topics(_) | Mode::Pattern(_) => {
                if let Err(e) = member_session(&proxy, &instance, &mode, epoch).await {
                    tracing::warn!(group = %instance.group, instance = %instance.config.name, error = %e, "group membership failed; retrying");
                    tokio::time::sleep(RETRY_BACKOFF).await;
                }
            }
            Mode::Idle | Mode::Assigned(_) => {
                let _ = tokio::time::timeout(AUTO_COMMIT_INTERVAL, instance.wake.notified()).await;
                if instance.config.auto_commit && last_commit.elapsed() >= AUTO_COMMIT_INTERVAL {
                    last_commit = Instant::now();
                    auto_commit(&proxy, &instance).await;
                }
            }
        }
    }
}

async fn auto_commit(proxy: &RestProxy, instance: &Instance) {
    let mut state = instance.state.lock().await;
    if let Err(e) = instance.commit_consumed(proxy, &mut state, true).await {
        tracing::debug!(group = %instance.group, instance = %instance.config.name, error = %e, "auto-commit failed");
    }
}

/// The topics `mode` subscribes to now.
async fn resolve_topics(
    proxy: &RestProxy,
    instance: &Instance,
    mode: &Mode,
) -> Result<BTreeSet<String>, RestError> {
    match mode {
        Mode::Topics(topics) => Ok(topics.clone()),
        Mode::Pattern(pattern) => {
            let regex = regex::Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|e| RestError::unprocessable(format!("invalid topic_pattern: {e}")))?;
            let all = kafka::partition_counts(proxy, &instance.caller, None).await?;
            Ok(all.into_keys().filter(|t| regex.is_match(t)).collect())
        }
        Mode::Idle | Mode::Assigned(_) => Ok(BTreeSet::new()),
    }
}

/// One membership: join, sync, then heartbeat until a rebalance, a new
/// subscription or close ends it (after revoking the assignment).
async fn member_session(
    proxy: &RestProxy,
    instance: &Instance,
    mode: &Mode,
    epoch: u64,
) -> Result<(), RestError> {
    let topics = resolve_topics(proxy, instance, mode).await?;
    let (generation, member_id, assignment) = join_and_sync(proxy, instance, &topics).await?;
    {
        let mut state = instance.state.lock().await;
        state.member.generation = generation;
        state.member.member_id = member_id.clone();
        state.member.joined_topics = topics.clone();
        state.member.assignment = Some(assignment);
        instance.bump_assignment();
        if state.mode_epoch != epoch {
            instance.revoke(proxy, &mut state, false).await;
            return Ok(());
        }
    }
    let mut last_commit = Instant::now();
    let mut last_refresh = Instant::now();
    loop {
        let _ = tokio::time::timeout(HEARTBEAT_INTERVAL, instance.wake.notified()).await;
        if instance.is_closed() {
            return Ok(());
        }
        let request = HeartbeatRequest::default()
            .with_group_id(group_id(instance))
            .with_generation_id(generation)
            .with_member_id(StrBytes::from_string(member_id.clone()));
        let error = match proxy.send(&instance.caller, request).await {
            Ok(response) => code(response.error_code),
            Err(e) => {
                tracing::debug!(group = %instance.group, error = %e, "heartbeat failed");
                None
            }
        };
        let mut state = instance.state.lock().await;
        if state.mode_epoch != epoch {
            // A new subscription (or none): give the partitions back and
            // join again with it, or stay out of the group.
            instance.revoke(proxy, &mut state, false).await;
            if matches!(state.mode, Mode::Idle | Mode::Assigned(_)) {
                state.member = Default::default();
                drop(state);
                leave(proxy, instance, &member_id).await;
            }
            return Ok(());
        }
        match error {
            None => {}
            Some(ResponseError::RebalanceInProgress) => {
                instance.revoke(proxy, &mut state, false).await;
                return Ok(());
            }
            Some(ResponseError::UnknownMemberId) | Some(ResponseError::FencedInstanceId) => {
                instance.revoke(proxy, &mut state, true).await;
                state.member.member_id.clear();
                return Ok(());
            }
            Some(ResponseError::IllegalGeneration) => {
                instance.revoke(proxy, &mut state, true).await;
                return Ok(());
            }
            Some(other) => {
                tracing::debug!(group = %instance.group, error = %other, "heartbeat error");
            }
        }
        if instance.config.auto_commit && last_commit.elapsed() >= AUTO_COMMIT_INTERVAL {
            last_commit = Instant::now();
            if let Err(e) = instance.commit_consumed(proxy, &mut state, true).await {
                tracing::debug!(group = %instance.group, error = %e, "auto-commit failed");
            }
        }
        drop(state);
        if matches!(mode, Mode::Pattern(_)) && last_refresh.elapsed() >= PATTERN_REFRESH {
            last_refresh = Instant::now();
            if resolve_topics(proxy, instance, mode).await? != topics {
                let mut state = instance.state.lock().await;
                instance.revoke(proxy, &mut state, false).await;
                return Ok(());
            }
        }
    }
}

/// JoinGroup (twice for a new member: the coordinator first hands out a
/// member id) then SyncGroup; as leader, computes everyone's assignment.
async fn join_and_sync(
    proxy: &RestProxy,
    instance: &Instance,
    topics: &BTreeSet<String>,
) -> Result<(i32, String, BTreeSet<Tp>), RestError> {
    let metadata = assignors::encode_subscription(topics);
    let mut member_id = instance.state.lock().await.member.member_id.clone();
    let joined: JoinGroupResponse = loop {
        let request = JoinGroupRequest::default()
            .with_group_id(group_id(instance))
            .with_session_timeout_ms(SESSION_TIMEOUT_MS)
            .with_rebalance_timeout_ms(REBALANCE_TIMEOUT_MS)
            .with_member_id(StrBytes::from_string(member_id.clone()))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(
                assignors::PROTOCOLS
                    .iter()
                    .map(|name| {
                        JoinGroupRequestProtocol::default()
                            .with_name(StrBytes::from_static_str(name))
                            .with_metadata(metadata.clone())
                    })
                    .collect(),
            );
        let response = proxy.send(&instance.caller, request).await?;
        match code(response.error_code) {
            None => break response,
            Some(ResponseError::MemberIdRequired) => {
                member_id = response.member_id.to_string();
                instance.state.lock().await.member.member_id = member_id.clone();
            }
            Some(ResponseError::UnknownMemberId) => {
                member_id.clear();
                instance.state.lock().await.member.member_id.clear();
            }
            Some(ResponseError::RebalanceInProgress) => {}
            Some(e) => return Err(RestError::from_kafka(e, None)),
        }
        if instance.is_closed() {
            return Err(RestError::illegal_state("the instance is closing"));
        }
    };
    let member_id = joined.member_id.to_string();
    instance.state.lock().await.member.member_id = member_id.clone();
    let protocol = joined
        .protocol_name
        .as_ref()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let assignments = if joined.leader == joined.member_id {
        leader_assignments(proxy, instance, &joined, &protocol).await?
    } else {
        Vec::new()
    };
    let request = SyncGroupRequest::default()
        .with_group_id(group_id(instance))
        .with_generation_id(joined.generation_id)
        .with_member_id(StrBytes::from_string(member_id.clone()))
        .with_protocol_type(Some(StrBytes::from_static_str("consumer")))
        .with_protocol_name(Some(StrBytes::from_string(protocol)))
        .with_assignments(assignments);
    let synced = proxy.send(&instance.caller, request).await?;
    if let Some(e) = code(synced.error_code) {
        if e == ResponseError::UnknownMemberId {
            instance.state.lock().await.member.member_id.clear();
        }
        return Err(RestError::from_kafka(e, None));
    }
    let assignment = assignors::decode_assignment(&synced.assignment).ok_or_else(|| {
        RestError::kafka("the group leader sent an assignment that does not parse")
    })?;
    let partitions = assignment
        .into_iter()
        .flat_map(|(t, ps)| ps.into_iter().map(move |p| (t.clone(), p)))
        .collect();
    Ok((joined.generation_id, member_id, partitions))
}

/// The leader's work: every member's assignment under the chosen protocol,
/// over the partitions of the topics any member subscribes to.
async fn leader_assignments(
    proxy: &RestProxy,
    instance: &Instance,
    joined: &JoinGroupResponse,
    protocol: &str,
) -> Result<Vec<SyncGroupRequestAssignment>, RestError> {
    let mut members = BTreeMap::new();
    for m in &joined.members {
        // A member whose metadata does not parse subscribes to nothing.
        let topics = assignors::decode_subscription(&m.metadata).unwrap_or_default();
        members.insert(m.member_id.to_string(), topics);
    }
    let wanted: BTreeSet<String> = members.values().flatten().cloned().collect();
    let counts = kafka::partition_counts(proxy, &instance.caller, Some(&wanted)).await?;
    let assigned = assignors::assign(protocol, &members, &counts).ok_or_else(|| {
        RestError::kafka(format!(
            "the group chose assignor {protocol:?}, which this proxy does not run"
        ))
    })?;
    Ok(assigned
        .into_iter()
        .map(|(member, assignment)| {
            SyncGroupRequestAssignment::default()
                .with_member_id(StrBytes::from_string(member))
                .with_assignment(assignors::encode_assignment(&assignment))
        })
        .collect())
}

/// LeaveGroup for `member_id`; failures are logged (the session timeout
/// removes the member anyway).
pub(crate) async fn leave(proxy: &RestProxy, instance: &Instance, member_id: &str) {
    let request = LeaveGroupRequest::default()
        .with_group_id(group_id(instance))
        .with_members(vec![MemberIdentity::default()
            .with_member_id(StrBytes::from_string(member_id.to_string()))
            .with_reason(Some(StrBytes::from_static_str(
                "the REST consumer instance was closed",
            )))]);
    match proxy.send(&instance.caller, request).await {
        Ok(r) if r.error_code != 0 => {
            tracing::debug!(group = %instance.group, code = r.error_code, "leave group refused")
        }
        Ok(_) => {}
        Err(e) => tracing::debug!(group = %instance.group, error = %e, "leave group failed"),
    }
}
