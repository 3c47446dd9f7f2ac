//! Loading the coordinator at start: every group and committed offset is
//! rebuilt by replaying `__consumer_offsets` (classic group records,
//! KIP-848 consumer group records, offsets and transactional offsets with
//! their markers).

use super::*;

impl GroupCoordinator {
    /// Rebuilds every group and committed offset from `__consumer_offsets`.
    pub(crate) fn open(cluster: &Cluster, config: CoordinatorConfig) -> anyhow::Result<Self> {
        let mut coordinator = GroupCoordinator {
            config,
            groups: Mutex::new(HashMap::new()),
            offsets_topic: InternalTopic::new(OFFSETS_TOPIC, config.offsets_partitions, Vec::new()),
            consumer_settings: ConsumerSettings {
                session_timeout_ms: cluster.properties.group_consumer_session_timeout_ms,
                heartbeat_interval_ms: cluster.properties.group_consumer_heartbeat_interval_ms,
            },
            txn: Mutex::new(txn_offsets::TxnOffsets::default()),
        };
        if let Some(topic) = cluster.topic(OFFSETS_TOPIC) {
            let logs = topic.logs();
            let mut stored_groups = HashMap::new();
            let mut offsets = offset_replay::OffsetReplay::default();
            let mut consumer_groups = consumer_replay::ConsumerReplay::default();
            for (offsets_partition, log) in logs.iter().enumerate() {
                let offsets_partition = offsets_partition as i32;
                for record in store::replay_records(log)? {
                    let (record_offset, txn_producer, key, value) = match record {
                        ReplayedRecord::Marker {
                            producer_id,
                            marker,
                        } => {
                            offsets.marker(offsets_partition, producer_id, marker);
                            continue;
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
                        Some(Ok(key)) => {
                            consumer_groups.apply(key, value);
                            continue;
                        }
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "skipping unreadable {OFFSETS_TOPIC} key");
                            continue;
                        }
                        None => {}
                    }
                    let key = match RecordKey::decode(key) {
                        Ok(key) => key,
                        Err(e) => {
                            tracing::warn!(error = %e, "skipping unreadable {OFFSETS_TOPIC} key");
                            continue;
                        }
                    };
                    match key {
                        RecordKey::Offset {
                            group,
                            topic,
                            partition,
                        } => offsets.offset(
                            offsets_partition,
                            record_offset,
                            txn_producer,
                            group,
                            (topic, partition),
                            value,
                        ),
                        RecordKey::Group { group } => match value
                            .map(records::decode_group)
                            .transpose()
                        {
                            Ok(v) => {
                                stored_groups.insert(group, v);
                            }
                            Err(e) => tracing::warn!(error = %e, "skipping unreadable group value"),
                        },
                    }
                }
            }
            let now = Instant::now();
            let mut groups = coordinator.groups.lock();
            for (id, stored) in stored_groups {
                let classic = match stored {
                    Some(stored) => ClassicGroup::restore(&id, stored, config.group, now),
                    None => continue,
                };
                groups.insert(
                    id,
                    Group {
                        classic,
                        consumer: None,
                        offsets: BTreeMap::new(),
                    },
                );
            }
            for (id, stored) in consumer_groups.groups {
                let consumer =
                    ConsumerGroup::restore(&id, stored, coordinator.consumer_settings, now);
                groups.insert(
                    id.clone(),
                    Group {
                        classic: ClassicGroup::new(&id, config.group),
                        consumer: Some(consumer),
                        offsets: BTreeMap::new(),
                    },
                );
            }
            for (id, committed) in offsets.committed {
                if committed.is_empty() {
                    continue;
                }
                let group = groups
                    .entry(id.clone())
                    .or_insert_with(|| coordinator.new_group(&id));
                group.offsets = committed;
            }
            // Pending offsets need their group too (a simple one, as Kafka
            // creates for any offset record).
            for id in offsets.pending.groups() {
                if !groups.contains_key(id) {
                    groups.insert(id.clone(), coordinator.new_group(id));
                }
            }
            tracing::info!(
                groups = groups.len(),
                "consumer groups loaded from {OFFSETS_TOPIC}"
            );
            drop(groups);
            *coordinator.txn.lock() = offsets.pending;
            coordinator.offsets_topic =
                InternalTopic::new(OFFSETS_TOPIC, config.offsets_partitions, logs);
        }
        Ok(coordinator)
    }
}
