//! A compacted internal topic a coordinator keeps its state in
//! (`__consumer_offsets`, `__transaction_state`): created on first use, as
//! Kafka creates them, and each key (a group or a transactional id) placed
//! in partition `abs(hash(key)) % partitions` so its records stay in order.

use std::collections::BTreeMap;

use parking_lot::RwLock;
use strata_storage::Log;

use crate::cluster::{AdminError, Cluster};
use crate::internal_log::partition_for;

pub(crate) struct InternalTopic {
    name: &'static str,
    /// Partitions to create it with (an existing topic keeps its own count).
    partitions: i32,
    /// Its partitions' logs, once it exists.
    logs: RwLock<Vec<Log>>,
    /// Serialises creation.
    create: tokio::sync::Mutex<()>,
}

impl InternalTopic {
    /// The topic `name`, over `logs` when it exists already (empty otherwise).
    pub(crate) fn new(name: &'static str, partitions: i32, logs: Vec<Log>) -> Self {
        InternalTopic {
            name,
            partitions,
            logs: RwLock::new(logs),
            create: tokio::sync::Mutex::new(()),
        }
    }

    /// Creates the topic unless it exists (compacted, 100 MiB segments).
    pub(crate) async fn ensure(&self, cluster: &Cluster) -> Result<(), AdminError> {
        if self.exists() {
            return Ok(());
        }
        let _guard = self.create.lock().await;
        if self.exists() {
            return Ok(());
        }
        let topic = match cluster.topic(self.name) {
            Some(topic) => topic,
            None => {
                let configs: BTreeMap<String, String> = [
                    ("cleanup.policy".to_string(), "compact".to_string()),
                    ("segment.bytes".to_string(), "104857600".to_string()),
                ]
                .into();
                cluster
                    .create_internal_topic(self.name, self.partitions, configs)
                    .await?
            }
        };
        *self.logs.write() = topic.logs();
        Ok(())
    }

    pub(crate) fn exists(&self) -> bool {
        !self.logs.read().is_empty()
    }

    /// The partition holding `key` and its log, once the topic exists.
    pub(crate) fn partition_of(&self, key: &str) -> Option<(i32, Log)> {
        let logs = self.logs.read();
        if logs.is_empty() {
            return None;
        }
        let partition = partition_for(key, logs.len() as i32);
        Some((partition, logs[partition as usize].clone()))
    }

    /// Every partition's log.
    #[cfg(test)]
    pub(crate) fn logs(&self) -> Vec<Log> {
        self.logs.read().clone()
    }
}
