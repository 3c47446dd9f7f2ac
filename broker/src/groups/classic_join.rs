//! The classic group's join phase (PreparingRebalance): members join or
//! rejoin, static members are replaced, and the phase ends with a new
//! generation, its protocol and leader (CompletingRebalance) or an empty
//! group.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use super::*;

impl ClassicGroup {
    /// Handles a JoinGroup; the result arrives on the receiver (at once for
    /// errors and MEMBER_ID_REQUIRED, at the end of the join phase otherwise).
    pub(crate) fn join(&mut self, request: JoinRequest, tx: Waiter<JoinResult>, now: Instant) {
        let settings = self.settings;
        if request.session_timeout_ms < settings.min_session_timeout_ms
            || request.session_timeout_ms > settings.max_session_timeout_ms
        {
            let error = JoinResult::error(ResponseError::InvalidSessionTimeout, &request.member_id);
            self.replies.push(tx, error);
            return;
        }
        if self.state == GroupState::Dead {
            let error =
                JoinResult::error(ResponseError::CoordinatorNotAvailable, &request.member_id);
            self.replies.push(tx, error);
            return;
        }
        if !self.supports_protocols(&request.protocol_type, &request.protocols) {
            let error =
                JoinResult::error(ResponseError::InconsistentGroupProtocol, &request.member_id);
            self.replies.push(tx, error);
            return;
        }
        if request.member_id.is_empty() {
            self.join_unknown_member(request, tx, now);
        } else {
            self.join_known_member(request, tx, now);
        }
        self.maybe_complete_join(now);
    }

    pub(super) fn supports_protocols(
        &self,
        protocol_type: &str,
        protocols: &[(String, Bytes)],
    ) -> bool {
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

    pub(super) fn join_unknown_member(
        &mut self,
        request: JoinRequest,
        tx: Waiter<JoinResult>,
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
            self.replies.push(
                tx,
                JoinResult {
                    member_id,
                    ..JoinResult::error(ResponseError::MemberIdRequired, "")
                },
            );
            return;
        }
        self.add_member(member_id, request, tx, now);
    }

    pub(super) fn join_known_member(
        &mut self,
        request: JoinRequest,
        tx: Waiter<JoinResult>,
        now: Instant,
    ) {
        let member_id = request.member_id.clone();
        if self.pending_members.remove(&member_id).is_some() {
            self.add_member(member_id, request, tx, now);
            return;
        }
        let Some(member) = self.members.get(&member_id) else {
            self.replies.push(
                tx,
                JoinResult::error(ResponseError::UnknownMemberId, &member_id),
            );
            return;
        };
        if let Some(instance) = &request.group_instance_id {
            if self.static_members.get(instance) != Some(&member_id) {
                self.replies.push(
                    tx,
                    JoinResult::error(ResponseError::FencedInstanceId, &member_id),
                );
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
                self.transition(GroupState::PreparingRebalance, now);
            }
            GroupState::Empty | GroupState::Dead => {
                self.replies.push(
                    tx,
                    JoinResult::error(ResponseError::UnknownMemberId, &member_id),
                );
            }
        }
    }

    pub(super) fn rejoin_unchanged(
        &mut self,
        member_id: &str,
        tx: Waiter<JoinResult>,
        now: Instant,
    ) {
        let result = self.join_result_for(member_id);
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_heartbeat = now;
        }
        self.replies.push(tx, result);
    }

    pub(super) fn replace_static_member(
        &mut self,
        instance: &str,
        old_id: &str,
        new_id: &str,
        request: JoinRequest,
        tx: Waiter<JoinResult>,
        now: Instant,
    ) {
        let Some(mut old) = self.members.remove(old_id) else {
            self.static_members.remove(instance);
            self.add_member(new_id.to_string(), request, tx, now);
            return;
        };
        // The old incarnation is fenced: its pending calls fail.
        if let Some(w) = old.join_waiter.take() {
            self.replies.push(
                w,
                JoinResult::error(ResponseError::FencedInstanceId, old_id),
            );
        }
        if let Some(w) = old.sync_waiter.take() {
            self.replies
                .push(w, SyncResult::error(ResponseError::FencedInstanceId));
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
                self.replies.push(tx, result);
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
                self.transition(GroupState::PreparingRebalance, now);
            }
        }
    }

    pub(super) fn add_member(
        &mut self,
        member_id: String,
        request: JoinRequest,
        tx: Waiter<JoinResult>,
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
            self.transition(GroupState::PreparingRebalance, now);
        }
    }

    pub(super) fn update_member(
        &mut self,
        member_id: &str,
        request: JoinRequest,
        tx: Waiter<JoinResult>,
        now: Instant,
    ) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.protocols = request.protocols;
            m.session_timeout = ms(request.session_timeout_ms);
            m.rebalance_timeout = ms(request.rebalance_timeout_ms);
            m.last_heartbeat = now;
            if let Some(old) = m.join_waiter.replace(tx) {
                self.replies.push(
                    old,
                    JoinResult::error(ResponseError::RebalanceInProgress, member_id),
                );
            }
        }
    }

    pub(super) fn max_rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// Ends the join phase when it may end: after the initial delay for a
    /// group starting from Empty, otherwise once every member has rejoined or
    /// the rebalance timeout has passed.
    pub(super) fn maybe_complete_join(&mut self, now: Instant) {
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

    pub(super) fn complete_join(&mut self, now: Instant) {
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
            self.transition(GroupState::Empty, now);
        } else {
            self.transition(GroupState::CompletingRebalance, now);
        }
    }

    /// The protocol most members prefer among those all of them support.
    pub(super) fn select_protocol(&self) -> String {
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

    pub(super) fn join_result_for(&self, member_id: &str) -> JoinResult {
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
}
