//! Kafka's offset expiry: once a group is empty, its offsets older than
//! `offsets.retention.minutes` go; a group left with nothing goes too. The
//! tombstones are written first; memory follows only if they were.

use super::*;

impl GroupCoordinator {
    pub(super) fn expire_offsets(&self) {
        let mut groups = self.groups.lock();
        let cutoff = now_ms() - self.config.offsets_retention.as_millis() as i64;
        let mut removed_groups = Vec::new();
        for (id, group) in groups.iter_mut() {
            if !group.is_empty() {
                continue;
            }
            let txn = self.txn.lock();
            // A partition with pending transactional offsets keeps its
            // offset, and a group with open transactions stays, as in Kafka.
            let expired: Vec<(String, i32)> = group
                .offsets
                .iter()
                .filter(|(tp, c)| c.commit_timestamp <= cutoff && !txn.is_pending(id, tp))
                .map(|(tp, _)| tp.clone())
                .collect();
            let open_transactions = txn.has_open(id);
            drop(txn);
            let mut records = offset_tombstones(id, expired.iter());
            let remove_group = expired.len() == group.offsets.len() && !open_transactions;
            if remove_group {
                records.push((RecordKey::Group { group: id.clone() }.encode(), None));
                if let GroupKind::Consumer(consumer) = &group.kind {
                    records.extend(consumer.group_tombstones());
                }
            }
            if !records.is_empty() {
                tracing::info!(group = %id, offsets = expired.len(), "expired committed offsets");
                if let Err(e) = self.append(id, &records) {
                    tracing::warn!(group = %id, error = ?e, "offset expiry not written; offsets kept");
                    continue;
                }
            }
            for tp in &expired {
                group.offsets.remove(tp);
            }
            if remove_group {
                removed_groups.push(id.clone());
            }
        }
        for id in removed_groups {
            groups.remove(&id);
        }
    }
}
