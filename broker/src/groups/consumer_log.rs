//! What a consumer group writes to `__consumer_offsets` (Kafka's
//! consumer-group records, queued in `records` for the coordinator to
//! append) and how it is rebuilt from them at start.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;

impl ConsumerGroup {
    pub(super) fn member_key(&self, member_id: &str) -> Bytes {
        ConsumerKey::Member {
            group: self.group_id.clone(),
            member: member_id.to_string(),
        }
        .encode()
    }

    pub(super) fn tombstone_member(&mut self, member_id: &str) {
        let group = self.group_id.clone();
        let member = member_id.to_string();
        self.records.extend([
            (
                ConsumerKey::Current {
                    group: group.clone(),
                    member: member.clone(),
                }
                .encode(),
                None,
            ),
            (
                ConsumerKey::TargetMember {
                    group: group.clone(),
                    member: member.clone(),
                }
                .encode(),
                None,
            ),
            (ConsumerKey::Member { group, member }.encode(), None),
        ]);
    }

    pub(super) fn write_current(&mut self, member_id: &str) {
        let m = &self.members[member_id];
        let value = CurrentAssignment {
            member_epoch: m.member_epoch,
            previous_member_epoch: m.previous_member_epoch,
            state: m.state.code(),
            assigned: m.assigned.clone(),
            pending_revocation: m.pending_revocation.clone(),
        }
        .encode();
        self.records.push((
            ConsumerKey::Current {
                group: self.group_id.clone(),
                member: member_id.to_string(),
            }
            .encode(),
            Some(value),
        ));
    }

    pub(super) fn bump_epoch(&mut self) {
        self.group_epoch += 1;
        self.records.push((
            ConsumerKey::Group {
                group: self.group_id.clone(),
            }
            .encode(),
            Some(rec::encode_epoch(self.group_epoch)),
        ));
    }

    /// Rebuilds a group from its records; members get a fresh session.
    pub(crate) fn restore(
        group_id: &str,
        stored: StoredConsumerGroup,
        settings: ConsumerSettings,
        now: Instant,
    ) -> Self {
        let mut group = ConsumerGroup::new(group_id, settings);
        group.group_epoch = stored.epoch;
        group.assignment_epoch = stored.assignment_epoch.min(stored.epoch);
        let session = now + Duration::from_millis(settings.session_timeout_ms as u64);
        for (id, stored_member) in stored.members {
            let Some(meta) = stored_member.meta else {
                continue;
            };
            let current = stored_member.current.unwrap_or_default();
            if let Some(instance) = &meta.instance_id {
                group.static_members.insert(instance.clone(), id.clone());
            }
            for (t, ps) in current.assigned.iter().chain(&current.pending_revocation) {
                for p in ps {
                    group
                        .partition_epochs
                        .insert((*t, *p), current.member_epoch);
                }
            }
            if let Some(target) = stored_member.target {
                group.target.insert(id.clone(), target);
            }
            let state = MemberState::from_code(current.state);
            group.members.insert(
                id.clone(),
                Member {
                    member_id: id,
                    meta,
                    member_epoch: current.member_epoch,
                    previous_member_epoch: current.previous_member_epoch,
                    state,
                    assigned: current.assigned,
                    pending_revocation: current.pending_revocation,
                    session_deadline: session,
                    rebalance_deadline: None,
                },
            );
        }
        group
    }

    /// Tombstones for the group-level records (when the group goes).
    pub(crate) fn group_tombstones(&self) -> Vec<(Bytes, Option<Bytes>)> {
        vec![
            (
                ConsumerKey::TargetEpoch {
                    group: self.group_id.clone(),
                }
                .encode(),
                None,
            ),
            (
                ConsumerKey::Group {
                    group: self.group_id.clone(),
                }
                .encode(),
                None,
            ),
        ]
    }
}
