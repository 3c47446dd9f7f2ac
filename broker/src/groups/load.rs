//! Loading the coordinator at start: every group and committed offset is
//! rebuilt by replaying `__consumer_offsets` (classic group records,
//! KIP-848 consumer group records, offsets and transactional offsets with
//! their markers), one record at a time into a [`Replay`], which then
//! builds the groups.

use super::classic::StoredGroup;
use super::*;

/// What replay has found so far, by kind of record.
#[derive(Default)]
struct Replay {
    /// The last classic group record of each group (`None`: a tombstone).
    classic: HashMap<String, Option<StoredGroup>>,
    offsets: offset_replay::OffsetReplay,
    consumer: consumer_replay::ConsumerReplay,
}

impl GroupCoordinator {
    /// Rebuilds every group and committed offset from `__consumer_offsets`.
    pub(crate) fn open(cluster: &Cluster, config: CoordinatorConfig) -> anyhow::Result<Self> {
        let mut coordinator = GroupCoordinator {
            config,
            groups: Mutex::new(HashMap::new()),
            offsets_topic: InternalTopic::new(OFFSETS_TOPIC, config.offsets_partitions, Vec::new()),
            group_configs: cluster.group_configs(),
            txn: Mutex::new(txn_offsets::TxnOffsets::default()),
            #[cfg(test)]
            fail_appends: Default::default(),
        };
        let Some(topic) = cluster.topic(OFFSETS_TOPIC) else {
            return Ok(coordinator);
        };
        let logs = topic.logs();
        let mut replay = Replay::default();
        for (offsets_partition, log) in logs.iter().enumerate() {
            for record in store::replay_records(log)? {
                replay.apply(offsets_partition as i32, record);
            }
        }
        coordinator.install(replay);
        coordinator.offsets_topic =
            InternalTopic::new(OFFSETS_TOPIC, config.offsets_partitions, logs);
        Ok(coordinator)
    }

    /// Builds the groups replay found: classic, then consumer groups, then
    /// offsets (a group that only has offsets is an empty classic group).
    fn install(&self, replay: Replay) {
        let now = Instant::now();
        let mut groups = self.groups.lock();
        for (id, stored) in replay.classic {
            let Some(stored) = stored else { continue };
            let classic = ClassicGroup::restore(&id, stored, self.config.group, now);
            let kind = GroupKind::Classic(classic);
            groups.insert(
                id,
                Group {
                    kind,
                    offsets: BTreeMap::new(),
                },
            );
        }
        for (id, stored) in replay.consumer.groups {
            let consumer =
                ConsumerGroup::restore(&id, stored, self.group_configs.consumer_settings(&id), now);
            let kind = GroupKind::Consumer(consumer);
            groups.insert(
                id,
                Group {
                    kind,
                    offsets: BTreeMap::new(),
                },
            );
        }
        for (id, committed) in replay.offsets.committed {
            if committed.is_empty() {
                continue;
            }
            let group = groups
                .entry(id.clone())
                .or_insert_with(|| self.new_group(&id));
            group.offsets = committed;
        }
        // Pending offsets need their group too (a simple one, as Kafka
        // creates for any offset record).
        for id in replay.offsets.pending.groups() {
            if !groups.contains_key(id) {
                groups.insert(id.clone(), self.new_group(id));
            }
        }
        tracing::info!(
            groups = groups.len(),
            "consumer groups loaded from {OFFSETS_TOPIC}"
        );
        *self.txn.lock() = replay.offsets.pending;
    }
}

impl Replay {
    /// One record (or transaction marker) of `offsets_partition`, in log order.
    fn apply(&mut self, offsets_partition: i32, record: ReplayedRecord) {
        let (record_offset, txn_producer, key, value) = match record {
            ReplayedRecord::Marker {
                producer_id,
                marker,
            } => {
                self.offsets.marker(offsets_partition, producer_id, marker);
                return;
            }
            ReplayedRecord::Data {
                offset,
                producer_id,
                transactional,
                key,
                value,
            } => (offset, transactional.then_some(producer_id), key, value),
        };
        match consumer_records::ConsumerKey::decode(&key) {
            Some(Ok(key)) => return self.consumer.apply(key, value),
            Some(Err(e)) => {
                return tracing::warn!(error = %e, "skipping unreadable {OFFSETS_TOPIC} key")
            }
            None => {}
        }
        match RecordKey::decode(key) {
            Ok(RecordKey::Offset {
                group,
                topic,
                partition,
            }) => self.offsets.offset(
                offsets_partition,
                record_offset,
                txn_producer,
                group,
                (topic, partition),
                value,
            ),
            Ok(RecordKey::Group { group }) => match value.map(records::decode_group).transpose() {
                Ok(v) => {
                    self.classic.insert(group, v);
                }
                Err(e) => tracing::warn!(error = %e, "skipping unreadable group value"),
            },
            Err(e) => tracing::warn!(error = %e, "skipping unreadable {OFFSETS_TOPIC} key"),
        }
    }
}
