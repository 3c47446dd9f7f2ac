//! The classic state machine's transitions, in one place: which state may
//! follow which (Kafka's `ClassicGroupState.validPreviousStates`), and what
//! entering each state does. The phases (`classic_join`, `classic_sync`,
//! `classic_session`) decide *when* to move; [`ClassicGroup::transition`]
//! is the only code that sets `state`.

use std::time::Instant;

use kafka_protocol::error::ResponseError;

use super::*;

impl GroupState {
    /// The states a group may enter this one from. As Kafka's table, except
    /// that the last member leaving a Stable or CompletingRebalance group
    /// empties it at once (Kafka passes through PreparingRebalance).
    pub(crate) fn valid_previous(self) -> &'static [GroupState] {
        use GroupState::*;
        match self {
            Empty => &[PreparingRebalance, CompletingRebalance, Stable],
            PreparingRebalance => &[Empty, CompletingRebalance, Stable],
            CompletingRebalance => &[PreparingRebalance],
            Stable => &[CompletingRebalance],
            Dead => &[Empty, PreparingRebalance, CompletingRebalance, Stable, Dead],
        }
    }
}

impl ClassicGroup {
    /// Moves the group to `to` and does what entering it means.
    pub(super) fn transition(&mut self, to: GroupState, now: Instant) {
        debug_assert!(
            to.valid_previous().contains(&self.state),
            "classic group {}: {:?} -> {to:?}",
            self.group_id,
            self.state
        );
        let from = std::mem::replace(&mut self.state, to);
        match to {
            // Every member must rejoin within the rebalance timeout. From
            // Empty, the join phase lasts `group.initial.rebalance.delay.ms`
            // (extended by each new member) so that members starting
            // together land in one generation.
            GroupState::PreparingRebalance => {
                if from == GroupState::CompletingRebalance {
                    // Members waiting on SyncGroup learn that another round started.
                    for m in self.members.values_mut() {
                        if let Some(w) = m.sync_waiter.take() {
                            let error = SyncResult::error(ResponseError::RebalanceInProgress);
                            self.replies.push(w, error);
                        }
                    }
                }
                self.initial_join = from == GroupState::Empty;
                self.sync_deadline = None;
                let cap = now + self.max_rebalance_timeout();
                self.join_deadline_cap = Some(cap);
                self.join_deadline = Some(if self.initial_join {
                    (now + self.settings.initial_rebalance_delay).min(cap)
                } else {
                    cap
                });
            }
            // The join phase ended with members: a protocol and a leader
            // are chosen, every joiner hears of the new generation, and the
            // leader has the rebalance timeout to send the assignment.
            GroupState::CompletingRebalance => {
                self.protocol_name = Some(self.select_protocol());
                if !self
                    .leader
                    .as_ref()
                    .is_some_and(|l| self.members.contains_key(l))
                {
                    self.leader = self.members.keys().next().cloned();
                }
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
                            self.replies.push(w, result);
                        }
                    }
                }
            }
            // The leader's assignment is in: every member waiting on
            // SyncGroup gets its part.
            GroupState::Stable => {
                self.sync_deadline = None;
                self.dirty = true;
                tracing::info!(group = %self.group_id, generation = self.generation_id, members = self.members.len(), "group stable");
                let (ptype, pname) = (self.protocol_type.clone(), self.protocol_name.clone());
                for m in self.members.values_mut() {
                    if let Some(w) = m.sync_waiter.take() {
                        let result = SyncResult {
                            error: None,
                            protocol_type: ptype.clone(),
                            protocol_name: pname.clone(),
                            assignment: m.assignment.clone(),
                        };
                        self.replies.push(w, result);
                    }
                }
            }
            GroupState::Empty => {
                self.protocol_name = None;
                self.leader = None;
                self.join_deadline = None;
                self.sync_deadline = None;
                self.dirty = true;
            }
            // Deleted: pending calls learn the coordinator moved on.
            GroupState::Dead => {
                for m in self.members.values_mut() {
                    if let Some(w) = m.join_waiter.take() {
                        let error =
                            JoinResult::error(ResponseError::CoordinatorNotAvailable, &m.member_id);
                        self.replies.push(w, error);
                    }
                    if let Some(w) = m.sync_waiter.take() {
                        let error = SyncResult::error(ResponseError::CoordinatorNotAvailable);
                        self.replies.push(w, error);
                    }
                }
            }
        }
    }
}
