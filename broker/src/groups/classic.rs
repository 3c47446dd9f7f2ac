//! The classic consumer-group protocol (JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup) as Apache Kafka's group coordinator runs it: the state
//! machine Empty -> PreparingRebalance -> CompletingRebalance -> Stable, with
//! Dead for deleted groups.
//!
//! Pure state, no I/O: callers hold the coordinator lock, call a method, and
//! then await the oneshot receivers it returns outside the lock. Timers are
//! deadlines checked by [`ClassicGroup::tick`]. The broker never looks inside
//! protocol metadata or assignments: client-side assignors (range,
//! roundrobin, sticky, cooperative-sticky) pass through untouched.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use tokio::sync::oneshot;

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
#[derive(Debug)]
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
    join_waiter: Option<oneshot::Sender<JoinResult>>,
    sync_waiter: Option<oneshot::Sender<SyncResult>>,
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
#[derive(Debug)]
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

    /// Handles a JoinGroup; the result arrives on the receiver (at once for
    /// errors and MEMBER_ID_REQUIRED, at the end of the join phase otherwise).
    pub(crate) fn join(
        &mut self,
        request: JoinRequest,
        now: Instant,
    ) -> oneshot::Receiver<JoinResult> {
        let settings = self.settings;
        let (tx, rx) = oneshot::channel();
        let reply = |tx: oneshot::Sender<JoinResult>, r: JoinResult| {
            let _ = tx.send(r);
        };
        if request.session_timeout_ms < settings.min_session_timeout_ms
            || request.session_timeout_ms > settings.max_session_timeout_ms
        {
            reply(
                tx,
                JoinResult::error(ResponseError::InvalidSessionTimeout, &request.member_id),
            );
            return rx;
        }
        if self.state == GroupState::Dead {
            reply(
                tx,
                JoinResult::error(ResponseError::CoordinatorNotAvailable, &request.member_id),
            );
            return rx;
        }
        if !self.supports_protocols(&request.protocol_type, &request.protocols) {
            reply(
                tx,
                JoinResult::error(ResponseError::InconsistentGroupProtocol, &request.member_id),
            );
            return rx;
        }
        if request.member_id.is_empty() {
            self.join_unknown_member(request, tx, now);
        } else {
            self.join_known_member(request, tx, now);
        }
        self.maybe_complete_join(now);
        rx
    }

    fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        // Some protocol every current member also supports.
        protocols.iter().any(|(name, _)| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    fn join_unknown_member(
        &mut self,
        request: JoinRequest,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        let member_id = format!("{}-{}", request.client_id, uuid::Uuid::new_v4());
        if let Some(instance) = request.group_instance_id.clone() {
            if let Some(old_id) = self.static_members.get(&instance).cloned() {
                self.replace_static_member(&instance, &old_id, &member_id, request, tx, now);
                return;
            }
        } else if request.require_known_member_id {
            // KIP-394: hand out the id; the member joins again with it.
            self.pending_members
                .insert(member_id.clone(), now + ms(request.session_timeout_ms));
            let _ = tx.send(JoinResult {
                member_id,
                ..JoinResult::error(ResponseError::MemberIdRequired, "")
            });
            return;
        }
        self.add_member(member_id, request, tx, now);
    }

    fn join_known_member(
        &mut self,
        request: JoinRequest,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        let member_id = request.member_id.clone();
        if self.pending_members.remove(&member_id).is_some() {
            self.add_member(member_id, request, tx, now);
            return;
        }
        let Some(member) = self.members.get(&member_id) else {
            let _ = tx.send(JoinResult::error(
                ResponseError::UnknownMemberId,
                &member_id,
            ));
            return;
        };
        if let Some(instance) = &request.group_instance_id {
            if self.static_members.get(instance) != Some(&member_id) {
                let _ = tx.send(JoinResult::error(
                    ResponseError::FencedInstanceId,
                    &member_id,
                ));
                return;
            }
        }
        let unchanged = member.protocols == request.protocols;
        match self.state {
            GroupState::PreparingRebalance => self.update_member(&member_id, request, tx, now),
            // Nothing changed for this member (a lost response or a follower
            // rejoining): answer with the current generation again. A leader
            // rejoining a stable group triggers a rebalance, as in Kafka.
            GroupState::CompletingRebalance if unchanged => {
                self.rejoin_unchanged(&member_id, tx, now)
            }
            GroupState::Stable
                if unchanged && self.leader.as_deref() != Some(member_id.as_str()) =>
            {
                self.rejoin_unchanged(&member_id, tx, now)
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member(&member_id, request, tx, now);
                self.prepare_rebalance(now);
            }
            GroupState::Empty | GroupState::Dead => {
                let _ = tx.send(JoinResult::error(
                    ResponseError::UnknownMemberId,
                    &member_id,
                ));
            }
        }
    }

    fn rejoin_unchanged(&mut self, member_id: &str, tx: oneshot::Sender<JoinResult>, now: Instant) {
        let result = self.join_result_for(member_id);
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_heartbeat = now;
        }
        let _ = tx.send(result);
    }

    fn replace_static_member(
        &mut self,
        instance: &str,
        old_id: &str,
        new_id: &str,
        request: JoinRequest,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        let Some(mut old) = self.members.remove(old_id) else {
            self.static_members.remove(instance);
            self.add_member(new_id.to_string(), request, tx, now);
            return;
        };
        // The old incarnation is fenced: its pending calls fail.
        if let Some(w) = old.join_waiter.take() {
            let _ = w.send(JoinResult::error(ResponseError::FencedInstanceId, old_id));
        }
        if let Some(w) = old.sync_waiter.take() {
            let _ = w.send(SyncResult::error(ResponseError::FencedInstanceId));
        }
        let unchanged = old.protocols == request.protocols;
        old.member_id = new_id.to_string();
        old.protocols = request.protocols;
        old.session_timeout = ms(request.session_timeout_ms);
        old.rebalance_timeout = ms(request.rebalance_timeout_ms);
        old.client_id = request.client_id;
        old.client_host = request.client_host;
        old.last_heartbeat = now;
        self.members.insert(new_id.to_string(), old);
        self.static_members
            .insert(instance.to_string(), new_id.to_string());
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.to_string());
        }
        self.dirty = true;
        match self.state {
            GroupState::Stable if unchanged => {
                // KIP-345: a static member coming back unchanged does not rebalance;
                // it gets the current generation and, on SyncGroup, its old assignment.
                let result = self.join_result_for(new_id);
                let _ = tx.send(result);
            }
            GroupState::PreparingRebalance => {
                if let Some(m) = self.members.get_mut(new_id) {
                    m.join_waiter = Some(tx);
                }
            }
            _ => {
                if let Some(m) = self.members.get_mut(new_id) {
                    m.join_waiter = Some(tx);
                }
                self.prepare_rebalance(now);
            }
        }
    }

    fn add_member(
        &mut self,
        member_id: String,
        request: JoinRequest,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        tracing::info!(group = %self.group_id, member = %member_id, state = self.state.name(), "member joins the group");
        if self.members.is_empty() {
            self.protocol_type = Some(request.protocol_type.clone());
        }
        if let Some(instance) = &request.group_instance_id {
            self.static_members
                .insert(instance.clone(), member_id.clone());
        }
        self.members.insert(
            member_id.clone(),
            Member {
                member_id: member_id.clone(),
                group_instance_id: request.group_instance_id,
                client_id: request.client_id,
                client_host: request.client_host,
                session_timeout: ms(request.session_timeout_ms),
                rebalance_timeout: ms(request.rebalance_timeout_ms),
                protocols: request.protocols,
                assignment: Bytes::new(),
                last_heartbeat: now,
                join_waiter: Some(tx),
                sync_waiter: None,
            },
        );
        if self.state == GroupState::PreparingRebalance {
            if self.initial_join {
                // Each new member restarts the initial delay, up to the rebalance timeout.
                let cap = self.join_deadline_cap.unwrap_or(now);
                self.join_deadline = Some((now + self.settings.initial_rebalance_delay).min(cap));
            }
        } else {
            self.prepare_rebalance(now);
        }
    }

    fn update_member(
        &mut self,
        member_id: &str,
        request: JoinRequest,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.protocols = request.protocols;
            m.session_timeout = ms(request.session_timeout_ms);
            m.rebalance_timeout = ms(request.rebalance_timeout_ms);
            m.last_heartbeat = now;
            if let Some(old) = m.join_waiter.replace(tx) {
                let _ = old.send(JoinResult::error(
                    ResponseError::RebalanceInProgress,
                    member_id,
                ));
            }
        }
    }

    /// Starts a rebalance: every member must rejoin within the rebalance
    /// timeout. From Empty, the join phase lasts `group.initial.rebalance.delay.ms`
    /// (extended by each new member) so that members starting together land
    /// in one generation.
    fn prepare_rebalance(&mut self, now: Instant) {
        if self.state == GroupState::CompletingRebalance {
            // Members waiting on SyncGroup learn that another round started.
            for m in self.members.values_mut() {
                if let Some(w) = m.sync_waiter.take() {
                    let _ = w.send(SyncResult::error(ResponseError::RebalanceInProgress));
                }
            }
        }
        self.initial_join = self.state == GroupState::Empty;
        self.state = GroupState::PreparingRebalance;
        self.sync_deadline = None;
        let cap = now + self.max_rebalance_timeout();
        self.join_deadline_cap = Some(cap);
        self.join_deadline = Some(if self.initial_join {
            (now + self.settings.initial_rebalance_delay).min(cap)
        } else {
            cap
        });
    }

    fn max_rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// Ends the join phase when it may end: after the initial delay for a
    /// group starting from Empty, otherwise once every member has rejoined or
    /// the rebalance timeout has passed.
    fn maybe_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let expired = self.join_deadline.is_some_and(|d| now >= d);
        let everyone_in =
            self.members.values().all(Member::awaiting_join) && self.pending_members.is_empty();
        if expired || (!self.initial_join && everyone_in) {
            self.complete_join(now);
        }
    }

    fn complete_join(&mut self, now: Instant) {
        // Members that did not rejoin in time are out (static ones too: their
        // session would have had to be kept alive by joining).
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.awaiting_join())
            .map(|m| m.member_id.clone())
            .collect();
        for id in gone {
            tracing::info!(group = %self.group_id, member = %id, "member removed: it did not rejoin before the rebalance ended");
            self.remove_member_entry(&id);
        }
        // Pending members (handed an id by MEMBER_ID_REQUIRED) stay pending until
        // they join with it or their session passes, as in Kafka: one that comes
        // back a moment after this join phase joins the next one.
        self.join_deadline = None;
        self.join_deadline_cap = None;
        self.initial_join = false;
        self.generation_id += 1;
        self.dirty = true;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol_name = None;
            self.leader = None;
            return;
        }
        self.protocol_name = Some(self.select_protocol());
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.state = GroupState::CompletingRebalance;
        self.sync_deadline = Some(now + self.max_rebalance_timeout());
        tracing::info!(
            group = %self.group_id,
            generation = self.generation_id,
            members = self.members.len(),
            "group join phase complete, awaiting the leader's assignment"
        );
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let result = self.join_result_for(&id);
            if let Some(m) = self.members.get_mut(&id) {
                m.last_heartbeat = now;
                if let Some(w) = m.join_waiter.take() {
                    let _ = w.send(result);
                }
            }
        }
    }

    /// The protocol most members prefer among those all of them support.
    fn select_protocol(&self) -> String {
        let candidates: Vec<&String> = self
            .members
            .values()
            .next()
            .map(|m| m.protocols.iter().map(|(n, _)| n).collect())
            .unwrap_or_default();
        let common: Vec<&String> = candidates
            .into_iter()
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == *name))
            })
            .collect();
        let mut votes: Vec<(usize, &String)> = common.iter().map(|c| (0usize, *c)).collect();
        for m in self.members.values() {
            if let Some(first) = m
                .protocols
                .iter()
                .map(|(n, _)| n)
                .find(|n| common.contains(n))
            {
                if let Some(v) = votes.iter_mut().find(|(_, c)| *c == first) {
                    v.0 += 1;
                }
            }
        }
        // Most votes; ties go to the earliest listed by the first member, as Kafka does.
        let best = votes.iter().map(|(n, _)| *n).max().unwrap_or(0);
        votes
            .iter()
            .find(|(n, _)| *n == best)
            .map(|(_, c)| (*c).clone())
            .unwrap_or_default()
    }

    fn join_result_for(&self, member_id: &str) -> JoinResult {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let is_leader = self.leader.as_deref() == Some(member_id);
        JoinResult {
            error: None,
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members: if is_leader {
                self.members
                    .values()
                    .map(|m| JoinedMember {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.group_instance_id.clone(),
                        metadata: m.metadata_for(&protocol),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Handles a SyncGroup.
    pub(crate) fn sync(
        &mut self,
        request: SyncRequest,
        now: Instant,
    ) -> oneshot::Receiver<SyncResult> {
        let (tx, rx) = oneshot::channel();
        let SyncRequest {
            member_id,
            group_instance_id,
            generation_id,
            protocol_type,
            protocol_name,
            assignments,
        } = request;
        let member_id = member_id.as_str();
        if let Err(e) = self.check_member(member_id, group_instance_id.as_deref()) {
            let _ = tx.send(SyncResult::error(e));
            return rx;
        }
        if generation_id != self.generation_id {
            let _ = tx.send(SyncResult::error(ResponseError::IllegalGeneration));
            return rx;
        }
        if protocol_type
            .as_ref()
            .is_some_and(|p| Some(p) != self.protocol_type.as_ref())
            || protocol_name
                .as_ref()
                .is_some_and(|p| Some(p) != self.protocol_name.as_ref())
        {
            let _ = tx.send(SyncResult::error(ResponseError::InconsistentGroupProtocol));
            return rx;
        }
        match self.state {
            GroupState::PreparingRebalance => {
                let _ = tx.send(SyncResult::error(ResponseError::RebalanceInProgress));
            }
            GroupState::CompletingRebalance => {
                if let Some(m) = self.members.get_mut(member_id) {
                    m.last_heartbeat = now;
                    m.sync_waiter = Some(tx);
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = given.remove(&m.member_id).unwrap_or_default();
                    }
                    self.state = GroupState::Stable;
                    self.sync_deadline = None;
                    self.dirty = true;
                    tracing::info!(group = %self.group_id, generation = self.generation_id, members = self.members.len(), "group stable");
                    let (ptype, pname) = (self.protocol_type.clone(), self.protocol_name.clone());
                    for m in self.members.values_mut() {
                        if let Some(w) = m.sync_waiter.take() {
                            let _ = w.send(SyncResult {
                                error: None,
                                protocol_type: ptype.clone(),
                                protocol_name: pname.clone(),
                                assignment: m.assignment.clone(),
                            });
                        }
                    }
                }
            }
            GroupState::Stable => {
                let m = self.members.get_mut(member_id).expect("checked");
                m.last_heartbeat = now;
                let _ = tx.send(SyncResult {
                    error: None,
                    protocol_type: self.protocol_type.clone(),
                    protocol_name: self.protocol_name.clone(),
                    assignment: m.assignment.clone(),
                });
            }
            GroupState::Empty | GroupState::Dead => {
                let _ = tx.send(SyncResult::error(ResponseError::UnknownMemberId));
            }
        }
        rx
    }

    /// Handles a Heartbeat.
    pub(crate) fn heartbeat(
        &mut self,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        now: Instant,
    ) -> Result<(), ResponseError> {
        self.check_member(member_id, group_instance_id)?;
        if generation_id != self.generation_id {
            return Err(ResponseError::IllegalGeneration);
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_heartbeat = now;
        }
        match self.state {
            GroupState::PreparingRebalance => Err(ResponseError::RebalanceInProgress),
            GroupState::CompletingRebalance | GroupState::Stable => Ok(()),
            GroupState::Empty | GroupState::Dead => Err(ResponseError::UnknownMemberId),
        }
    }

    /// Handles one member of a LeaveGroup; `member_id` may be empty when the
    /// member is named by its instance id (v3+).
    pub(crate) fn leave(
        &mut self,
        member_id: &str,
        group_instance_id: Option<&str>,
        now: Instant,
    ) -> Result<(), ResponseError> {
        let resolved = match group_instance_id {
            Some(instance) => {
                let Some(holder) = self.static_members.get(instance).cloned() else {
                    return Err(ResponseError::UnknownMemberId);
                };
                if !member_id.is_empty() && member_id != holder {
                    return Err(ResponseError::FencedInstanceId);
                }
                holder
            }
            None => member_id.to_string(),
        };
        if self.pending_members.remove(&resolved).is_some() {
            return Ok(());
        }
        if !self.members.contains_key(&resolved) {
            return Err(ResponseError::UnknownMemberId);
        }
        tracing::info!(group = %self.group_id, member = %resolved, "member left the group");
        self.remove_member(&resolved, now);
        Ok(())
    }

    fn check_member(
        &self,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<(), ResponseError> {
        if self.state == GroupState::Dead {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        if !self.members.contains_key(member_id) {
            return Err(ResponseError::UnknownMemberId);
        }
        if let Some(instance) = group_instance_id {
            if self.static_members.get(instance).map(String::as_str) != Some(member_id) {
                return Err(ResponseError::FencedInstanceId);
            }
        }
        Ok(())
    }

    /// Removes a member and moves the group on as Kafka does.
    fn remove_member(&mut self, member_id: &str, now: Instant) {
        if let Some(mut m) = self.remove_member_entry(member_id) {
            if let Some(w) = m.join_waiter.take() {
                let _ = w.send(JoinResult::error(ResponseError::UnknownMemberId, member_id));
            }
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(SyncResult::error(ResponseError::UnknownMemberId));
            }
        }
        self.dirty = true;
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                if self.members.is_empty() {
                    self.become_empty();
                } else {
                    self.prepare_rebalance(now);
                }
            }
            GroupState::PreparingRebalance if self.members.is_empty() && !self.initial_join => {
                self.complete_join(now);
            }
            _ => {}
        }
    }

    fn remove_member_entry(&mut self, member_id: &str) -> Option<Member> {
        let m = self.members.remove(member_id)?;
        if let Some(instance) = &m.group_instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = None;
        }
        Some(m)
    }

    fn become_empty(&mut self) {
        self.state = GroupState::Empty;
        self.generation_id += 1;
        self.protocol_name = None;
        self.leader = None;
        self.join_deadline = None;
        self.sync_deadline = None;
        self.dirty = true;
    }

    /// Expires sessions and ends join or sync phases whose time is up.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.pending_members.retain(|_, expires| now < *expires);
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                !m.awaiting_join()
                    && m.sync_waiter.is_none()
                    && now >= m.last_heartbeat + m.session_timeout
            })
            .map(|m| m.member_id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %self.group_id, member = %id, "member session expired");
            self.remove_member(&id, now);
        }
        if self.state == GroupState::CompletingRebalance
            && self.sync_deadline.is_some_and(|d| now >= d)
        {
            // The leader never sent its assignment: members that did not sync are out.
            let silent: Vec<String> = self
                .members
                .values()
                .filter(|m| m.sync_waiter.is_none())
                .map(|m| m.member_id.clone())
                .collect();
            for id in silent {
                tracing::info!(group = %self.group_id, member = %id, "member removed: no SyncGroup before the leader's assignment timed out");
                self.remove_member_entry(&id);
            }
            if self.members.is_empty() {
                self.become_empty();
            } else {
                self.prepare_rebalance(now);
            }
        }
        self.maybe_complete_join(now);
    }

    /// Marks the group deleted; pending calls learn the coordinator moved on.
    pub(crate) fn mark_dead(&mut self) {
        for m in self.members.values_mut() {
            if let Some(w) = m.join_waiter.take() {
                let _ = w.send(JoinResult::error(
                    ResponseError::CoordinatorNotAvailable,
                    &m.member_id,
                ));
            }
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(SyncResult::error(ResponseError::CoordinatorNotAvailable));
            }
        }
        self.state = GroupState::Dead;
    }
}

fn ms(value: i32) -> Duration {
    Duration::from_millis(value.max(0) as u64)
}
