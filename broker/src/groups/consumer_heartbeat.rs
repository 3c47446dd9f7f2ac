//! ConsumerGroupHeartbeat (KIP-848): the coordinator's side. Finds or
//! creates the group (an empty classic group becomes a consumer group),
//! runs the state machine of `consumer.rs` on a copy, and answers once the
//! records it produced are in the log.

use super::consumer_messages::{refuse, ConsumerHeartbeatResult, HeartbeatError};
use super::*;

impl GroupCoordinator {
    /// ConsumerGroupHeartbeat: runs the state machine and appends the
    /// records it produced; a failed append fails the heartbeat and leaves
    /// the group as it was.
    pub(crate) fn consumer_heartbeat(
        &self,
        group_id: &str,
        request: ConsumerHeartbeat,
        topics: &TopicsView,
    ) -> Result<ConsumerHeartbeatResult, HeartbeatError> {
        let now = Instant::now();
        let mut groups = self.groups.lock();
        let joining = request.member_epoch == 0;
        let not_found = || {
            refuse(
                ResponseError::GroupIdNotFound,
                format!("Consumer group {group_id} not found."),
            )
        };
        let created = !groups.contains_key(group_id);
        if created && !joining {
            return Err(not_found());
        }
        let group = groups
            .entry(group_id.to_string())
            .or_insert_with(|| self.new_group(group_id));
        if let GroupKind::Classic(classic) = &group.kind {
            if !joining {
                return Err(not_found());
            }
            if !classic.is_empty() {
                return Err(refuse(
                    ResponseError::GroupIdNotFound,
                    format!("Group {group_id} is not a consumer group."),
                ));
            }
        }
        let settings = self.group_configs.consumer_settings(group_id);
        let result = self.transact(group, |next| {
            if let GroupKind::Classic(classic) = &next.kind {
                if classic.generation_id > 0 {
                    // The empty classic group's record goes; its offsets stay.
                    let key = RecordKey::Group {
                        group: group_id.to_string(),
                    };
                    next.records.push((key.encode(), None));
                }
                next.kind = GroupKind::Consumer(ConsumerGroup::new(group_id, settings));
            }
            match &mut next.kind {
                GroupKind::Consumer(consumer) => {
                    consumer.set_settings(settings);
                    consumer.heartbeat(request, topics, now)
                }
                GroupKind::Classic(_) => Err(not_found()),
            }
        });
        match result {
            Ok(answer) => answer,
            Err(error) => {
                if created {
                    groups.remove(group_id);
                }
                Err(HeartbeatError {
                    error,
                    message: None,
                })
            }
        }
    }

    /// OffsetFetch v9 member check for consumer groups.
    pub(crate) fn validate_consumer_fetch(
        &self,
        group_id: &str,
        member_id: Option<&str>,
        member_epoch: i32,
    ) -> Result<(), ResponseError> {
        match self.groups.lock().get(group_id).map(|g| &g.kind) {
            Some(GroupKind::Consumer(consumer)) => consumer.validate_fetch(member_id, member_epoch),
            _ => Ok(()),
        }
    }
}
