//! JoinGroup: a classic member joins (or rejoins) and waits for the join
//! phase to end. An empty KIP-848 group turns back into a classic one, as
//! Kafka converts it.

use super::persist::Staged;
use super::replies::Waiter;
use super::*;

impl GroupCoordinator {
    pub(crate) async fn join(&self, group_id: &str, request: JoinRequest) -> JoinResult {
        let (waiter, receiver) = Waiter::new();
        {
            let mut groups = self.groups.lock();
            let refuse = |error, member_id: String| JoinResult {
                error: Some(error),
                generation_id: -1,
                member_id,
                ..Default::default()
            };
            let created = !groups.contains_key(group_id);
            if created && !request.member_id.is_empty() {
                return refuse(ResponseError::UnknownMemberId, request.member_id);
            }
            let group = groups
                .entry(group_id.to_string())
                .or_insert_with(|| self.new_group(group_id));
            if let GroupKind::Consumer(consumer) = &group.kind {
                if !consumer.members.is_empty() {
                    return refuse(ResponseError::InconsistentGroupProtocol, request.member_id);
                }
            }
            let member_id = request.member_id.clone();
            let settings = self.config.group;
            let joined = self.transact(group, |next| {
                become_classic(next, settings);
                if let GroupKind::Classic(classic) = &mut next.kind {
                    classic.join(request, waiter.clone(), Instant::now());
                }
            });
            if let Err(error) = joined {
                if created {
                    groups.remove(group_id);
                }
                waiter.send(refuse(error, member_id));
            }
        }
        receiver.await.unwrap_or_else(|_| JoinResult {
            error: Some(ResponseError::CoordinatorNotAvailable),
            generation_id: -1,
            ..Default::default()
        })
    }
}

/// An (empty) consumer group becomes a classic one, its records deleted
/// first.
fn become_classic(next: &mut Staged, settings: GroupSettings) {
    if let GroupKind::Consumer(consumer) = &next.kind {
        next.records.extend(consumer.group_tombstones());
        next.kind = GroupKind::Classic(ClassicGroup::new(&consumer.group_id, settings));
    }
}
