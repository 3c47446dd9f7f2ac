//! The audit log: security events from every face (failed logins, refused
//! requests, changes to topics, configs, ACLs, credentials and schemas),
//! appended as CloudEvents JSON records to `strata.audit.topic`
//! (`_strata_audit`), which any Kafka consumer allowed to read it can follow.
//!
//! Recording never waits: [`AuditLog::record`] puts the event on a bounded
//! queue, and when the queue is full the event is dropped and counted in
//! `strata_audit_events_dropped_total`. One task ([`AuditWriter`]) takes
//! what is queued, in batches, and appends each batch to partition 0 of the
//! topic directly (not through Produce: the broker's own appends are neither
//! authorized nor audited, so the log cannot feed itself). At shutdown the
//! writer appends what is queued when the stop signal comes; events recorded
//! after that are lost. Denials pass a [`DenialLimiter`] first.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::bail;
use bytes::Bytes;
use prometheus::{IntCounter, IntCounterVec, Opts};
use strata_governance::audit::{AuditEvent, AuditSink, DenialLimiter, NoAudit, DEFAULT_WINDOW};
use strata_storage::Log;
use tokio::sync::{mpsc, watch};

use crate::clock::now_ms;
use crate::cluster::Cluster;
use crate::internal_log::encode_batch;
use crate::metrics::Metrics;
use crate::properties::BrokerProperties;

/// Events queued at most; past it they are dropped (and counted).
const QUEUE: usize = 10_000;
/// Events appended per batch at most.
const MAX_BATCH: usize = 500;
/// Confluent's default retention of its audit topic: 90 days.
const RETENTION_MS: &str = "7776000000";

/// `strata.audit.enabled` and `strata.audit.topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditSettings {
    pub(crate) enabled: bool,
    pub(crate) topic: String,
}

impl AuditSettings {
    /// On by default exactly when an authorizer is (`authorizer_on`):
    /// without one nothing is refused and no one need log in.
    pub(crate) fn from_properties(
        props: &BrokerProperties,
        authorizer_on: bool,
    ) -> anyhow::Result<Self> {
        let enabled = match props.value("strata.audit.enabled") {
            "" => authorizer_on,
            "true" => true,
            "false" => false,
            other => bail!("strata.audit.enabled={other:?}: expected true or false"),
        };
        let topic = props.value("strata.audit.topic").to_owned();
        if enabled && topic.is_empty() {
            bail!("strata.audit.topic is empty");
        }
        Ok(AuditSettings { enabled, topic })
    }
}

/// `strata_audit_events_total{type}` and `strata_audit_events_dropped_total`.
#[derive(Clone)]
struct AuditMetrics {
    events: IntCounterVec,
    dropped: IntCounter,
}

impl AuditMetrics {
    fn new(metrics: &Metrics) -> Self {
        let events = IntCounterVec::new(
            Opts::new(
                "strata_audit_events_total",
                "Audit events queued for the audit topic, by type (authentication, authorization, management).",
            ),
            &["type"],
        )
        .expect("valid metric");
        let dropped = IntCounter::new(
            "strata_audit_events_dropped_total",
            "Audit events dropped because the audit queue was full or the append failed.",
        )
        .expect("valid metric");
        metrics.register(vec![Box::new(events.clone()), Box::new(dropped.clone())]);
        AuditMetrics { events, dropped }
    }
}

/// The broker's [`AuditSink`]: a bounded queue in front of the audit topic.
struct AuditLog {
    queue: mpsc::Sender<AuditEvent>,
    metrics: AuditMetrics,
}

impl AuditSink for AuditLog {
    fn record(&self, event: AuditEvent) {
        let label = event.kind.label();
        match self.queue.try_send(event) {
            Ok(()) => self.metrics.events.with_label_values(&[label]).inc(),
            Err(_) => self.metrics.dropped.inc(),
        }
    }
}

/// Appends queued events to the audit topic.
pub(crate) struct AuditWriter {
    queue: mpsc::Receiver<AuditEvent>,
    log: Log,
    cluster_id: String,
    metrics: AuditMetrics,
}

/// The sink every face records to, and the writer to run (`None` with the
/// audit log off). Creates the topic when missing.
pub(crate) async fn open(
    cluster: &Cluster,
    settings: &AuditSettings,
    metrics: &Metrics,
) -> anyhow::Result<(Arc<dyn AuditSink>, Option<AuditWriter>)> {
    if !settings.enabled {
        return Ok((Arc::new(NoAudit), None));
    }
    let name = settings.topic.as_str();
    let topic = match cluster.topic(name) {
        Some(topic) => topic,
        None => {
            let configs: BTreeMap<String, String> = [
                ("cleanup.policy".to_string(), "delete".to_string()),
                ("retention.ms".to_string(), RETENTION_MS.to_string()),
            ]
            .into();
            cluster
                .create_internal_topic(name, 1, configs)
                .await
                .map_err(|e| anyhow::anyhow!("creating the audit topic {name}: {}", e.message))?
        }
    };
    let Some(log) = topic.logs().into_iter().next() else {
        bail!("the audit topic {name} has no partition");
    };
    tracing::info!(topic = name, "audit log enabled");
    let metrics = AuditMetrics::new(metrics);
    let (tx, rx) = mpsc::channel(QUEUE);
    let sink = AuditLog {
        queue: tx,
        metrics: metrics.clone(),
    };
    let writer = AuditWriter {
        queue: rx,
        log,
        cluster_id: cluster.cluster_id.clone(),
        metrics,
    };
    Ok((
        Arc::new(DenialLimiter::new(sink, DEFAULT_WINDOW)),
        Some(writer),
    ))
}

impl AuditWriter {
    /// Appends batches until `stopped`, then what is still queued.
    pub(crate) async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let stopping = tokio::select! {
                n = self.queue.recv_many(&mut batch, MAX_BATCH) => n == 0,
                _ = stopped.wait_for(|s| *s) => true,
            };
            if !stopping {
                self.append(&mut batch).await;
                continue;
            }
            while let Ok(event) = self.queue.try_recv() {
                batch.push(event);
                if batch.len() == MAX_BATCH {
                    self.append(&mut batch).await;
                }
            }
            self.append(&mut batch).await;
            return;
        }
    }

    /// One record per event, keyed by its principal; empties `batch`.
    /// Waits until the batch is durable: consumers see records only up to
    /// the high watermark, which follows the fsyncs.
    async fn append(&self, batch: &mut Vec<AuditEvent>) {
        if batch.is_empty() {
            return;
        }
        let records: Vec<(Bytes, Option<Bytes>)> = batch
            .drain(..)
            .map(|event| {
                let id = uuid::Uuid::new_v4().to_string();
                let json = event.to_cloud_event(&self.cluster_id, &id);
                (
                    Bytes::from(event.key()),
                    Some(Bytes::from(json.to_string())),
                )
            })
            .collect();
        let count = records.len() as u64;
        let appended = match self.log.append(encode_batch(&records, now_ms()), 0, None) {
            Ok(info) => self.log.wait_durable(info.last_offset + 1).await,
            Err(e) => Err(e),
        };
        if let Err(e) = appended {
            tracing::error!(error = %e, events = count, "appending to the audit topic failed");
            self.metrics.dropped.inc_by(count);
        }
    }
}

#[cfg(test)]
mod tests {
    use strata_governance::audit::Face;
    use strata_governance::{Identity, Operation, Principal, Resource};

    use super::*;
    use crate::internal_log::replay;

    fn props(entries: &[(&str, &str)]) -> BrokerProperties {
        BrokerProperties::from_map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn on_by_default_only_with_an_authorizer() {
        let defaults = props(&[]);
        assert!(
            !AuditSettings::from_properties(&defaults, false)
                .unwrap()
                .enabled
        );
        let on = AuditSettings::from_properties(&defaults, true).unwrap();
        assert_eq!((on.enabled, on.topic.as_str()), (true, "_strata_audit"));
        let off = props(&[("strata.audit.enabled", "false")]);
        assert!(!AuditSettings::from_properties(&off, true).unwrap().enabled);
        let bad = props(&[("strata.audit.enabled", "yes")]);
        assert!(AuditSettings::from_properties(&bad, true).is_err());
    }

    #[tokio::test]
    async fn recorded_events_land_in_the_topic_as_cloud_events() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Cluster::open(dir.path(), BrokerProperties::default()).unwrap();
        let settings = AuditSettings {
            enabled: true,
            topic: "_audit_test".into(),
        };
        let metrics = Metrics::new();
        let (sink, writer) = open(&cluster, &settings, &metrics).await.unwrap();
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(writer.unwrap().run(stopped));
        let bob = Identity::new(Principal::user("bob"), "10.1.1.1");
        for _ in 0..20 {
            sink.record(AuditEvent::denied(
                Face::Kafka,
                "Produce",
                &bob,
                Operation::Write,
                &Resource::Topic("orders"),
            ));
        }
        sink.record(AuditEvent::changed(
            Face::Kafka,
            "CreateTopics",
            &bob,
            Operation::Create,
            &Resource::Topic("orders"),
        ));
        stop.send(true).unwrap();
        task.await.unwrap();
        let topic = cluster.topic("_audit_test").unwrap();
        let records = replay(&topic.logs()[0]).unwrap();
        assert_eq!(records.len(), 2, "20 denials of one key: one record");
        let denial: serde_json::Value =
            serde_json::from_slice(records[0].1.as_ref().unwrap()).unwrap();
        assert_eq!(&records[0].0[..], b"User:bob");
        assert_eq!(denial["type"], "io.confluent.kafka.server/authorization");
        assert_eq!(
            denial["data"]["authorizationInfo"]["resourceName"],
            "orders"
        );
        assert_eq!(
            denial["source"],
            format!("crn:///kafka={}", cluster.cluster_id)
        );
        let created: serde_json::Value =
            serde_json::from_slice(records[1].1.as_ref().unwrap()).unwrap();
        assert_eq!(created["data"]["methodName"], "kafka.CreateTopics");
        let rendered = metrics.render();
        assert!(
            rendered.contains("strata_audit_events_total{type=\"authorization\"} 1"),
            "{rendered}"
        );
    }
}
