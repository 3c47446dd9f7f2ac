//! What a restore from the tier brought back, told three ways: one log
//! line once the coordinators and the registry have replayed the restored
//! logs (so the counts are of state a client can see), the `tier_restore`
//! step of `/health/ready` while it runs (see `server.rs`), and the
//! `strata_restore_*` gauges, which keep the last restore's figures for as
//! long as the process runs (all 0 when it started on a complete data
//! directory).

use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{Gauge, IntGauge};

use crate::cluster::RestoredPartitions;

/// A finished restore: what the tier gave back and what it adds up to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RestoreReport {
    pub(crate) partitions: RestoredPartitions,
    /// Consumer groups with committed offsets, after replaying
    /// `__consumer_offsets`.
    pub(crate) consumer_groups: usize,
    pub(crate) committed_offsets: usize,
    /// Schema versions (subject, version) in the registry, deleted ones left out.
    pub(crate) schemas: usize,
    /// From opening the tier to the registry loaded.
    pub(crate) duration: Duration,
}

impl RestoreReport {
    pub(crate) fn log(&self, cluster_id: &str) {
        let p = &self.partitions;
        tracing::info!(
            %cluster_id,
            cluster_id_from_tier = p.cluster_id,
            metadata_log_from_tier = p.metadata_log,
            topics = p.topics,
            partitions = p.partitions,
            partitions_with_data = p.partitions_with_data,
            recovery_point_offsets = p.tail_offsets,
            consumer_groups = self.consumer_groups,
            committed_offsets = self.committed_offsets,
            schemas = self.schemas,
            seconds = self.duration.as_secs_f64(),
            "restored from the tier"
        );
    }
}

/// The `strata_restore_*` gauges.
#[derive(Clone)]
pub(crate) struct RestoreMetrics {
    topics: IntGauge,
    partitions: IntGauge,
    partitions_with_data: IntGauge,
    consumer_groups: IntGauge,
    committed_offsets: IntGauge,
    schemas: IntGauge,
    duration: Gauge,
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).expect("valid metric")
}

impl RestoreMetrics {
    pub(crate) fn new() -> Self {
        RestoreMetrics {
            topics: gauge(
                "strata_restore_topics",
                "Topics the last restore from the tier brought back (0: no restore since start).",
            ),
            partitions: gauge(
                "strata_restore_partitions",
                "Partition directories the last restore from the tier recreated.",
            ),
            partitions_with_data: gauge(
                "strata_restore_partitions_with_data",
                "Restored partitions whose records (or internal state) the tier held.",
            ),
            consumer_groups: gauge(
                "strata_restore_consumer_groups",
                "Consumer groups with committed offsets after the last restore.",
            ),
            committed_offsets: gauge(
                "strata_restore_committed_offsets",
                "Committed offsets (group, topic, partition) after the last restore.",
            ),
            schemas: gauge(
                "strata_restore_schemas",
                "Schema versions in the registry after the last restore.",
            ),
            duration: Gauge::new(
                "strata_restore_duration_seconds",
                "How long the last restore took, from opening the tier to the registry loaded.",
            )
            .expect("valid metric"),
        }
    }

    pub(crate) fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.topics.clone()),
            Box::new(self.partitions.clone()),
            Box::new(self.partitions_with_data.clone()),
            Box::new(self.consumer_groups.clone()),
            Box::new(self.committed_offsets.clone()),
            Box::new(self.schemas.clone()),
            Box::new(self.duration.clone()),
        ]
    }

    pub(crate) fn record(&self, report: &RestoreReport) {
        let p = &report.partitions;
        self.topics.set(p.topics as i64);
        self.partitions.set(p.partitions as i64);
        self.partitions_with_data.set(p.partitions_with_data as i64);
        self.consumer_groups.set(report.consumer_groups as i64);
        self.committed_offsets.set(report.committed_offsets as i64);
        self.schemas.set(report.schemas as i64);
        self.duration.set(report.duration.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_hold_the_report() {
        let metrics = RestoreMetrics::new();
        let report = RestoreReport {
            partitions: RestoredPartitions {
                cluster_id: true,
                metadata_log: true,
                tail_offsets: 4,
                topics: 3,
                partitions: 7,
                partitions_with_data: 5,
            },
            consumer_groups: 2,
            committed_offsets: 6,
            schemas: 9,
            duration: Duration::from_millis(1500),
        };
        metrics.record(&report);
        let registry = prometheus::Registry::new();
        for c in metrics.collectors() {
            registry.register(c).unwrap();
        }
        let families = registry.gather();
        let value = |name: &str| {
            let family = families.iter().find(|f| f.name() == name).unwrap();
            family.get_metric()[0].get_gauge().get_value()
        };
        assert_eq!(value("strata_restore_topics"), 3.0);
        assert_eq!(value("strata_restore_partitions"), 7.0);
        assert_eq!(value("strata_restore_partitions_with_data"), 5.0);
        assert_eq!(value("strata_restore_consumer_groups"), 2.0);
        assert_eq!(value("strata_restore_committed_offsets"), 6.0);
        assert_eq!(value("strata_restore_schemas"), 9.0);
        assert_eq!(value("strata_restore_duration_seconds"), 1.5);
    }
}
