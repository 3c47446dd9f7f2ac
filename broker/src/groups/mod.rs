//! The group coordinator: classic and KIP-848 consumer groups and committed
//! offsets, kept in the compacted internal topic `__consumer_offsets`.
//!
//! Laid out like `handlers/`: one file per coordinator operation (`join`,
//! `sync`, `heartbeat`, `leave`, `commit`, `fetch_offsets`,
//! `delete_offsets`, `delete_group`, `describe`, `consumer_heartbeat`), the
//! timers (`timers`: sessions, join and sync phases; `offset_expiry`) and
//! the replay at start (`load`) in their own, the two state machines in
//! `classic` and `consumer`.
//!
//! The log comes before memory (`persist`): every change runs on a copy
//! of the group, the records it produced are appended, and only then does
//! the copy replace the group and do its answers go out. A failed append
//! leaves memory as it was and fails the request as Kafka's coordinator
//! runtime does. One lock guards every group's in-memory state; calls hold
//! it only for state changes and the (synchronous, page-cache) append of
//! their records, so the log order of a group's records is the order its
//! changes happened. Waiting (for a join phase to end, for the leader's
//! assignment, for an fsync) happens outside the lock.

mod assignors;
mod classic;
#[cfg(test)]
mod classic_tests;
mod commit;
mod consumer;
mod consumer_heartbeat;
mod consumer_messages;
mod consumer_records;
mod consumer_replay;
mod delete_group;
mod delete_offsets;
mod describe;
mod fetch_offsets;
mod heartbeat;
mod join;
mod leave;
mod load;
mod metrics_view;
mod offset_expiry;
mod offset_replay;
#[cfg(test)]
mod operation_tests;
mod persist;
mod records;
mod regex_cache;
mod replies;
mod store;
mod subscription;
mod sync;
#[cfg(test)]
mod test_support;
mod timers;
mod txn_offsets;
#[cfg(test)]
mod txn_offsets_tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use strata_storage::Log;

pub(crate) use assignors::Assignment;
use classic::ClassicGroup;
pub(crate) use classic::{
    GroupSettings, GroupState, JoinRequest, JoinResult, SyncRequest, SyncResult,
};
use consumer::ConsumerGroup;
pub(crate) use consumer::{ConsumerGroupDescription, ConsumerSettings, TopicsView};
pub(crate) use consumer_messages::{
    validate_request as validate_consumer_heartbeat, ConsumerHeartbeat,
};
pub(crate) use describe::DescribedState;
use records::{OffsetValue, RecordKey};
pub(crate) use store::OFFSETS_TOPIC;

use crate::clock::now_ms;
use crate::cluster::{AdminError, Cluster};
use crate::group_config::GroupConfigs;
use crate::internal_log::ReplayedRecord;
use crate::internal_topic::InternalTopic;

/// Coordinator settings, from Kafka's broker properties.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoordinatorConfig {
    pub(crate) group: GroupSettings,
    pub(crate) offsets_partitions: i32,
    pub(crate) offsets_retention: Duration,
    pub(crate) offsets_retention_check: Duration,
    pub(crate) offset_metadata_max_bytes: usize,
}

/// A committed offset.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pub(crate) offset: i64,
    pub(crate) leader_epoch: i32,
    pub(crate) metadata: String,
    commit_timestamp: i64,
    /// The log offset of its record: a transactional offset is applied only
    /// over an older record (see `txn_offsets.rs`).
    record_offset: i64,
}

/// A group: its membership (of one of the two protocols) and its
/// committed offsets.
struct Group {
    kind: GroupKind,
    offsets: BTreeMap<(String, i32), Committed>,
}

/// The two kinds of group. A group that only has offsets (a simple
/// consumer's, an admin's) is an empty classic group, as in Kafka.
#[derive(Debug, Clone)]
enum GroupKind {
    Classic(ClassicGroup),
    /// A KIP-848 consumer group.
    Consumer(ConsumerGroup),
}

/// A record of `__consumer_offsets`: key and value (`None`: a tombstone).
type Record = (Bytes, Option<Bytes>);

/// A member as DescribeGroups reports it.
#[derive(Debug, Clone)]
pub(crate) struct MemberDescription {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) metadata: Bytes,
    pub(crate) assignment: Bytes,
}

/// A group as DescribeGroups and ListGroups report it.
#[derive(Debug, Clone)]
pub(crate) struct GroupDescription {
    pub(crate) group_id: String,
    pub(crate) state: DescribedState,
    /// "classic" or "consumer" (ListGroups v5).
    pub(crate) group_type: &'static str,
    pub(crate) protocol_type: String,
    pub(crate) protocol_name: String,
    pub(crate) members: Vec<MemberDescription>,
}

/// A partition's committed offset as OffsetFetch answers it, or its error
/// (UNSTABLE_OFFSET_COMMIT).
pub(crate) type FetchedOffset = Result<Option<Committed>, ResponseError>;

/// What an (Txn)OffsetCommit writes: its records, the offsets they commit
/// (in record order) and a result per partition of the request.
struct OffsetRecords {
    records: Vec<Record>,
    accepted: Vec<((String, i32), Committed)>,
    results: Vec<Result<(), ResponseError>>,
}

/// One partition of an OffsetCommit.
#[derive(Debug, Clone)]
pub(crate) struct OffsetCommit {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) leader_epoch: i32,
    pub(crate) metadata: Option<String>,
}

/// Who commits: a group member at a generation, or a simple consumer (-1).
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    pub(crate) generation_id: i32,
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
}

pub(crate) struct GroupCoordinator {
    config: CoordinatorConfig,
    groups: Mutex<HashMap<String, Group>>,
    offsets_topic: InternalTopic,
    /// Each group's dynamic configs, shared with the cluster that changes them.
    group_configs: Arc<GroupConfigs>,
    /// Pending transactional offsets; locked only while holding `groups`.
    txn: Mutex<txn_offsets::TxnOffsets>,
    /// Makes every append fail, as a storage error would (tests of the
    /// log-before-memory rule).
    #[cfg(test)]
    fail_appends: std::sync::atomic::AtomicBool,
}

impl GroupCoordinator {
    /// A group with no members and no offsets yet.
    fn new_group(&self, group_id: &str) -> Group {
        Group {
            kind: GroupKind::Classic(ClassicGroup::new(group_id, self.config.group)),
            offsets: BTreeMap::new(),
        }
    }
}

impl Group {
    /// No members of either protocol.
    fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }
}

/// Tombstones that delete a group's committed offsets for these partitions.
fn offset_tombstones<'a>(
    group: &str,
    partitions: impl Iterator<Item = &'a (String, i32)>,
) -> Vec<Record> {
    partitions
        .map(|(topic, partition)| {
            let key = RecordKey::Offset {
                group: group.to_string(),
                topic: topic.clone(),
                partition: *partition,
            };
            (key.encode(), None)
        })
        .collect()
}

fn committed_from(v: OffsetValue, record_offset: i64) -> Committed {
    Committed {
        offset: v.offset,
        leader_epoch: v.leader_epoch,
        metadata: v.metadata,
        commit_timestamp: v.commit_timestamp,
        record_offset,
    }
}
