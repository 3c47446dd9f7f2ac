//! Rebuilding consumer groups from their `__consumer_offsets` records.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::assignors::Assignment;
use super::consumer_records::{self as rec, ConsumerKey, CurrentAssignment, MemberMetadata};

/// A consumer group as read back from `__consumer_offsets`.
#[derive(Debug, Default)]
pub(crate) struct StoredConsumerGroup {
    pub(crate) epoch: i32,
    pub(crate) assignment_epoch: i32,
    pub(crate) members: BTreeMap<String, StoredConsumerMember>,
}

#[derive(Debug, Default)]
pub(crate) struct StoredConsumerMember {
    pub(crate) meta: Option<MemberMetadata>,
    pub(crate) current: Option<CurrentAssignment>,
    pub(crate) target: Option<Assignment>,
}

/// Folds consumer-group records, in log order, into groups.
#[derive(Debug, Default)]
pub(crate) struct ConsumerReplay {
    pub(crate) groups: HashMap<String, StoredConsumerGroup>,
}

impl ConsumerReplay {
    /// Applies one record; an unreadable value is logged and skipped.
    pub(crate) fn apply(&mut self, key: ConsumerKey, value: Option<Bytes>) {
        let group_id = key.group_id().to_string();
        let outcome: Result<(), rec::RecordError> = (|| {
            match (key, value) {
                (ConsumerKey::Group { .. }, None) => {
                    self.groups.remove(&group_id);
                }
                (ConsumerKey::Group { .. }, Some(v)) => {
                    self.groups.entry(group_id.clone()).or_default().epoch = rec::decode_epoch(v)?;
                }
                (ConsumerKey::TargetEpoch { .. }, v) => {
                    let epoch = v.map(rec::decode_epoch).transpose()?.unwrap_or(0);
                    self.groups
                        .entry(group_id.clone())
                        .or_default()
                        .assignment_epoch = epoch;
                }
                (ConsumerKey::Member { member, .. }, None) => {
                    if let Some(g) = self.groups.get_mut(&group_id) {
                        g.members.remove(&member);
                    }
                }
                (ConsumerKey::Member { member, .. }, Some(v)) => {
                    let meta = MemberMetadata::decode(v)?;
                    self.member(&group_id, member).meta = Some(meta);
                }
                (ConsumerKey::TargetMember { member, .. }, v) => {
                    let target = v.map(rec::decode_target).transpose()?;
                    self.member(&group_id, member).target = target;
                }
                (ConsumerKey::Current { member, .. }, v) => {
                    let current = v.map(CurrentAssignment::decode).transpose()?;
                    self.member(&group_id, member).current = current;
                }
            }
            Ok(())
        })();
        if let Err(e) = outcome {
            tracing::warn!(group = %group_id, error = %e, "skipping unreadable consumer group record");
        }
    }

    fn member(&mut self, group: &str, member: String) -> &mut StoredConsumerMember {
        self.groups
            .entry(group.to_string())
            .or_default()
            .members
            .entry(member)
            .or_default()
    }
}
