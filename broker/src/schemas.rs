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
use strata_schema_registry::http::{BoxFuture, SchemaLog, SchemaLogError, SchemaRegistry};
use strata_schema_registry::records::LogRecord;
use strata_schema_registry::registry::Registry;
use strata_storage::Log;

use crate::clock::now_ms;
use crate::cluster::Cluster;
use crate::internal_log::{encode_batch, replay};

pub(crate) use crate::cluster::SCHEMAS_TOPIC;

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
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), SchemaLogError>> {
        Box::pin(async move {
            let records: Vec<(Bytes, Option<Bytes>)> = records
                .into_iter()
                .map(|(k, v)| (Bytes::from(k), v.map(Bytes::from)))
                .collect();
            let batch = encode_batch(&records, now_ms());
            let durable = match self.log.append(batch, 0, None) {
                Ok(info) => self
                    .log
                    .wait_durable(info.last_offset + 1)
                    .await
                    .map_err(|e| {
                        SchemaLogError::new(format!("waiting for {SCHEMAS_TOPIC} to be durable"), e)
                    }),
                Err(e) => Err(SchemaLogError::new(
                    format!("appending to {SCHEMAS_TOPIC}"),
                    e,
                )),
            };
            if let Err(e) = &durable {
                tracing::error!(error = %e.chain(), "schema registry write failed");
            }
            durable
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::properties::BrokerProperties;

    async fn call(router: &axum::Router, method: &str, uri: &str, body: &str) -> String {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn writes_land_in_schemas_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Cluster::open(dir.path(), BrokerProperties::default()).unwrap();
        let router = strata_schema_registry::http::router(
            open(&cluster).await.unwrap(),
            Arc::new(strata_governance::AllowAll),
        );
        let topic = cluster.topic(SCHEMAS_TOPIC).unwrap();
        assert!(topic.effective_config().log.compact);
        let registered = call(
            &router,
            "POST",
            "/subjects/s/versions",
            r#"{"schema": "\"string\""}"#,
        )
        .await;
        assert!(registered.contains(r#""id":1"#), "{registered}");
        call(&router, "PUT", "/config", r#"{"compatibility": "FULL"}"#).await;
        let records = replay(&topic.logs()[0]).unwrap();
        assert_eq!(
            &records[0].0[..],
            br#"{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}"#
        );
        cluster.close();
        drop(router);

        let cluster = Cluster::open(dir.path(), BrokerProperties::default()).unwrap();
        let router = strata_schema_registry::http::router(
            open(&cluster).await.unwrap(),
            Arc::new(strata_governance::AllowAll),
        );
        let got = call(&router, "GET", "/subjects/s/versions/latest", "").await;
        assert!(got.contains(r#""id":1"#), "{got}");
        let config = call(&router, "GET", "/config", "").await;
        assert_eq!(config, r#"{"compatibilityLevel":"FULL"}"#);
        cluster.close();
    }
}
