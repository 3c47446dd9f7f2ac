//! The scrape-time collector: per-topic traffic, per-partition log size
//! (local and tiered) and offsets, and consumer group lag, members and
//! state, read from the broker when Prometheus asks and never kept as
//! gauges that the produce path would have to update.
//!
//! Cost: one lock per partition log ([`strata_storage::Log::stats`]), one
//! pass over the tier's manifests, and the groups lock for as long as it
//! takes to copy the committed offsets. These families are written straight
//! in the Prometheus text format rather than built as `prometheus` protobuf
//! structs and encoded: at 10,000 partitions that is some 40,000 series,
//! and the struct path (a `String` per label, a sort of every family by
//! label values) made a scrape several times slower (see
//! `compat-tests/perf/metrics_scrape.py`).

use std::collections::HashMap;
use std::fmt::{Display, Write};
use std::sync::{Arc, OnceLock, Weak};

use strata_storage::LogStats;

use super::lag::lag;
use crate::broker::Broker;

/// A family's kind, as the text format's `# TYPE` line names it.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Counter,
    Gauge,
}

/// Name, help, kind and label names of every family this collector makes.
pub(super) const FAMILIES: &[(&str, &str, Kind, &[&str])] = &[
    (
        "strata_topic_bytes_in_total",
        "Record batch bytes appended by Produce, by topic.",
        Kind::Counter,
        &["topic"],
    ),
    (
        "strata_topic_records_in_total",
        "Records appended by Produce, by topic.",
        Kind::Counter,
        &["topic"],
    ),
    (
        "strata_topic_bytes_out_total",
        "Record batch bytes returned by Fetch, by topic.",
        Kind::Counter,
        &["topic"],
    ),
    (
        "strata_topic_records_out_total",
        "Records (not transaction markers) returned by Fetch, by topic.",
        Kind::Counter,
        &["topic"],
    ),
    (
        "strata_topic_partitions",
        "Partitions of each topic.",
        Kind::Gauge,
        &["topic"],
    ),
    (
        "strata_partition_log_size_bytes",
        "Bytes of a partition's segments on local disk.",
        Kind::Gauge,
        &["topic", "partition"],
    ),
    (
        "strata_partition_tiered_size_bytes",
        "Bytes of a partition's segments in the object store, as its manifest lists them.",
        Kind::Gauge,
        &["topic", "partition"],
    ),
    (
        "strata_partition_high_watermark",
        "A partition's high watermark: the offset the next durable record gets.",
        Kind::Gauge,
        &["topic", "partition"],
    ),
    (
        "strata_partition_log_start_offset",
        "A partition's log start offset (local or tiered).",
        Kind::Gauge,
        &["topic", "partition"],
    ),
    (
        "strata_consumer_group_committed_offset",
        "A group's committed offset, by topic and partition.",
        Kind::Gauge,
        &["group", "topic", "partition"],
    ),
    (
        "strata_consumer_group_lag",
        "High watermark minus committed offset (read_uncommitted lag); absent without a commit.",
        Kind::Gauge,
        &["group", "topic", "partition"],
    ),
    (
        "strata_consumer_group_lag_committed",
        "Last stable offset minus committed offset (read_committed lag); absent without a commit.",
        Kind::Gauge,
        &["group", "topic", "partition"],
    ),
    (
        "strata_consumer_group_members",
        "Members of a consumer group.",
        Kind::Gauge,
        &["group"],
    ),
    (
        "strata_consumer_group_state",
        "1 for a group's current state (ListGroups' name for it).",
        Kind::Gauge,
        &["group", "state"],
    ),
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
/// broker owns the metrics this belongs to).
#[derive(Clone, Default)]
pub(crate) struct BrokerCollector {
    broker: Arc<OnceLock<Weak<Broker>>>,
}

impl BrokerCollector {
    pub(crate) fn new() -> Self {
        BrokerCollector::default()
    }

    /// Starts reading `broker`; until then nothing is written.
    pub(crate) fn attach(&self, broker: &Arc<Broker>) {
        let _ = self.broker.set(Arc::downgrade(broker));
    }

    /// Appends the families, in the Prometheus text format, to `out`.
    pub(crate) fn render(&self, out: &mut String) {
        let Some(broker) = self.broker.get().and_then(Weak::upgrade) else {
            return;
        };
        let mut families = Families::new();
        collect_broker(&broker, &mut families);
        families.write(out);
    }
}

/// The families being filled, in [`FAMILIES`] order: each a buffer of
/// sample lines.
struct Families(Vec<String>);

impl Families {
    fn new() -> Self {
        Families(vec![String::new(); FAMILIES.len()])
    }

    fn push(&mut self, family: usize, labels: &[&str], value: impl Display) {
        let (name, _, _, names) = FAMILIES[family];
        let line = &mut self.0[family];
        line.push_str(name);
        line.push('{');
        for (i, (name, value)) in names.iter().zip(labels).enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(name);
            line.push_str("=\"");
            escape_label_value(line, value);
            line.push('"');
        }
        let _ = writeln!(line, "}} {value}");
    }

    fn write(self, out: &mut String) {
        for (lines, (name, help, kind, _)) in self.0.into_iter().zip(FAMILIES) {
            if lines.is_empty() {
                continue;
            }
            let kind = match kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            out.push_str(&lines);
        }
    }
}

/// The text format's escaping of a label value: backslash, double quote
/// and line feed. Topic names never need it; group ids may.
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn collect_broker(broker: &Broker, out: &mut Families) {
    // Partition stats by topic, kept for the lag computation below.
    let mut stats: HashMap<String, Vec<LogStats>> = HashMap::new();
    for topic in broker.cluster.topics() {
        let name = topic.name.as_str();
        let traffic = topic.traffic.totals();
        out.push(BYTES_IN, &[name], traffic.bytes_in);
        out.push(RECORDS_IN, &[name], traffic.records_in);
        out.push(BYTES_OUT, &[name], traffic.bytes_out);
        out.push(RECORDS_OUT, &[name], traffic.records_out);
        let logs = topic.logs();
        out.push(PARTITIONS, &[name], logs.len());
        let mut partitions = Vec::with_capacity(logs.len());
        for (index, log) in logs.iter().enumerate() {
            let s = log.stats();
            let partition = index.to_string();
            let labels = [name, partition.as_str()];
            out.push(LOCAL_SIZE, &labels, s.local_size_bytes);
            out.push(HIGH_WATERMARK, &labels, s.high_watermark);
            out.push(LOG_START, &labels, s.log_start_offset);
            partitions.push(s);
        }
        stats.insert(topic.name.clone(), partitions);
    }
    if let Some(tier) = broker.cluster.tier() {
        for (spec, bytes) in tier.remote_sizes() {
            let partition = spec.partition.to_string();
            out.push(TIERED_SIZE, &[&spec.topic, &partition], bytes);
        }
    }
    for group in broker.groups.metrics_view() {
        let id = group.group_id.as_str();
        out.push(MEMBERS, &[id], group.members);
        out.push(STATE, &[id, group.state], 1);
        for (topic, partition, committed) in &group.offsets {
            let partition_label = partition.to_string();
            let labels = [id, topic.as_str(), partition_label.as_str()];
            out.push(COMMITTED, &labels, *committed);
            let Some(s) = usize::try_from(*partition)
                .ok()
                .and_then(|p| stats.get(topic)?.get(p))
            else {
                continue; // a deleted topic or partition: nothing to lag behind
            };
            if let Some(l) = lag(Some(*committed), s.high_watermark) {
                out.push(LAG, &labels, l);
            }
            if let Some(l) = lag(Some(*committed), s.last_stable_offset) {
                out.push(LAG_COMMITTED, &labels, l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_written_in_the_text_format_with_escaped_labels() {
        let mut families = Families::new();
        families.push(LAG, &["odd \"group\"\\\n", "orders", "3"], 42);
        families.push(MEMBERS, &["g"], 2);
        let mut out = String::new();
        families.write(&mut out);
        assert_eq!(
            out,
            "# HELP strata_consumer_group_lag High watermark minus committed offset (read_uncommitted lag); absent without a commit.\n\
             # TYPE strata_consumer_group_lag gauge\n\
             strata_consumer_group_lag{group=\"odd \\\"group\\\"\\\\\\n\",topic=\"orders\",partition=\"3\"} 42\n\
             # HELP strata_consumer_group_members Members of a consumer group.\n\
             # TYPE strata_consumer_group_members gauge\n\
             strata_consumer_group_members{group=\"g\"} 2\n"
        );
    }
}
