//! The assigning and reconciling phases: the subscribed topics are
//! refreshed, the target assignment catches up with the group epoch
//! (Assigning), and each member moves towards its target one step at a
//! time, revoking before it receives (Reconciling), as Kafka's
//! CurrentAssignmentBuilder does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::*;

impl ConsumerGroup {
    /// Recomputes the subscribed topics; returns whether they changed.
    pub(super) fn refresh_topics(&mut self, view: &TopicsView) -> bool {
        let mut wanted: BTreeMap<Uuid, TopicInfo> = BTreeMap::new();
        let mut regexes = Vec::new();
        for m in self.members.values() {
            for name in &m.meta.subscribed_topic_names {
                if let Some((id, partitions, _)) = view.topics.get(name) {
                    wanted.insert(
                        *id,
                        TopicInfo {
                            name: name.clone(),
                            partitions: *partitions,
                        },
                    );
                }
            }
            if let Some(r) = &m.meta.subscribed_topic_regex {
                if let Ok(r) = regex_cache::compiled(r) {
                    regexes.push(r);
                }
            }
        }
        if !regexes.is_empty() {
            for (name, (id, partitions, internal)) in &view.topics {
                if !*internal && regexes.iter().any(|r| r.is_match(name)) {
                    wanted.insert(
                        *id,
                        TopicInfo {
                            name: name.clone(),
                            partitions: *partitions,
                        },
                    );
                }
            }
        }
        if wanted == self.topics {
            return false;
        }
        self.topics = wanted;
        true
    }

    /// The topic ids a member subscribes to, among the group's topics.
    pub(super) fn member_topics(&self, member: &Member) -> BTreeSet<Uuid> {
        let regex = member
            .meta
            .subscribed_topic_regex
            .as_deref()
            .and_then(|r| regex_cache::compiled(r).ok());
        self.topics
            .iter()
            .filter(|(_, t)| {
                member.meta.subscribed_topic_names.contains(&t.name)
                    || regex.as_ref().is_some_and(|r| r.is_match(&t.name))
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Brings the target assignment up to the group epoch.
    pub(super) fn update_target(&mut self) {
        if self.group_epoch <= self.assignment_epoch {
            return;
        }
        let specs: BTreeMap<String, MemberSpec> = self
            .members
            .values()
            .map(|m| {
                (
                    m.member_id.clone(),
                    MemberSpec {
                        subscribed: self.member_topics(m),
                        current: self.target.get(&m.member_id).cloned().unwrap_or_default(),
                    },
                )
            })
            .collect();
        let counts: BTreeMap<Uuid, i32> = self
            .topics
            .iter()
            .map(|(id, t)| (*id, t.partitions))
            .collect();
        let next = self.assignor().assign(&specs, &counts);
        for (member, assignment) in &next {
            if self.target.get(member) != Some(assignment) {
                self.records.push((
                    ConsumerKey::TargetMember {
                        group: self.group_id.clone(),
                        member: member.clone(),
                    }
                    .encode(),
                    Some(rec::encode_target(assignment)),
                ));
            }
        }
        self.target = next;
        self.assignment_epoch = self.group_epoch;
        self.records.push((
            ConsumerKey::TargetEpoch {
                group: self.group_id.clone(),
            }
            .encode(),
            Some(rec::encode_epoch(self.assignment_epoch)),
        ));
    }

    /// Kafka's CurrentAssignmentBuilder: moves a member one step towards
    /// its target assignment.
    pub(super) fn reconcile(&mut self, member_id: &str, owned: Option<&Assignment>, now: Instant) {
        let member = &self.members[member_id];
        if member.member_epoch == STATIC_LEAVE_EPOCH {
            return;
        }
        let next = match member.state {
            MemberState::Stable if member.member_epoch == self.assignment_epoch => return,
            MemberState::UnrevokedPartitions if owns_any(owned, &member.pending_revocation) => {
                return
            }
            _ => self.next_assignment(member),
        };
        let (state, epoch, assigned, pending) = next;
        let member = self.members.get_mut(member_id).expect("present");
        if member.state == state
            && member.member_epoch == epoch
            && member.assigned == assigned
            && member.pending_revocation == pending
        {
            return;
        }
        for (t, ps) in member.assigned.iter().chain(&member.pending_revocation) {
            for p in ps {
                self.partition_epochs.remove(&(*t, *p));
            }
        }
        for (t, ps) in assigned.iter().chain(&pending) {
            for p in ps {
                self.partition_epochs.insert((*t, *p), epoch);
            }
        }
        if state == MemberState::UnrevokedPartitions {
            if member.state != MemberState::UnrevokedPartitions || member.member_epoch != epoch {
                let timeout = member.meta.rebalance_timeout_ms.max(0) as u64;
                member.rebalance_deadline = Some(now + Duration::from_millis(timeout));
            }
        } else {
            member.rebalance_deadline = None;
        }
        if member.member_epoch != epoch {
            member.previous_member_epoch = member.member_epoch;
            member.member_epoch = epoch;
        }
        member.state = state;
        member.assigned = assigned;
        member.pending_revocation = pending;
        self.write_current(member_id);
    }

    /// Kafka's `computeNextAssignment`: revoke first, then assign what is
    /// free, withholding partitions another member still holds.
    pub(super) fn next_assignment(
        &self,
        member: &Member,
    ) -> (MemberState, i32, Assignment, Assignment) {
        let empty = BTreeSet::new();
        let target = self.target.get(&member.member_id);
        let mut topics: BTreeSet<Uuid> = member.assigned.keys().copied().collect();
        if let Some(t) = target {
            topics.extend(t.keys().copied());
        }
        let mut assigned = Assignment::new();
        let mut revoke = Assignment::new();
        let mut to_assign = Assignment::new();
        let mut unreleased = false;
        for topic in topics {
            let wanted = target.and_then(|t| t.get(&topic)).unwrap_or(&empty);
            let current = member.assigned.get(&topic).unwrap_or(&empty);
            let kept: BTreeSet<i32> = current.intersection(wanted).copied().collect();
            let gone: BTreeSet<i32> = current.difference(&kept).copied().collect();
            let mut new: BTreeSet<i32> = wanted.difference(&kept).copied().collect();
            let before = new.len();
            new.retain(|p| !self.partition_epochs.contains_key(&(topic, *p)));
            unreleased |= new.len() != before;
            if !kept.is_empty() {
                assigned.insert(topic, kept);
            }
            if !gone.is_empty() {
                revoke.insert(topic, gone);
            }
            if !new.is_empty() {
                to_assign.insert(topic, new);
            }
        }
        if !revoke.is_empty() {
            return (
                MemberState::UnrevokedPartitions,
                member.member_epoch,
                assigned,
                revoke,
            );
        }
        for (t, ps) in to_assign {
            assigned.entry(t).or_default().extend(ps);
        }
        let state = if unreleased {
            MemberState::UnreleasedPartitions
        } else {
            MemberState::Stable
        };
        (state, self.assignment_epoch, assigned, Assignment::new())
    }
}

pub(super) fn is_subset(owned: &Assignment, of: &Assignment) -> bool {
    owned
        .iter()
        .all(|(t, ps)| ps.is_empty() || of.get(t).is_some_and(|a| ps.is_subset(a)))
}

/// Whether the heartbeat still lists any of `revoking` as owned; a heartbeat
/// without owned partitions tells nothing, so the member still owns them.
pub(super) fn owns_any(owned: Option<&Assignment>, revoking: &Assignment) -> bool {
    let Some(owned) = owned else {
        return true;
    };
    owned.iter().any(|(t, ps)| {
        revoking
            .get(t)
            .is_some_and(|r| ps.iter().any(|p| r.contains(p)))
    })
}
