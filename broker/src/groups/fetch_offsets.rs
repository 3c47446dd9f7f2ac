//! OffsetFetch: committed offsets, or UNSTABLE_OFFSET_COMMIT for a
//! partition with pending transactional offsets when the client asks.

use super::*;

impl GroupCoordinator {
    /// Committed offsets of a group: the given partitions, or all of them.
    /// With `require_stable` (OffsetFetch v7+), a partition with pending
    /// transactional offsets answers UNSTABLE_OFFSET_COMMIT instead, as in
    /// Kafka.
    pub(crate) fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<&[(String, i32)]>,
        require_stable: bool,
    ) -> Vec<((String, i32), FetchedOffset)> {
        let groups = self.groups.lock();
        let txn = self.txn.lock();
        let offsets = groups.get(group_id).map(|g| &g.offsets);
        let answer = |tp: &(String, i32), c: Option<&Committed>| {
            if require_stable && txn.is_pending(group_id, tp) {
                Err(ResponseError::UnstableOffsetCommit)
            } else {
                Ok(c.cloned())
            }
        };
        match partitions {
            Some(wanted) => wanted
                .iter()
                .map(|tp| (tp.clone(), answer(tp, offsets.and_then(|o| o.get(tp)))))
                .collect(),
            None => offsets
                .map(|o| {
                    o.iter()
                        .map(|(tp, c)| (tp.clone(), answer(tp, Some(c))))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}
