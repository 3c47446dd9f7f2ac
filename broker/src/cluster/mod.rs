//! Cluster metadata: the topics this node serves and the changes to them.
//!
//! Every change is validated, written to `__strata_metadata` and fsynced,
//! then applied in memory; changes are serialized by one async lock, so the
//! log order is the order they took effect in. Reads take a short
//! `parking_lot` lock and clone `Arc`s out.

mod group_configs;
mod metadata_log;
mod tiering;
mod topic;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use kafka_protocol::error::ResponseError;
use parking_lot::RwLock;
use strata_storage::Log;
use strata_tier::{RemotePartition, Tier};
use uuid::Uuid;

pub(crate) use metadata_log::{MetadataEvent, SecurityImage, METADATA_LOG_DIR};
use metadata_log::{MetadataImage, MetadataLog};
pub(crate) use tiering::RestoredPartitions;
pub(crate) use topic::{
    is_internal, validate_topic_name, Topic, TopicConfigState, OFFSETS_TOPIC, SCHEMAS_TOPIC,
    TRANSACTION_STATE_TOPIC,
};

use crate::group_config::GroupConfigs;
use crate::properties::BrokerProperties;
use crate::topic_config::{self, EffectiveTopicConfig};

/// A refused admin change: the Kafka error code and a message for the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AdminError {
    pub(crate) code: ResponseError,
    pub(crate) message: String,
}

impl AdminError {
    pub(crate) fn new(code: ResponseError, message: impl Into<String>) -> Self {
        AdminError {
            code,
            message: message.into(),
        }
    }
}

#[derive(Default)]
struct Topics {
    by_name: HashMap<String, Arc<Topic>>,
    by_id: HashMap<Uuid, Arc<Topic>>,
}

/// The node's view of the cluster (a cluster of one, for now).
pub(crate) struct Cluster {
    pub(crate) cluster_id: String,
    pub(crate) node_id: i32,
    pub(crate) properties: BrokerProperties,
    data_dir: PathBuf,
    topics: RwLock<Topics>,
    metadata: MetadataLog,
    changes: tokio::sync::Mutex<()>,
    tier: Option<Arc<Tier>>,
    /// The first producer id not yet recorded as handed out.
    next_producer_id: parking_lot::Mutex<i64>,
    /// ACLs and credentials replayed at start, until the security module takes them.
    replayed_security: parking_lot::Mutex<Option<SecurityImage>>,
    /// Each group's dynamic configs (`group_configs.rs`).
    group_configs: Arc<GroupConfigs>,
}

impl Cluster {
    /// Loads identity and metadata from `data_dir` and opens every partition log.
    pub(crate) fn open(data_dir: &Path, properties: BrokerProperties) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let (metadata, image) = MetadataLog::open(data_dir)?;
        Self::from_metadata(data_dir, properties, metadata, image, None)
    }

    /// As [`Cluster::open`], with a tier: what the data directory lacks and
    /// the tier holds is restored first (see `tiering.rs`), and every
    /// partition log is tracked by the tier.
    /// The cluster id is settled with the tier first (`tiering.rs`), and
    /// `progress` hears what the restore is doing. Returns what was
    /// restored, `None` when the data directory lacked nothing.
    pub(crate) async fn open_tiered(
        data_dir: &Path,
        properties: BrokerProperties,
        tier: Arc<Tier>,
        progress: &(dyn Fn(String) + Sync),
    ) -> anyhow::Result<(Self, Option<RestoredPartitions>)> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        progress("settling the cluster id with the tier".to_string());
        let (_, id_from_tier) =
            tiering::reconcile_cluster_id(&tier, data_dir, properties.node_id).await?;
        let mut restored = RestoredPartitions {
            cluster_id: id_from_tier,
            ..RestoredPartitions::default()
        };
        progress("restoring the metadata log from the tier".to_string());
        tiering::restore_metadata_log(&tier, data_dir, &mut restored).await?;
        let (metadata, image) = MetadataLog::open(data_dir)?;
        tiering::restore_partitions(&tier, data_dir, &image, &mut restored, progress).await?;
        tier.track(tiering::metadata_log_spec(), metadata.log().clone());
        let cluster = Self::from_metadata(data_dir, properties, metadata, image, Some(tier))?;
        let any = restored.metadata_log || restored.partitions > 0 || restored.cluster_id;
        Ok((cluster, any.then_some(restored)))
    }

    fn from_metadata(
        data_dir: &Path,
        properties: BrokerProperties,
        metadata: MetadataLog,
        image: MetadataImage,
        tier: Option<Arc<Tier>>,
    ) -> anyhow::Result<Self> {
        let cluster_id = crate::meta_properties::load_or_create(data_dir, properties.node_id)?;
        remove_orphan_partition_dirs(data_dir, &image)?;
        let mut topics = Topics::default();
        for (name, t) in &image.topics {
            let effective = EffectiveTopicConfig::resolve(&t.configs, &properties);
            let logs = (0..t.partitions)
                .map(|p| open_partition(data_dir, name, p, &effective))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let state = TopicConfigState {
                overrides: t.configs.clone(),
                effective: Arc::new(effective),
            };
            if let Some(tier) = &tier {
                tiering::track(tier, name, t.id, 0, &logs);
            }
            let topic = Arc::new(Topic::new(name.clone(), t.id, logs, state));
            topics.by_id.insert(t.id, topic.clone());
            topics.by_name.insert(name.clone(), topic);
        }
        tracing::info!(topics = topics.by_name.len(), %cluster_id, "cluster metadata loaded");
        let group_configs = Arc::new(GroupConfigs::new(&properties, image.group_configs));
        Ok(Cluster {
            cluster_id,
            node_id: properties.node_id,
            properties,
            data_dir: data_dir.to_path_buf(),
            topics: RwLock::new(topics),
            next_producer_id: parking_lot::Mutex::new(image.next_producer_id),
            replayed_security: parking_lot::Mutex::new(Some(image.security)),
            group_configs,
            metadata,
            changes: tokio::sync::Mutex::new(()),
            tier,
        })
    }

    /// Validates topic overrides, and refuses `remote.storage.enable=true`
    /// on a broker without a tier, as Kafka refuses it without
    /// `remote.log.storage.system.enable` (accepted, it would stop local
    /// retention, which waits for uploads that never come).
    fn validate_overrides(&self, overrides: &BTreeMap<String, String>) -> Result<(), AdminError> {
        topic_config::validate_overrides(overrides)
            .map_err(|m| AdminError::new(ResponseError::InvalidConfig, m))?;
        if self.tier.is_none()
            && overrides.get("remote.storage.enable").map(|v| v.trim()) == Some("true")
        {
            return Err(AdminError::new(
                ResponseError::InvalidConfig,
                "remote.storage.enable needs tiered storage on the broker (--tier-url)",
            ));
        }
        Ok(())
    }

    /// The tier, when one is configured.
    pub(crate) fn tier(&self) -> Option<&Arc<Tier>> {
        self.tier.as_ref()
    }

    /// The remote side of a partition, when the tier tracks it.
    pub(crate) fn remote_partition(
        &self,
        topic: &Topic,
        partition: i32,
    ) -> Option<(Arc<Tier>, Arc<RemotePartition>)> {
        let tier = self.tier.as_ref()?;
        let remote = tier.partition(&tiering::partition_path(&topic.name, topic.id, partition))?;
        Some((tier.clone(), remote))
    }

    pub(crate) fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().by_name.get(name).cloned()
    }

    pub(crate) fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.topics.read().by_id.get(&id).cloned()
    }

    /// Every topic, sorted by name.
    pub(crate) fn topics(&self) -> Vec<Arc<Topic>> {
        let mut all: Vec<_> = self.topics.read().by_name.values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Checks a CreateTopics entry; returns the partition count and configs it resolves to.
    pub(crate) fn validate_new_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &BTreeMap<String, String>,
    ) -> Result<(i32, EffectiveTopicConfig), AdminError> {
        validate_topic_name(name)
            .map_err(|m| AdminError::new(ResponseError::InvalidTopicException, m))?;
        if name.starts_with("__strata") {
            return Err(AdminError::new(
                ResponseError::InvalidTopicException,
                "topic names starting with __strata are reserved",
            ));
        }
        let topics = self.topics.read();
        if topics.by_name.contains_key(name) {
            return Err(AdminError::new(
                ResponseError::TopicAlreadyExists,
                format!("Topic '{name}' already exists."),
            ));
        }
        let key = topic::collision_key(name);
        if let Some(other) = topics
            .by_name
            .keys()
            .find(|n| topic::collision_key(n) == key)
        {
            return Err(AdminError::new(
                ResponseError::InvalidTopicException,
                format!("Topic '{name}' collides with existing topic: {other}"),
            ));
        }
        drop(topics);
        let partitions = match partitions {
            -1 => self.properties.num_partitions,
            n if n < 1 => {
                return Err(AdminError::new(
                    ResponseError::InvalidPartitions,
                    "Number of partitions must be larger than 0.",
                ))
            }
            n => n,
        };
        if replication_factor != -1 && replication_factor != 1 {
            return Err(AdminError::new(
                ResponseError::InvalidReplicationFactor,
                format!("Unable to replicate the partition {replication_factor} time(s): The target replication factor of {replication_factor} cannot be reached because only 1 broker(s) are registered."),
            ));
        }
        self.validate_overrides(configs)?;
        Ok((
            partitions,
            EffectiveTopicConfig::resolve(configs, &self.properties),
        ))
    }

    /// Creates a topic (after [`Cluster::validate_new_topic`] checks, repeated
    /// under the change lock).
    pub(crate) async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
    ) -> Result<Arc<Topic>, AdminError> {
        let _guard = self.changes.lock().await;
        let (partitions, effective) =
            self.validate_new_topic(name, partitions, replication_factor, &configs)?;
        self.create_locked(name, partitions, configs, effective)
            .await
    }

    /// Creates one of the broker's internal topics (`__consumer_offsets`),
    /// whose configs are the broker's to choose and are not user-validated.
    pub(crate) async fn create_internal_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
    ) -> Result<Arc<Topic>, AdminError> {
        let _guard = self.changes.lock().await;
        if let Some(existing) = self.topic(name) {
            return Ok(existing);
        }
        let effective = EffectiveTopicConfig::resolve(&configs, &self.properties);
        self.create_locked(name, partitions, configs, effective)
            .await
    }

    async fn create_locked(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
        effective: EffectiveTopicConfig,
    ) -> Result<Arc<Topic>, AdminError> {
        let id = Uuid::new_v4();
        let logs = (0..partitions)
            .map(|p| open_partition(&self.data_dir, name, p, &effective))
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(internal)?;
        let event = MetadataEvent::TopicCreated {
            name: name.to_string(),
            id,
            partitions,
            configs: configs.clone(),
        };
        if let Err(e) = self.metadata.append(&event).await {
            for log in &logs {
                let _ = log.delete();
            }
            return Err(internal(e));
        }
        if let Some(tier) = &self.tier {
            tiering::track(tier, name, id, 0, &logs);
        }
        let state = TopicConfigState {
            overrides: configs,
            effective: Arc::new(effective),
        };
        let topic = Arc::new(Topic::new(name.to_string(), id, logs, state));
        let mut topics = self.topics.write();
        topics.by_id.insert(id, topic.clone());
        topics.by_name.insert(name.to_string(), topic.clone());
        tracing::info!(topic = name, partitions, %id, "topic created");
        Ok(topic)
    }

    /// Deletes a topic and its data.
    pub(crate) async fn delete_topic(&self, topic: &Arc<Topic>) -> Result<(), AdminError> {
        let _guard = self.changes.lock().await;
        if self.topic(&topic.name).is_none_or(|t| t.id != topic.id) {
            return Err(AdminError::new(
                ResponseError::UnknownTopicOrPartition,
                "This server does not host this topic-partition.",
            ));
        }
        let event = MetadataEvent::TopicDeleted {
            name: topic.name.clone(),
            id: topic.id,
        };
        self.metadata.append(&event).await.map_err(internal)?;
        {
            let mut topics = self.topics.write();
            topics.by_name.remove(&topic.name);
            topics.by_id.remove(&topic.id);
        }
        if let Some(tier) = &self.tier {
            for partition in 0..topic.partition_count() {
                tier.untrack_and_delete(&tiering::partition_path(&topic.name, topic.id, partition));
            }
        }
        for log in topic.logs() {
            if let Err(e) = log.delete() {
                tracing::warn!(topic = %topic.name, error = %e, "removing deleted topic's log; it is removed at next start");
            }
        }
        tracing::info!(topic = %topic.name, "topic deleted");
        Ok(())
    }

    /// Grows a topic to `count` partitions.
    pub(crate) async fn create_partitions(
        &self,
        topic: &Arc<Topic>,
        count: i32,
        validate_only: bool,
    ) -> Result<(), AdminError> {
        let _guard = self.changes.lock().await;
        let current = topic.partition_count();
        if count <= current {
            return Err(AdminError::new(
                ResponseError::InvalidPartitions,
                format!("Topic currently has {current} partitions, which is higher than the requested {count}."),
            ));
        }
        if validate_only {
            return Ok(());
        }
        let effective = topic.effective_config();
        let logs = (current..count)
            .map(|p| open_partition(&self.data_dir, &topic.name, p, &effective))
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(internal)?;
        let event = MetadataEvent::PartitionsCreated {
            name: topic.name.clone(),
            id: topic.id,
            partitions: count,
        };
        self.metadata.append(&event).await.map_err(internal)?;
        if let Some(tier) = &self.tier {
            tiering::track(tier, &topic.name, topic.id, current, &logs);
        }
        topic.add_partitions(logs);
        Ok(())
    }

    /// Replaces a topic's config overrides with `overrides` (validated here).
    pub(crate) async fn replace_topic_configs(
        &self,
        topic: &Arc<Topic>,
        overrides: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), AdminError> {
        let _guard = self.changes.lock().await;
        self.validate_overrides(&overrides)?;
        if validate_only {
            return Ok(());
        }
        let event = MetadataEvent::TopicConfigsReplaced {
            name: topic.name.clone(),
            id: topic.id,
            configs: overrides.clone(),
        };
        self.metadata.append(&event).await.map_err(internal)?;
        let effective = Arc::new(EffectiveTopicConfig::resolve(&overrides, &self.properties));
        topic.set_config(TopicConfigState {
            overrides,
            effective,
        });
        Ok(())
    }

    /// Records a block of `size` producer ids as handed out, durably, and
    /// returns its first id. A block starts no lower than `floor` (the
    /// caller's clock-derived floor, see `producer_ids.rs`).
    pub(crate) async fn allocate_producer_ids(&self, size: i64, floor: i64) -> anyhow::Result<i64> {
        let _changes = self.changes.lock().await;
        let start = (*self.next_producer_id.lock()).max(floor);
        let next = start + size;
        self.metadata
            .append(&MetadataEvent::ProducerIdsAllocated { next })
            .await?;
        *self.next_producer_id.lock() = next;
        Ok(start)
    }

    /// The ACLs and SCRAM credentials the metadata log held at start (empty
    /// when taken a second time).
    pub(crate) fn take_replayed_security(&self) -> SecurityImage {
        self.replayed_security.lock().take().unwrap_or_default()
    }

    /// Appends `events` durably as one batch, then runs `apply` before any
    /// later change is recorded, so in-memory state changes in log order
    /// (ACLs and credentials, whose state lives in the security module).
    pub(crate) async fn record<R>(
        &self,
        events: &[MetadataEvent],
        apply: impl FnOnce() -> R,
    ) -> anyhow::Result<R> {
        let _changes = self.changes.lock().await;
        self.metadata.append_all(events).await?;
        Ok(apply())
    }

    /// Every partition log, for retention and shutdown.
    pub(crate) fn all_logs(&self) -> Vec<Log> {
        self.topics().iter().flat_map(|t| t.logs()).collect()
    }

    /// Flushes and closes every log.
    pub(crate) fn close(&self) {
        for log in self.all_logs() {
            if let Err(e) = log.close() {
                tracing::warn!(error = %e, "closing log");
            }
        }
        self.metadata.close();
    }
}

fn internal(e: anyhow::Error) -> AdminError {
    tracing::error!(error = format!("{e:#}"), "metadata change failed");
    AdminError::new(ResponseError::UnknownServerError, format!("{e:#}"))
}

fn partition_dir(data_dir: &Path, topic: &str, partition: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{partition}"))
}

fn open_partition(
    data_dir: &Path,
    topic: &str,
    partition: i32,
    config: &EffectiveTopicConfig,
) -> anyhow::Result<Log> {
    let dir = partition_dir(data_dir, topic, partition);
    Log::open(&dir, config.log.clone()).with_context(|| format!("opening log {}", dir.display()))
}

/// Removes partition directories no topic owns: left by a crash between a
/// topic's deletion event and the removal of its files. Without this a topic
/// re-created under the same name would find the old records.
fn remove_orphan_partition_dirs(data_dir: &Path, image: &MetadataImage) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(data_dir).with_context(|| format!("listing {}", data_dir.display()))?
    {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        if name == METADATA_LOG_DIR {
            continue;
        }
        let Some((topic, partition)) = name.rsplit_once('-') else {
            continue;
        };
        let Ok(partition) = partition.parse::<i32>() else {
            continue;
        };
        let owned = image
            .topics
            .get(topic)
            .is_some_and(|t| partition < t.partitions);
        if !owned && validate_topic_name(topic).is_ok() {
            tracing::warn!(dir = %entry.path().display(), "removing partition directory no topic owns");
            std::fs::remove_dir_all(entry.path())
                .with_context(|| format!("removing {}", entry.path().display()))?;
        }
    }
    Ok(())
}
