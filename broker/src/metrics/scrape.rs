//! The scrape-time collector: per-topic traffic, per-partition log size
//! (local and tiered) and offsets, and consumer group lag, members and
//! state, read from the broker when Prometheus asks and never kept as
//! gauges that the produce path would have to update.
//!
//! Cost: one lock per partition log ([`strata_storage::Log::stats`]), one
//! pass over the tier's manifests, and the groups lock for as long as it
//! takes to copy the committed offsets. With 10,000 partitions a scrape
//! takes a few milliseconds (see `compat-tests/perf/metrics_scrape.py`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};
use strata_storage::LogStats;

use super::lag::lag;
use crate::broker::Broker;

/// Name, help, type and label names of every family this collector makes.
const FAMILIES: &[(&str, &str, MetricType, &[&str])] = &[
    ("strata_topic_bytes_in_total", "Record batch bytes appended by Produce, by topic.", MetricType::COUNTER, &["topic"]),
    ("strata_topic_records_in_total", "Records appended by Produce, by topic.", MetricType::COUNTER, &["topic"]),
    ("strata_topic_bytes_out_total", "Record batch bytes returned by Fetch, by topic.", MetricType::COUNTER, &["topic"]),
    ("strata_topic_records_out_total", "Records (not transaction markers) returned by Fetch, by topic.", MetricType::COUNTER, &["topic"]),
    ("strata_topic_partitions", "Partitions of each topic.", MetricType::GAUGE, &["topic"]),
    ("strata_partition_log_size_bytes", "Bytes of a partition's segments on local disk.", MetricType::GAUGE, &["topic", "partition"]),
    ("strata_partition_tiered_size_bytes", "Bytes of a partition's segments in the object store, as its manifest lists them.", MetricType::GAUGE, &["topic", "partition"]),
    ("strata_partition_high_watermark", "A partition's high watermark: the offset the next durable record gets.", MetricType::GAUGE, &["topic", "partition"]),
    ("strata_partition_log_start_offset", "A partition's log start offset (local or tiered).", MetricType::GAUGE, &["topic", "partition"]),
    ("strata_consumer_group_committed_offset", "A group's committed offset, by topic and partition.", MetricType::GAUGE, &["group", "topic", "partition"]),
    ("strata_consumer_group_lag", "High watermark minus committed offset (read_uncommitted lag); absent without a commit.", MetricType::GAUGE, &["group", "topic", "partition"]),
    ("strata_consumer_group_lag_committed", "Last stable offset minus committed offset (read_committed lag); absent without a commit.", MetricType::GAUGE, &["group", "topic", "partition"]),
    ("strata_consumer_group_members", "Members of a consumer group.", MetricType::GAUGE, &["group"]),
    ("strata_consumer_group_state", "1 for a group's current state (ListGroups' name for it).", MetricType::GAUGE, &["group", "state"]),
];

/// Indexes into [`FAMILIES`].
const BYTES_IN: usize = 0;
const RECORDS_IN: usize = 1;
const BYTES_OUT: usize = 2;
const RECORDS_OUT: usize = 3;
const PARTITIONS: usize = 4;
const LOCAL_SIZE: usize = 5;
const TIERED_SIZE: usize = 6;
const HIGH_WATERMARK: usize = 7;
const LOG_START: usize = 8;
const COMMITTED: usize = 9;
const LAG: usize = 10;
const LAG_COMMITTED: usize = 11;
const MEMBERS: usize = 12;
const STATE: usize = 13;

/// Reads the broker's state at scrape time. Holds the broker weakly (the
/// broker owns the registry this is registered in).
#[derive(Clone)]
pub(crate) struct BrokerCollector {
    broker: Arc<OnceLock<Weak<Broker>>>,
    descs: Arc<Vec<Desc>>,
}

impl BrokerCollector {
    pub(crate) fn new() -> Self {
        let descs = FAMILIES
            .iter()
            .map(|(name, help, _, labels)| {
                Desc::new(
                    name.to_string(),
                    help.to_string(),
                    labels.iter().map(|l| l.to_string()).collect(),
                    HashMap::new(),
                )
                .expect("valid metric")
            })
            .collect();
        BrokerCollector {
            broker: Arc::new(OnceLock::new()),
            descs: Arc::new(descs),
        }
    }

    /// Starts reading `broker`; until then the families are empty.
    pub(crate) fn attach(&self, broker: &Arc<Broker>) {
        let _ = self.broker.set(Arc::downgrade(broker));
    }
}

impl Collector for BrokerCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Some(broker) = self.broker.get().and_then(Weak::upgrade) else {
            return Vec::new();
        };
        let mut out = Families::new();
        collect_broker(&broker, &mut out);
        out.into_families()
    }
}

/// The families being filled, in [`FAMILIES`] order.
struct Families(Vec<Vec<Metric>>);

impl Families {
    fn new() -> Self {
        Families(vec![Vec::new(); FAMILIES.len()])
    }

    fn push(&mut self, family: usize, labels: &[&str], value: f64) {
        let names = FAMILIES[family].3;
        let mut metric = Metric::default();
        metric.set_label(
            names
                .iter()
                .zip(labels)
                .map(|(name, value)| {
                    let mut pair = LabelPair::default();
                    pair.set_name(name.to_string());
                    pair.set_value(value.to_string());
                    pair
                })
                .collect(),
        );
        if FAMILIES[family].2 == MetricType::COUNTER {
            let mut counter = Counter::default();
            counter.set_value(value);
            metric.set_counter(counter);
        } else {
            let mut gauge = Gauge::default();
            gauge.set_value(value);
            metric.set_gauge(gauge);
        }
        self.0[family].push(metric);
    }

    fn into_families(self) -> Vec<MetricFamily> {
        self.0
            .into_iter()
            .zip(FAMILIES)
            .map(|(metrics, (name, help, kind, _))| {
                let mut family = MetricFamily::default();
                family.set_name(name.to_string());
                family.set_help(help.to_string());
                family.set_field_type(*kind);
                family.set_metric(metrics);
                family
            })
            .collect()
    }
}

fn collect_broker(broker: &Broker, out: &mut Families) {
    // Partition stats by topic, kept for the lag computation below.
    let mut stats: HashMap<String, Vec<LogStats>> = HashMap::new();
    for topic in broker.cluster.topics() {
        let name = topic.name.as_str();
        let traffic = topic.traffic.totals();
        out.push(BYTES_IN, &[name], traffic.bytes_in as f64);
        out.push(RECORDS_IN, &[name], traffic.records_in as f64);
        out.push(BYTES_OUT, &[name], traffic.bytes_out as f64);
        out.push(RECORDS_OUT, &[name], traffic.records_out as f64);
        let logs = topic.logs();
        out.push(PARTITIONS, &[name], logs.len() as f64);
        let mut partitions = Vec::with_capacity(logs.len());
        for (index, log) in logs.iter().enumerate() {
            let s = log.stats();
            let partition = index.to_string();
            let labels = [name, partition.as_str()];
            out.push(LOCAL_SIZE, &labels, s.local_size_bytes as f64);
            out.push(HIGH_WATERMARK, &labels, s.high_watermark as f64);
            out.push(LOG_START, &labels, s.log_start_offset as f64);
            partitions.push(s);
        }
        stats.insert(topic.name.clone(), partitions);
    }
    if let Some(tier) = broker.cluster.tier() {
        for (spec, bytes) in tier.remote_sizes() {
            let partition = spec.partition.to_string();
            out.push(TIERED_SIZE, &[&spec.topic, &partition], bytes as f64);
        }
    }
    for group in broker.groups.metrics_view() {
        let id = group.group_id.as_str();
        out.push(MEMBERS, &[id], group.members as f64);
        out.push(STATE, &[id, group.state], 1.0);
        for (topic, partition, committed) in &group.offsets {
            let partition_label = partition.to_string();
            let labels = [id, topic.as_str(), partition_label.as_str()];
            out.push(COMMITTED, &labels, *committed as f64);
            let Some(s) = usize::try_from(*partition)
                .ok()
                .and_then(|p| stats.get(topic)?.get(p))
            else {
                continue; // a deleted topic or partition: nothing to lag behind
            };
            if let Some(l) = lag(Some(*committed), s.high_watermark) {
                out.push(LAG, &labels, l as f64);
            }
            if let Some(l) = lag(Some(*committed), s.last_stable_offset) {
                out.push(LAG_COMMITTED, &labels, l as f64);
            }
        }
    }
}
