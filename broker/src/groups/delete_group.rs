//! DeleteGroups: an empty group goes, with its offsets (pending
//! transactional ones too), once its tombstones are in the log.

use super::*;

impl GroupCoordinator {
    /// DeleteGroups: only empty groups, with their offsets.
    pub(crate) fn delete_group(&self, group_id: &str) -> Result<(), ResponseError> {
        let mut groups = self.groups.lock();
        let group = groups
            .get_mut(group_id)
            .ok_or(ResponseError::GroupIdNotFound)?;
        if !group.is_empty() {
            return Err(ResponseError::NonEmptyGroup);
        }
        let mut txn = self.txn.lock();
        let mut records = offset_tombstones(group_id, group.offsets.keys());
        // Pending transactional offsets go too; one tombstone per partition.
        let pending = txn.pending_where(group_id, |_| true);
        records.extend(offset_tombstones(
            group_id,
            pending.iter().filter(|tp| !group.offsets.contains_key(*tp)),
        ));
        records.push((
            RecordKey::Group {
                group: group_id.to_string(),
            }
            .encode(),
            None,
        ));
        if let GroupKind::Consumer(consumer) = &group.kind {
            records.extend(consumer.group_tombstones());
        }
        self.append(group_id, &records)?;
        txn.remove_where(group_id, |_| true);
        if let GroupKind::Classic(classic) = &mut group.kind {
            classic.mark_dead();
            classic.replies.deliver();
        }
        groups.remove(group_id);
        Ok(())
    }
}
