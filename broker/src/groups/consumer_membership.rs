//! A consumer group's members come and go: the heartbeat (join, update,
//! reconcile), leaving (for good, or for now as a static member), removal
//! and the timers that remove members whose session or revocation ran out.

use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;

use super::reconcile::is_subset;
use super::*;

impl ConsumerGroup {
    /// Handles one heartbeat.
    pub(crate) fn heartbeat(
        &mut self,
        mut request: ConsumerHeartbeat,
        topics: &TopicsView,
        now: Instant,
    ) -> Result<ConsumerHeartbeatResult, HeartbeatError> {
        if request.member_epoch == LEAVE_EPOCH || request.member_epoch == STATIC_LEAVE_EPOCH {
            return self.leave(&request);
        }
        let mut bump = false;
        let joining = request.member_epoch == 0;
        if joining && request.member_id.is_empty() {
            // v0: the coordinator names the member.
            request.member_id = new_member_id();
        }
        let member_id = request.member_id.clone();
        if joining {
            bump |= self.join(&request, now)?;
        } else {
            let Some(member) = self.members.get(&member_id) else {
                return Err(refuse(
                    ResponseError::UnknownMemberId,
                    format!(
                        "Member {member_id} is not a member of group {}.",
                        self.group_id
                    ),
                ));
            };
            if let (Some(sent), Some(held)) = (&request.instance_id, &member.meta.instance_id) {
                if sent != held {
                    return Err(refuse(
                        ResponseError::FencedInstanceId,
                        format!("Member {member_id} is not the owner of instance id {sent}."),
                    ));
                }
            }
            check_epoch(member, request.member_epoch, request.owned.as_ref())?;
        }
        let member = self.members.get_mut(&member_id).expect("joined or known");
        member.session_deadline =
            now + Duration::from_millis(self.settings.session_timeout_ms as u64);
        let mut meta = member.meta.clone();
        if let Some(names) = &request.subscribed_topic_names {
            let mut names = names.clone();
            names.sort();
            names.dedup();
            meta.subscribed_topic_names = names;
        }
        if request.subscribed_topic_regex.is_some() {
            meta.subscribed_topic_regex = request
                .subscribed_topic_regex
                .clone()
                .filter(|r| !r.is_empty());
        }
        if request.server_assignor.is_some() {
            meta.server_assignor = request.server_assignor.clone();
        }
        if request.rack_id.is_some() {
            meta.rack_id = request.rack_id.clone();
        }
        if request.rebalance_timeout_ms > 0 {
            meta.rebalance_timeout_ms = request.rebalance_timeout_ms;
        }
        meta.client_id = request.client_id.clone();
        meta.client_host = request.client_host.clone();
        if meta != member.meta {
            if meta.subscribed_topic_names != member.meta.subscribed_topic_names
                || meta.subscribed_topic_regex != member.meta.subscribed_topic_regex
                || meta.server_assignor != member.meta.server_assignor
            {
                bump = true;
            }
            member.meta = meta;
            let record = member.meta.encode();
            self.records
                .push((self.member_key(&member_id), Some(record)));
        }
        bump |= self.refresh_topics(topics);
        if bump {
            self.bump_epoch();
        }
        self.update_target();
        let before = self.members[&member_id].assigned.clone();
        self.reconcile(&member_id, request.owned.as_ref(), now);
        let member = &self.members[&member_id];
        let full = joining
            || (request.rebalance_timeout_ms != -1
                && (request.subscribed_topic_names.is_some()
                    || request.subscribed_topic_regex.is_some())
                && request.owned.is_some());
        Ok(ConsumerHeartbeatResult {
            member_id,
            member_epoch: member.member_epoch,
            heartbeat_interval_ms: self.settings.heartbeat_interval_ms,
            assignment: (full || member.assigned != before).then(|| member.assigned.clone()),
        })
    }

    /// Adds a member (or lets a static member take its instance back);
    /// returns whether the group epoch must move.
    pub(super) fn join(
        &mut self,
        request: &ConsumerHeartbeat,
        now: Instant,
    ) -> Result<bool, HeartbeatError> {
        let member_id = &request.member_id;
        if self.members.contains_key(member_id) {
            // A known member rejoining with epoch 0 gets its assignment again.
            return Ok(false);
        }
        let session_deadline = now + Duration::from_millis(self.settings.session_timeout_ms as u64);
        let fresh = Member {
            member_id: member_id.clone(),
            meta: MemberMetadata {
                instance_id: request.instance_id.clone(),
                rebalance_timeout_ms: request.rebalance_timeout_ms,
                ..MemberMetadata::default()
            },
            member_epoch: 0,
            previous_member_epoch: 0,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            session_deadline,
            rebalance_deadline: None,
        };
        let Some(instance) = &request.instance_id else {
            self.members.insert(member_id.clone(), fresh);
            return Ok(true);
        };
        let Some(previous_id) = self.static_members.get(instance).cloned() else {
            self.static_members
                .insert(instance.clone(), member_id.clone());
            self.members.insert(member_id.clone(), fresh);
            return Ok(true);
        };
        let previous = &self.members[&previous_id];
        if previous.member_epoch != STATIC_LEAVE_EPOCH {
            return Err(refuse(
                ResponseError::UnreleasedInstanceId,
                format!("Static member {previous_id} with instance id {instance} is not released."),
            ));
        }
        // The new incarnation takes over the old one's place and assignment.
        let mut old = self.members.remove(&previous_id).expect("mapped");
        self.tombstone_member(&previous_id);
        let target = self.target.remove(&previous_id);
        old.member_id = member_id.clone();
        old.member_epoch = 0;
        old.previous_member_epoch = 0;
        old.session_deadline = session_deadline;
        old.meta.rebalance_timeout_ms = request.rebalance_timeout_ms;
        if let Some(target) = target {
            self.records.push((
                ConsumerKey::TargetMember {
                    group: self.group_id.clone(),
                    member: member_id.clone(),
                }
                .encode(),
                Some(rec::encode_target(&target)),
            ));
            self.target.insert(member_id.clone(), target);
        }
        let meta = old.meta.encode();
        self.records.push((self.member_key(member_id), Some(meta)));
        self.members.insert(member_id.clone(), old);
        self.write_current(member_id);
        self.static_members
            .insert(instance.clone(), member_id.clone());
        Ok(false)
    }

    pub(super) fn leave(
        &mut self,
        request: &ConsumerHeartbeat,
    ) -> Result<ConsumerHeartbeatResult, HeartbeatError> {
        let member_id = match &request.instance_id {
            Some(instance) if request.member_epoch == STATIC_LEAVE_EPOCH => {
                match self.static_members.get(instance) {
                    Some(id) if *id == request.member_id => id.clone(),
                    Some(_) => {
                        return Err(refuse(
                            ResponseError::FencedInstanceId,
                            format!(
                                "Static member {} with instance id {instance} is not the owner.",
                                request.member_id
                            ),
                        ))
                    }
                    None => {
                        return Err(refuse(
                            ResponseError::UnknownMemberId,
                            format!("Instance id {instance} is unknown."),
                        ))
                    }
                }
            }
            _ => request.member_id.clone(),
        };
        if !self.members.contains_key(&member_id) {
            return Err(refuse(
                ResponseError::UnknownMemberId,
                format!(
                    "Member {member_id} is not a member of group {}.",
                    self.group_id
                ),
            ));
        }
        if request.member_epoch == STATIC_LEAVE_EPOCH {
            // Kept, assignment and all, until it rejoins or its session ends.
            let member = self.members.get_mut(&member_id).expect("present");
            member.previous_member_epoch = member.member_epoch;
            member.member_epoch = STATIC_LEAVE_EPOCH;
            self.write_current(&member_id);
        } else {
            self.remove_member(&member_id);
        }
        Ok(ConsumerHeartbeatResult {
            member_id,
            member_epoch: request.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        })
    }

    /// Removes a member, releases its partitions and moves the group epoch.
    pub(crate) fn remove_member(&mut self, member_id: &str) {
        let Some(member) = self.members.remove(member_id) else {
            return;
        };
        for (t, ps) in member.assigned.iter().chain(&member.pending_revocation) {
            for p in ps {
                self.partition_epochs.remove(&(*t, *p));
            }
        }
        if let Some(instance) = &member.meta.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.target.remove(member_id);
        self.tombstone_member(member_id);
        self.bump_epoch();
    }

    /// Whether [`Self::tick`] would remove anyone now.
    pub(crate) fn due(&self, now: Instant) -> bool {
        self.members.values().any(|m| m.expired(now))
    }

    /// Expires sessions and revocations that took too long; returns the
    /// members removed.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.expired(now))
            .map(|m| m.member_id.clone())
            .collect();
        for id in &expired {
            self.remove_member(id);
        }
        if !expired.is_empty() {
            self.update_target();
        }
        expired
    }
}

/// Kafka's `throwIfMemberEpochIsInvalid`.
pub(super) fn check_epoch(
    member: &Member,
    received: i32,
    owned: Option<&Assignment>,
) -> Result<(), HeartbeatError> {
    if received > member.member_epoch {
        return Err(refuse(
            ResponseError::FencedMemberEpoch,
            format!(
                "The consumer group member has a greater epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                member.member_epoch
            ),
        ));
    }
    if received < member.member_epoch {
        // The last answer may have been lost: the previous epoch is fine if
        // the member owns nothing it was not given.
        let ok = received == member.previous_member_epoch
            && owned.is_some_and(|o| is_subset(o, &member.assigned));
        if !ok {
            return Err(refuse(
                ResponseError::FencedMemberEpoch,
                format!(
                    "The consumer group member has a smaller member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                    member.member_epoch
                ),
            ));
        }
    }
    Ok(())
}
