//! The Schema Registry's store: the compacted internal topic `_schemas`,
//! written and replayed through the same storage log as user topics, with
//! records keyed and shaped as Confluent's registry writes them.
//!
//! At start the topic is created if missing (1 partition, compacted) and
//! replayed into a [`Registry`]; afterwards every registry write is one
//! batch appended here, answered only once it is durable.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use strata_schema_registry::http::{BoxFuture, SchemaLog, SchemaRegistry};
use strata_schema_registry::records::LogRecord;
use strata_schema_registry::registry::Registry;
use strata_storage::Log;

use crate::clock::now_ms;
use crate::cluster::Cluster;
use crate::internal_log::{encode_batch, replay};

/// The internal topic's name, as in Confluent's registry.
pub(crate) const SCHEMAS_TOPIC: &str = "_schemas";

/// Opens (creating if missing) `_schemas` and rebuilds the registry from it.
pub(crate) async fn open(cluster: &Cluster) -> anyhow::Result<Arc<SchemaRegistry>> {
    let topic = match cluster.topic(SCHEMAS_TOPIC) {
        Some(topic) => topic,
        None => {
            let configs: BTreeMap<String, String> =
                [("cleanup.policy".to_string(), "compact".to_string())].into();
            cluster
                .create_internal_topic(SCHEMAS_TOPIC, 1, configs)
                .await
                .map_err(|e| anyhow::anyhow!("creating {SCHEMAS_TOPIC}: {}", e.message))?
        }
    };
    let log = topic
        .logs()
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{SCHEMAS_TOPIC} has no partition"))?;
    let mut registry = Registry::new();
    let mut applied = 0usize;
    for (key, value) in replay(&log)? {
        match registry.apply(&key, value.as_deref()) {
            Ok(()) => applied += 1,
            Err(e) => tracing::warn!(error = %e, "skipping unreadable {SCHEMAS_TOPIC} record"),
        }
    }
    tracing::info!(
        records = applied,
        "schema registry loaded from {SCHEMAS_TOPIC}"
    );
    Ok(SchemaRegistry::new(
        registry,
        Arc::new(SchemasLog { log }),
        cluster.cluster_id.clone(),
    ))
}

/// [`SchemaLog`] over partition 0 of `_schemas`.
struct SchemasLog {
    log: Log,
}

impl SchemaLog for SchemasLog {
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let records: Vec<(Bytes, Option<Bytes>)> = records
                .into_iter()
                .map(|(k, v)| (Bytes::from(k), v.map(Bytes::from)))
                .collect();
            let batch = encode_batch(&records, now_ms());
            let info = self.log.append(batch, 0, None).map_err(|e| {
                tracing::error!(error = %e, "writing {SCHEMAS_TOPIC} failed");
                e.to_string()
            })?;
            self.log
                .wait_durable(info.last_offset + 1)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "{SCHEMAS_TOPIC} write not durable");
                    e.to_string()
                })
        })
    }
}
