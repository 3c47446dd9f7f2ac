//! The coordinator the unit tests open: one `__consumer_offsets` partition
//! in a fresh directory, no rebalance delay, Kafka's session bounds.

use std::path::Path;
use std::time::Duration;

use super::{CoordinatorConfig, GroupCoordinator, GroupSettings};
use crate::cluster::Cluster;
use crate::properties::BrokerProperties;

pub(super) fn config(offset_metadata_max_bytes: usize) -> CoordinatorConfig {
    CoordinatorConfig {
        group: GroupSettings {
            initial_rebalance_delay: Duration::ZERO,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
        },
        offsets_partitions: 1,
        offsets_retention: Duration::from_secs(7 * 24 * 3600),
        offsets_retention_check: Duration::from_secs(600),
        offset_metadata_max_bytes,
    }
}

/// A cluster in `dir` and its coordinator, with the offsets topic created.
pub(super) async fn open(
    dir: &Path,
    offset_metadata_max_bytes: usize,
) -> (Cluster, GroupCoordinator) {
    let cluster = Cluster::open(dir, BrokerProperties::default()).unwrap();
    let coordinator = GroupCoordinator::open(&cluster, config(offset_metadata_max_bytes)).unwrap();
    coordinator.ensure_offsets_topic(&cluster).await.unwrap();
    (cluster, coordinator)
}
