//! The log before memory.
//!
//! Every change to a group goes the same way, for both kinds of group:
//!
//! 1. the state machine runs on a copy of the group's membership
//!    ([`Staged`]), which queues the records the change produces and the
//!    answers it gives;
//! 2. the records are appended to the group's `__consumer_offsets`
//!    partition (under the groups lock, so log order is change order);
//! 3. only if the append succeeded does the copy replace the group and do
//!    its answers go out. A failed append leaves memory as it was and the
//!    request fails with the error Kafka's `CoordinatorRuntime` gives for it
//!    (COORDINATOR_NOT_AVAILABLE when the partition is not there,
//!    NOT_COORDINATOR when the storage refused the write), so memory never
//!    runs ahead of what a restart recovers.
//!
//! Offset commits and deletions follow the same order without a copy:
//! their records are appended before the offsets map changes.

use super::*;

/// A change under way: the group's next membership, and records that come
/// before those of its state machine (the tombstones of a group that
/// changes kind).
pub(super) struct Staged {
    pub(super) kind: GroupKind,
    pub(super) records: Vec<Record>,
}

impl GroupKind {
    pub(super) fn group_id(&self) -> &str {
        match self {
            GroupKind::Classic(c) => &c.group_id,
            GroupKind::Consumer(c) => &c.group_id,
        }
    }

    /// No members (nor members waiting to join).
    pub(super) fn is_empty(&self) -> bool {
        match self {
            GroupKind::Classic(c) => c.is_empty(),
            GroupKind::Consumer(c) => c.members.is_empty(),
        }
    }

    /// The records the state machine's changes produced; takes them.
    fn take_records(&mut self, now_ms: i64) -> Vec<Record> {
        match self {
            GroupKind::Classic(c) => {
                if !c.dirty {
                    return Vec::new();
                }
                c.dirty = false;
                let key = RecordKey::Group {
                    group: c.group_id.clone(),
                }
                .encode();
                vec![(key, Some(records::encode_group(&c.to_stored(now_ms))))]
            }
            GroupKind::Consumer(c) => c.take_records(),
        }
    }

    /// Sends the answers the change queued (classic joins and syncs).
    fn deliver(&mut self) {
        if let GroupKind::Classic(c) = self {
            c.replies.deliver();
        }
    }
}

impl GroupCoordinator {
    /// Creates `__consumer_offsets` on first use, as Kafka does.
    pub(crate) async fn ensure_offsets_topic(&self, cluster: &Cluster) -> Result<(), AdminError> {
        self.offsets_topic.ensure(cluster).await
    }

    /// Runs `change` on a copy of the group's membership, appends the
    /// records it produced and only then installs the copy and sends its
    /// answers. On a failed append the group is untouched and the error is
    /// returned (the change's answers are dropped unsent).
    pub(super) fn transact<T>(
        &self,
        group: &mut Group,
        change: impl FnOnce(&mut Staged) -> T,
    ) -> Result<T, ResponseError> {
        let mut staged = Staged {
            kind: group.kind.clone(),
            records: Vec::new(),
        };
        let out = change(&mut staged);
        let Staged {
            mut kind,
            mut records,
        } = staged;
        records.extend(kind.take_records(now_ms()));
        if !records.is_empty() {
            self.append(kind.group_id(), &records)?;
        }
        kind.deliver();
        group.kind = kind;
        Ok(out)
    }

    /// Appends a group's records; call with the groups lock held so that log
    /// order follows state order. Returns what to wait on for durability.
    pub(super) fn append(
        &self,
        group: &str,
        records: &[Record],
    ) -> Result<(Log, i64), ResponseError> {
        self.append_batch(group, store::encode_batch(records, now_ms()))
    }

    /// Appends an encoded batch to the group's partition, as [`Self::append`].
    pub(super) fn append_batch(
        &self,
        group: &str,
        batch: Bytes,
    ) -> Result<(Log, i64), ResponseError> {
        #[cfg(test)]
        if self.fail_appends.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ResponseError::NotCoordinator);
        }
        let (_, log) = self
            .offsets_topic
            .partition_of(group)
            .ok_or(ResponseError::CoordinatorNotAvailable)?;
        match log.append(batch, 0, None) {
            Ok(info) => Ok((log, info.last_offset + 1)),
            Err(e) => {
                tracing::error!(group, error = %e, "writing {OFFSETS_TOPIC} failed");
                // Kafka's runtime maps a storage error to NOT_COORDINATOR.
                Err(ResponseError::NotCoordinator)
            }
        }
    }
}
