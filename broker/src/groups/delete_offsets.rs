//! OffsetDelete, and the offsets of a deleted topic: tombstones are
//! appended first; offsets leave memory once the append succeeded.

use super::*;

impl GroupCoordinator {
    /// OffsetDelete: per-partition results, or a group-level error.
    pub(crate) fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        let mut groups = self.groups.lock();
        let group = groups
            .get_mut(group_id)
            .ok_or(ResponseError::GroupIdNotFound)?;
        let subscribed = subscribed_topics(&group.kind)?;
        let mut txn = self.txn.lock();
        let mut doomed = Vec::new();
        let results: Vec<_> = partitions
            .iter()
            .map(|(topic, partition)| {
                if subscribed.contains(topic) {
                    return Err(ResponseError::GroupSubscribedToTopic);
                }
                let tp = (topic.clone(), *partition);
                // Pending transactional offsets go too, as Kafka's tombstone does.
                let pending = txn.is_pending(group_id, &tp);
                if (group.offsets.contains_key(&tp) || pending) && !doomed.contains(&tp) {
                    doomed.push(tp);
                }
                Ok(())
            })
            .collect();
        if !doomed.is_empty() {
            self.append(group_id, &offset_tombstones(group_id, doomed.iter()))?;
        }
        for tp in &doomed {
            txn.remove_partition(group_id, tp);
            group.offsets.remove(tp);
        }
        Ok(results)
    }

    /// Drops every committed offset of a deleted topic. A group whose
    /// tombstones cannot be written keeps them (logged): memory stays what a
    /// restart would recover.
    pub(crate) fn remove_topic_offsets(&self, topic: &str) {
        let mut groups = self.groups.lock();
        let mut txn = self.txn.lock();
        for (id, group) in groups.iter_mut() {
            let of_topic = |(t, _): &(String, i32)| t == topic;
            let mut gone: Vec<(String, i32)> = group
                .offsets
                .keys()
                .filter(|tp| of_topic(tp))
                .cloned()
                .collect();
            gone.extend(
                txn.pending_where(id, of_topic)
                    .into_iter()
                    .filter(|tp| !group.offsets.contains_key(tp)),
            );
            if gone.is_empty() {
                continue;
            }
            if let Err(e) = self.append(id, &offset_tombstones(id, gone.iter())) {
                tracing::error!(group = %id, topic, error = ?e, "tombstones for a deleted topic's offsets not written; offsets kept");
                continue;
            }
            txn.remove_where(id, of_topic);
            for tp in &gone {
                group.offsets.remove(tp);
            }
        }
    }
}

/// The topics a group's members consume, whose offsets OffsetDelete must
/// not delete; NON_EMPTY_GROUP for a non-empty group of another protocol
/// type, as Kafka answers.
fn subscribed_topics(kind: &GroupKind) -> Result<Vec<String>, ResponseError> {
    match kind {
        GroupKind::Consumer(consumer) if consumer.members.is_empty() => Ok(Vec::new()),
        GroupKind::Consumer(consumer) => {
            Ok(consumer.subscribed_topic_names().into_iter().collect())
        }
        GroupKind::Classic(classic) if classic.state == GroupState::Empty => Ok(Vec::new()),
        GroupKind::Classic(classic) if classic.protocol_type.as_deref() == Some("consumer") => {
            let protocol = classic.protocol_name.clone().unwrap_or_default();
            let mut topics: Vec<String> = classic
                .members
                .values()
                .flat_map(|m| {
                    let meta = m
                        .protocols
                        .iter()
                        .find(|(n, _)| *n == protocol)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default();
                    subscription::subscribed_topics(meta).unwrap_or_default()
                })
                .collect();
            topics.sort();
            topics.dedup();
            Ok(topics)
        }
        GroupKind::Classic(_) => Err(ResponseError::NonEmptyGroup),
    }
}
