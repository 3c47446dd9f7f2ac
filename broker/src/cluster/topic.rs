//! A topic: its id, partition logs and configuration.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use strata_storage::Log;
use uuid::Uuid;

use crate::metrics::TopicTraffic;
use crate::topic_config::EffectiveTopicConfig;

/// The config overrides set on a topic and what they resolve to.
#[derive(Debug, Clone)]
pub(crate) struct TopicConfigState {
    pub(crate) overrides: BTreeMap<String, String>,
    pub(crate) effective: Arc<EffectiveTopicConfig>,
}

/// A live topic. Partitions only grow; the topic is dropped whole on delete.
pub(crate) struct Topic {
    pub(crate) name: String,
    pub(crate) id: Uuid,
    partitions: RwLock<Vec<Log>>,
    config: RwLock<TopicConfigState>,
    /// Bytes and records in and out, for `/metrics`.
    pub(crate) traffic: TopicTraffic,
}

impl Topic {
    pub(crate) fn new(name: String, id: Uuid, logs: Vec<Log>, config: TopicConfigState) -> Self {
        Topic {
            name,
            id,
            partitions: RwLock::new(logs),
            config: RwLock::new(config),
            traffic: TopicTraffic::default(),
        }
    }

    pub(crate) fn partition(&self, index: i32) -> Option<Log> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.partitions.read().get(i).cloned())
    }

    pub(crate) fn partition_count(&self) -> i32 {
        self.partitions.read().len() as i32
    }

    pub(crate) fn logs(&self) -> Vec<Log> {
        self.partitions.read().clone()
    }

    pub(crate) fn add_partitions(&self, logs: Vec<Log>) {
        self.partitions.write().extend(logs);
    }

    pub(crate) fn config(&self) -> TopicConfigState {
        self.config.read().clone()
    }

    pub(crate) fn effective_config(&self) -> Arc<EffectiveTopicConfig> {
        self.config.read().effective.clone()
    }

    pub(crate) fn set_config(&self, state: TopicConfigState) {
        for log in self.partitions.read().iter() {
            log.set_config(state.effective.log.clone());
        }
        *self.config.write() = state;
    }
}

/// The group coordinator's topic, as in Kafka.
pub(crate) const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// The transaction coordinator's topic, as in Kafka.
pub(crate) const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";
/// The Schema Registry's topic, as in Confluent's registry.
pub(crate) const SCHEMAS_TOPIC: &str = "_schemas";

/// Topics the broker keeps for itself. Clients may read them but not write
/// or delete them, and Metadata flags them `is_internal`. Their names live
/// here, with the cluster, so that the cluster needs none of the
/// coordinators that own them.
pub(crate) fn is_internal(name: &str) -> bool {
    [OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC, SCHEMAS_TOPIC].contains(&name)
}

/// Kafka's legal topic name: 1-249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub(crate) fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("topic name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("topic name cannot be {name:?}"));
    }
    if name.len() > 249 {
        return Err(format!(
            "topic name is {} characters, more than 249",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!("topic name {name:?} contains {c:?}; legal characters are a-z, A-Z, 0-9, '.', '_' and '-'"));
    }
    Ok(())
}

/// Kafka refuses names that differ only by '.' versus '_', since metric
/// names would collide.
pub(crate) fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders.v1_x-2").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("bad name").is_err());
        assert!(validate_topic_name(&"a".repeat(250)).is_err());
        assert_eq!(collision_key("a.b"), collision_key("a_b"));
    }
}
