//! `__strata_metadata`: topics, partitions and configs as a log of events.
//!
//! The broker's own state goes through the same storage engine as user
//! topics, so it inherits recovery (and later compaction and tiering). Each
//! event is one record, JSON in the value, the topic name as key, written in
//! an uncompressed RecordBatch v2 and fsynced before the change is
//! acknowledged. At start the events are replayed into a [`MetadataImage`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use strata_governance::credentials::{ScramCredential, ScramMechanism};
use strata_storage::{Log, LogConfig};
use uuid::Uuid;

use crate::quotas::{QuotaChange, QuotaEntity};
use crate::security::acl_log::{credential, scram_record_key, StoredAcl};

/// Directory name of the metadata log inside the data directory.
pub(crate) const METADATA_LOG_DIR: &str = "__strata_metadata-0";

/// One change to cluster metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub(crate) enum MetadataEvent {
    TopicCreated {
        name: String,
        id: Uuid,
        partitions: i32,
        configs: BTreeMap<String, String>,
    },
    PartitionsCreated {
        name: String,
        id: Uuid,
        partitions: i32,
    },
    TopicConfigsReplaced {
        name: String,
        id: Uuid,
        configs: BTreeMap<String, String>,
    },
    TopicDeleted {
        name: String,
        id: Uuid,
    },
    /// Producer ids below `next` have been handed out (or may have been:
    /// a block is recorded before any id of it is used), as Kafka's
    /// `ProducerIdsRecord` records `nextProducerId`.
    ProducerIdsAllocated {
        next: i64,
    },
    /// ACL bindings added (CreateAcls). Written as one record per binding,
    /// keyed by the binding, all in one batch.
    AclsCreated {
        acls: Vec<StoredAcl>,
    },
    /// ACL bindings removed (DeleteAcls), one record per binding as above.
    AclsDeleted {
        acls: Vec<StoredAcl>,
    },
    /// A user's SCRAM credential for one mechanism, set or replaced.
    ScramCredentialUpserted {
        user: String,
        #[serde(with = "crate::security::acl_log::mechanism")]
        mechanism: ScramMechanism,
        #[serde(with = "crate::security::acl_log::b64")]
        salt: Vec<u8>,
        iterations: u32,
        #[serde(with = "crate::security::acl_log::b64")]
        stored_key: Vec<u8>,
        #[serde(with = "crate::security::acl_log::b64")]
        server_key: Vec<u8>,
    },
    /// A user's SCRAM credential for one mechanism, removed.
    ScramCredentialDeleted {
        user: String,
        #[serde(with = "crate::security::acl_log::mechanism")]
        mechanism: ScramMechanism,
    },
    /// One client quota of one entity set (`value`) or removed (`null`),
    /// as Kafka's `ClientQuotaRecord`.
    ClientQuotaChanged {
        entity: QuotaEntity,
        key: String,
        value: Option<f64>,
    },
    /// A group's whole set of dynamic configs (KIP-848), as Kafka's
    /// `ConfigRecord`s of a GROUP resource; empty removes them all.
    GroupConfigsReplaced {
        group: String,
        configs: BTreeMap<String, String>,
    },
}

/// The record key of a group's configs: `group:` cannot start a topic
/// name (`:` is not a topic name character), an ACL's or a quota's key.
fn group_config_record_key(group: &str) -> String {
    format!("group:{group}")
}

/// The record key of producer id blocks (topics use their names).
const PRODUCER_IDS_KEY: &str = "__producer_ids";

impl MetadataEvent {
    /// The records this event is written as: one per ACL binding for the
    /// ACL events (so that each binding has its own key), one otherwise.
    fn records(&self) -> Vec<(String, MetadataEvent)> {
        let key = match self {
            MetadataEvent::TopicCreated { name, .. }
            | MetadataEvent::PartitionsCreated { name, .. }
            | MetadataEvent::TopicConfigsReplaced { name, .. }
            | MetadataEvent::TopicDeleted { name, .. } => name.clone(),
            MetadataEvent::ProducerIdsAllocated { .. } => PRODUCER_IDS_KEY.to_string(),
            MetadataEvent::AclsCreated { acls } => {
                return acls
                    .iter()
                    .map(|acl| {
                        let one = MetadataEvent::AclsCreated {
                            acls: vec![acl.clone()],
                        };
                        (acl.record_key(), one)
                    })
                    .collect();
            }
            MetadataEvent::AclsDeleted { acls } => {
                return acls
                    .iter()
                    .map(|acl| {
                        let one = MetadataEvent::AclsDeleted {
                            acls: vec![acl.clone()],
                        };
                        (acl.record_key(), one)
                    })
                    .collect();
            }
            MetadataEvent::ScramCredentialUpserted {
                user, mechanism, ..
            }
            | MetadataEvent::ScramCredentialDeleted { user, mechanism } => {
                scram_record_key(user, mechanism.name())
            }
            MetadataEvent::ClientQuotaChanged { entity, key, .. } => entity.record_key(key),
            MetadataEvent::GroupConfigsReplaced { group, .. } => group_config_record_key(group),
        };
        vec![(key, self.clone())]
    }
}

/// The ACLs and SCRAM credentials the events add up to, handed to the
/// security module at start.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SecurityImage {
    /// By record key.
    pub(crate) acls: BTreeMap<String, StoredAcl>,
    pub(crate) credentials: BTreeMap<(String, ScramMechanism), ScramCredential>,
    /// Client quotas, by entity and key.
    pub(crate) quotas: BTreeMap<QuotaEntity, BTreeMap<String, f64>>,
}

/// A topic as the metadata log describes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TopicImage {
    pub(crate) id: Uuid,
    pub(crate) partitions: i32,
    pub(crate) configs: BTreeMap<String, String>,
}

/// The state the events add up to.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct MetadataImage {
    pub(crate) topics: HashMap<String, TopicImage>,
    /// The first producer id never handed out.
    pub(crate) next_producer_id: i64,
    pub(crate) security: SecurityImage,
    /// Each group's dynamic configs (groups without any are absent).
    pub(crate) group_configs: HashMap<String, BTreeMap<String, String>>,
}

impl MetadataImage {
    pub(crate) fn apply(&mut self, event: &MetadataEvent) {
        match event {
            MetadataEvent::TopicCreated {
                name,
                id,
                partitions,
                configs,
            } => {
                self.topics.insert(
                    name.clone(),
                    TopicImage {
                        id: *id,
                        partitions: *partitions,
                        configs: configs.clone(),
                    },
                );
            }
            MetadataEvent::PartitionsCreated {
                name,
                id,
                partitions,
            } => {
                if let Some(t) = self.topics.get_mut(name).filter(|t| t.id == *id) {
                    t.partitions = *partitions;
                }
            }
            MetadataEvent::TopicConfigsReplaced { name, id, configs } => {
                if let Some(t) = self.topics.get_mut(name).filter(|t| t.id == *id) {
                    t.configs = configs.clone();
                }
            }
            MetadataEvent::TopicDeleted { name, id } => {
                if self.topics.get(name).is_some_and(|t| t.id == *id) {
                    self.topics.remove(name);
                }
            }
            MetadataEvent::ProducerIdsAllocated { next } => {
                self.next_producer_id = self.next_producer_id.max(*next);
            }
            MetadataEvent::AclsCreated { acls } => {
                for acl in acls {
                    self.security.acls.insert(acl.record_key(), acl.clone());
                }
            }
            MetadataEvent::AclsDeleted { acls } => {
                for acl in acls {
                    self.security.acls.remove(&acl.record_key());
                }
            }
            MetadataEvent::ScramCredentialUpserted {
                user,
                mechanism,
                salt,
                iterations,
                stored_key,
                server_key,
            } => {
                self.security.credentials.insert(
                    (user.clone(), *mechanism),
                    credential(salt, *iterations, stored_key, server_key),
                );
            }
            MetadataEvent::ScramCredentialDeleted { user, mechanism } => {
                self.security
                    .credentials
                    .remove(&(user.clone(), *mechanism));
            }
            MetadataEvent::ClientQuotaChanged { entity, key, value } => {
                crate::quotas::apply_change(
                    &mut self.security.quotas,
                    &QuotaChange {
                        entity: entity.clone(),
                        key: key.clone(),
                        value: *value,
                    },
                );
            }
            MetadataEvent::GroupConfigsReplaced { group, configs } => {
                if configs.is_empty() {
                    self.group_configs.remove(group);
                } else {
                    self.group_configs.insert(group.clone(), configs.clone());
                }
            }
        }
    }
}

/// The metadata log and its writer.
pub(crate) struct MetadataLog {
    log: Log,
}

impl MetadataLog {
    /// Opens the log and replays it.
    pub(crate) fn open(data_dir: &Path) -> anyhow::Result<(Self, MetadataImage)> {
        let dir = data_dir.join(METADATA_LOG_DIR);
        // Every event is needed to replay the state: never trimmed, never compacted.
        let config = LogConfig {
            retention_ms: None,
            retention_bytes: None,
            retention_deletes: false,
            ..LogConfig::default()
        };
        let log = Log::open(&dir, config)
            .with_context(|| format!("opening metadata log {}", dir.display()))?;
        let mut image = MetadataImage::default();
        for (key, value) in crate::internal_log::replay(&log)? {
            let value = value.with_context(|| {
                format!(
                    "metadata record for {:?} without a value",
                    String::from_utf8_lossy(&key)
                )
            })?;
            let event: MetadataEvent =
                serde_json::from_slice(&value).context("decoding a metadata event")?;
            image.apply(&event);
        }
        Ok((MetadataLog { log }, image))
    }

    /// Appends an event and returns once it is durable.
    pub(crate) async fn append(&self, event: &MetadataEvent) -> anyhow::Result<()> {
        self.append_all(std::slice::from_ref(event)).await
    }

    /// Appends events as one batch (all or none of them survive a crash)
    /// and returns once they are durable.
    pub(crate) async fn append_all(&self, events: &[MetadataEvent]) -> anyhow::Result<()> {
        let batch = encode_events(events)?;
        let info = self
            .log
            .append(batch, 0, None)
            .context("appending metadata event")?;
        self.log
            .wait_durable(info.last_offset + 1)
            .await
            .context("syncing metadata log")?;
        Ok(())
    }

    /// The underlying log (the tier uploads it).
    pub(crate) fn log(&self) -> &Log {
        &self.log
    }

    pub(crate) fn close(&self) {
        if let Err(e) = self.log.close() {
            tracing::warn!(error = %e, "closing metadata log");
        }
    }
}

fn encode_events(events: &[MetadataEvent]) -> anyhow::Result<Bytes> {
    let records = events
        .iter()
        .flat_map(MetadataEvent::records)
        .map(|(key, one)| {
            let value = serde_json::to_vec(&one).context("encoding metadata event")?;
            Ok((Bytes::from(key), Some(Bytes::from(value))))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(!records.is_empty(), "a metadata event without records");
    Ok(crate::internal_log::encode_batch(
        &records,
        crate::clock::now_ms(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let id = Uuid::new_v4();
        {
            let (log, image) = MetadataLog::open(dir.path()).unwrap();
            assert!(image.topics.is_empty());
            let configs: BTreeMap<_, _> = [("retention.ms".to_string(), "5".to_string())].into();
            log.append(&MetadataEvent::TopicCreated {
                name: "a".into(),
                id,
                partitions: 1,
                configs,
            })
            .await
            .unwrap();
            log.append(&MetadataEvent::PartitionsCreated {
                name: "a".into(),
                id,
                partitions: 3,
            })
            .await
            .unwrap();
            log.append(&MetadataEvent::TopicCreated {
                name: "b".into(),
                id: Uuid::new_v4(),
                partitions: 1,
                configs: BTreeMap::new(),
            })
            .await
            .unwrap();
            let b_id = image.topics.get("b").map(|t| t.id);
            assert!(b_id.is_none());
            log.close();
        }
        let (_log, image) = MetadataLog::open(dir.path()).unwrap();
        let a = image.topics.get("a").unwrap();
        assert_eq!((a.id, a.partitions), (id, 3));
        assert_eq!(a.configs.get("retention.ms").unwrap(), "5");
        assert!(image.topics.contains_key("b"));
    }

    #[tokio::test]
    async fn group_configs_survive_reopen_and_an_empty_set_removes_them() {
        let dir = tempfile::tempdir().unwrap();
        let set = |group: &str, pairs: &[(&str, &str)]| MetadataEvent::GroupConfigsReplaced {
            group: group.into(),
            configs: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        {
            let (log, _) = MetadataLog::open(dir.path()).unwrap();
            log.append(&set("g1", &[("consumer.session.timeout.ms", "50000")]))
                .await
                .unwrap();
            log.append(&set("g2", &[("consumer.heartbeat.interval.ms", "6000")]))
                .await
                .unwrap();
            log.append(&set("g2", &[])).await.unwrap();
            log.close();
        }
        let (_log, image) = MetadataLog::open(dir.path()).unwrap();
        assert_eq!(
            image.group_configs.get("g1").unwrap()["consumer.session.timeout.ms"],
            "50000"
        );
        assert!(!image.group_configs.contains_key("g2"));
    }

    #[test]
    fn delete_of_an_older_incarnation_is_ignored() {
        let mut image = MetadataImage::default();
        let (old, new) = (Uuid::new_v4(), Uuid::new_v4());
        image.apply(&MetadataEvent::TopicCreated {
            name: "t".into(),
            id: new,
            partitions: 1,
            configs: BTreeMap::new(),
        });
        image.apply(&MetadataEvent::TopicDeleted {
            name: "t".into(),
            id: old,
        });
        assert_eq!(image.topics.get("t").unwrap().id, new);
    }
}
