//! A classic member's session in any phase: heartbeats, leaving, removal,
//! the timers (session expiry, join and sync deadlines) and deletion.

use std::time::Instant;

use kafka_protocol::error::ResponseError;

use super::*;

impl ClassicGroup {
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

    pub(super) fn check_member(
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
    pub(super) fn remove_member(&mut self, member_id: &str, now: Instant) {
        if let Some(mut m) = self.remove_member_entry(member_id) {
            if let Some(w) = m.join_waiter.take() {
                self.replies.push(
                    w,
                    JoinResult::error(ResponseError::UnknownMemberId, member_id),
                );
            }
            if let Some(w) = m.sync_waiter.take() {
                self.replies
                    .push(w, SyncResult::error(ResponseError::UnknownMemberId));
            }
        }
        self.dirty = true;
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                if self.members.is_empty() {
                    self.generation_id += 1;
                    self.transition(GroupState::Empty, now);
                } else {
                    self.transition(GroupState::PreparingRebalance, now);
                }
            }
            GroupState::PreparingRebalance if self.members.is_empty() && !self.initial_join => {
                self.complete_join(now);
            }
            _ => {}
        }
    }

    pub(super) fn remove_member_entry(&mut self, member_id: &str) -> Option<Member> {
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

    /// Whether [`Self::tick`] has anything to do now: a pending member or a
    /// session expired, a join phase under way, a sync phase timed out.
    pub(crate) fn due(&self, now: Instant) -> bool {
        self.state == GroupState::PreparingRebalance
            || self.pending_members.values().any(|expires| now >= *expires)
            || (self.state == GroupState::CompletingRebalance
                && self.sync_deadline.is_some_and(|d| now >= d))
            || self.members.values().any(|m| m.session_expired(now))
    }

    /// Expires sessions and ends join or sync phases whose time is up.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.pending_members.retain(|_, expires| now < *expires);
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.session_expired(now))
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
                self.generation_id += 1;
                self.transition(GroupState::Empty, now);
            } else {
                self.transition(GroupState::PreparingRebalance, now);
            }
        }
        self.maybe_complete_join(now);
    }

    /// Marks the group deleted; pending calls learn the coordinator moved on.
    pub(crate) fn mark_dead(&mut self) {
        self.transition(GroupState::Dead, Instant::now());
    }
}
