//! The classic consumer-group protocol (JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup) as Apache Kafka's group coordinator runs it: the state
//! machine Empty -> PreparingRebalance -> CompletingRebalance -> Stable, with
//! Dead for deleted groups.
//!
//! Pure state, no I/O: callers hold the coordinator lock, call a method on
//! a copy of the group, append what changed, and then await the waiters
//! they passed in outside the lock; answers are queued in `replies` until
//! the caller installs the copy (see `persist.rs`). Timers are
//! deadlines checked by [`ClassicGroup::tick`]. The broker never looks inside
//! protocol metadata or assignments: client-side assignors (range,
//! roundrobin, sticky, cooperative-sticky) pass through untouched.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use super::replies::{Replies, Waiter};

#[path = "classic_join.rs"]
mod join;
#[path = "classic_session.rs"]
mod session;
#[path = "classic_sync.rs"]
mod sync;
#[path = "classic_transition.rs"]
mod transition;

/// Kafka's group states, with the names DescribeGroups and ListGroups report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// Coordinator settings the state machine needs (Kafka's broker properties).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupSettings {
    pub(crate) initial_rebalance_delay: Duration,
    pub(crate) min_session_timeout_ms: i32,
    pub(crate) max_session_timeout_ms: i32,
}

/// What a JoinGroup gets back.
#[derive(Debug, Clone, Default)]
pub(crate) struct JoinResult {
    pub(crate) error: Option<ResponseError>,
    pub(crate) generation_id: i32,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    pub(crate) leader: String,
    pub(crate) member_id: String,
    /// Only the leader gets the members and their metadata.
    pub(crate) members: Vec<JoinedMember>,
}

impl JoinResult {
    fn error(error: ResponseError, member_id: &str) -> Self {
        JoinResult {
            error: Some(error),
            generation_id: -1,
            member_id: member_id.to_string(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct JoinedMember {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) metadata: Bytes,
}

/// A SyncGroup as the state machine needs it.
#[derive(Debug, Clone)]
pub(crate) struct SyncRequest {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) generation_id: i32,
    /// SyncGroup v5+ repeats the protocol type and name, which must match.
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    pub(crate) assignments: Vec<(String, Bytes)>,
}

/// What a SyncGroup gets back.
#[derive(Debug, Clone, Default)]
pub(crate) struct SyncResult {
    pub(crate) error: Option<ResponseError>,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    pub(crate) assignment: Bytes,
}

impl SyncResult {
    fn error(error: ResponseError) -> Self {
        SyncResult {
            error: Some(error),
            ..Default::default()
        }
    }
}

/// A JoinGroup as the state machine needs it.
#[derive(Debug, Clone)]
pub(crate) struct JoinRequest {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) session_timeout_ms: i32,
    pub(crate) rebalance_timeout_ms: i32,
    pub(crate) protocol_type: String,
    pub(crate) protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+ must first be given a member id (KIP-394).
    pub(crate) require_known_member_id: bool,
}

/// One member of a classic group.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) session_timeout: Duration,
    pub(crate) rebalance_timeout: Duration,
    pub(crate) protocols: Vec<(String, Bytes)>,
    pub(crate) assignment: Bytes,
    last_heartbeat: Instant,
    join_waiter: Option<Waiter<JoinResult>>,
    sync_waiter: Option<Waiter<SyncResult>>,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
    fn awaiting_join(&self) -> bool {
        self.join_waiter.is_some()
    }
    /// A member waiting on a join or sync phase keeps its session.
    fn session_expired(&self, now: Instant) -> bool {
        !self.awaiting_join()
            && self.sync_waiter.is_none()
            && now >= self.last_heartbeat + self.session_timeout
    }
}

/// A member restored from `__consumer_offsets`.
#[derive(Debug, Clone)]
pub(crate) struct StoredMember {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) rebalance_timeout_ms: i32,
    pub(crate) session_timeout_ms: i32,
    pub(crate) subscription: Bytes,
    pub(crate) assignment: Bytes,
}

/// The group record `__consumer_offsets` keeps (Kafka's GroupMetadataValue).
#[derive(Debug, Clone)]
pub(crate) struct StoredGroup {
    pub(crate) protocol_type: String,
    pub(crate) generation_id: i32,
    pub(crate) protocol_name: Option<String>,
    pub(crate) leader: Option<String>,
    pub(crate) state_timestamp: i64,
    pub(crate) members: Vec<StoredMember>,
}

/// A classic group.
#[derive(Debug, Clone)]
pub(crate) struct ClassicGroup {
    pub(crate) group_id: String,
    pub(crate) state: GroupState,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    pub(crate) generation_id: i32,
    pub(crate) leader: Option<String>,
    pub(crate) members: BTreeMap<String, Member>,
    /// group.instance.id -> member id of the static member holding it.
    static_members: HashMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, and when they expire.
    pending_members: HashMap<String, Instant>,
    /// When the current join phase (PreparingRebalance) must end.
    join_deadline: Option<Instant>,
    /// When the initial delay of a rebalance from Empty may end at the latest.
    join_deadline_cap: Option<Instant>,
    /// Whether this rebalance started from Empty (initial delay applies).
    initial_join: bool,
    /// When CompletingRebalance gives up waiting for the leader's SyncGroup.
    sync_deadline: Option<Instant>,
    /// Set whenever the stored group record must be rewritten.
    pub(crate) dirty: bool,
    /// Answers queued by the change under way.
    pub(crate) replies: Replies,
    settings: GroupSettings,
}

impl ClassicGroup {
    pub(crate) fn new(group_id: &str, settings: GroupSettings) -> Self {
        ClassicGroup {
            group_id: group_id.to_string(),
            state: GroupState::Empty,
            protocol_type: None,
            protocol_name: None,
            generation_id: 0,
            leader: None,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            pending_members: HashMap::new(),
            join_deadline: None,
            join_deadline_cap: None,
            initial_join: false,
            sync_deadline: None,
            dirty: false,
            replies: Replies::default(),
            settings,
        }
    }

    /// Rebuilds a group from its stored record: members are back, each with a
    /// fresh session, and must heartbeat within it to stay.
    pub(crate) fn restore(
        group_id: &str,
        stored: StoredGroup,
        settings: GroupSettings,
        now: Instant,
    ) -> Self {
        let mut group = ClassicGroup::new(group_id, settings);
        group.protocol_type = Some(stored.protocol_type).filter(|p| !p.is_empty());
        group.protocol_name = stored.protocol_name;
        group.generation_id = stored.generation_id;
        group.leader = stored.leader;
        for m in stored.members {
            if let Some(instance) = &m.group_instance_id {
                group
                    .static_members
                    .insert(instance.clone(), m.member_id.clone());
            }
            let protocol = group.protocol_name.clone().unwrap_or_default();
            group.members.insert(
                m.member_id.clone(),
                Member {
                    member_id: m.member_id,
                    group_instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    session_timeout: ms(m.session_timeout_ms),
                    rebalance_timeout: ms(m.rebalance_timeout_ms),
                    protocols: vec![(protocol, m.subscription)],
                    assignment: m.assignment,
                    last_heartbeat: now,
                    join_waiter: None,
                    sync_waiter: None,
                },
            );
        }
        group.state = if group.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        group
    }

    /// The record to store for this group.
    pub(crate) fn to_stored(&self, now_ms: i64) -> StoredGroup {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        StoredGroup {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation_id: self.generation_id,
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone(),
            state_timestamp: now_ms,
            members: self
                .members
                .values()
                .map(|m| StoredMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout.as_millis() as i32,
                    session_timeout_ms: m.session_timeout.as_millis() as i32,
                    subscription: m.metadata_for(&protocol),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty() && self.pending_members.is_empty()
    }
}

fn ms(value: i32) -> Duration {
    Duration::from_millis(value.max(0) as u64)
}
