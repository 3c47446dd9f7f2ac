//! The cluster's side of tiered storage: which partitions the tier tracks,
//! and restoring a data directory from the tier at start.
//!
//! Restore works per partition directory that the data directory lacks:
//! * the metadata log (`__strata_metadata`) and the internal topics
//!   (`__consumer_offsets`, `__transaction_state`, `_schemas`) are downloaded whole, so topics,
//!   configs, committed offsets and schemas come back as of their last
//!   upload (internal logs roll every `strata.remote.internal.roll.ms`);
//! * a user topic's partition gets an empty local log starting where its
//!   remote log ends, with the producer snapshot uploaded with its last
//!   segment (so idempotent retries and open transactions survive); older
//!   records are read from the tier.
//!
//! Records appended after a partition's last upload are not restored.

use std::path::Path;

use anyhow::Context;
use strata_storage::Log;
use strata_tier::{PartitionPath, PartitionSpec, Tier};
use uuid::Uuid;

use super::metadata_log::{MetadataImage, METADATA_LOG_DIR};
use super::{is_internal, partition_dir};

const METADATA_LOG_NAME: &str = "__strata_metadata";

pub(super) fn partition_path(topic: &str, id: Uuid, partition: i32) -> PartitionPath {
    PartitionPath::topic(topic, &id.to_string(), partition)
}

fn spec(topic: &str, id: Uuid, partition: i32) -> PartitionSpec {
    PartitionSpec {
        path: partition_path(topic, id, partition),
        topic: topic.to_string(),
        topic_id: Some(id.to_string()),
        partition,
        internal: is_internal(topic),
    }
}

pub(super) fn metadata_log_spec() -> PartitionSpec {
    PartitionSpec {
        path: PartitionPath::metadata_log(METADATA_LOG_NAME),
        topic: METADATA_LOG_NAME.to_string(),
        topic_id: None,
        partition: 0,
        internal: true,
    }
}

/// Tracks `logs`, partitions `first..` of a topic.
pub(super) fn track(tier: &Tier, topic: &str, id: Uuid, first: i32, logs: &[Log]) {
    for (i, log) in logs.iter().enumerate() {
        tier.track(spec(topic, id, first + i as i32), log.clone());
    }
}

/// Whether `dir` holds no segment: a new or emptied data directory.
fn has_no_log(dir: &Path) -> anyhow::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                if entry?.file_name().to_string_lossy().ends_with(".log") {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e).with_context(|| format!("listing {}", dir.display())),
    }
}

pub(super) async fn restore_metadata_log(tier: &Tier, data_dir: &Path) -> anyhow::Result<()> {
    let dir = data_dir.join(METADATA_LOG_DIR);
    if has_no_log(&dir)? {
        tier.download_partition(&metadata_log_spec(), &dir)
            .await
            .context("restoring the metadata log from the tier")?;
    }
    Ok(())
}

pub(super) async fn restore_partitions(
    tier: &Tier,
    data_dir: &Path,
    image: &MetadataImage,
) -> anyhow::Result<()> {
    for (name, topic) in &image.topics {
        for partition in 0..topic.partitions {
            let dir = partition_dir(data_dir, name, partition);
            if dir.exists() {
                continue;
            }
            let spec = spec(name, topic.id, partition);
            let restored = if spec.internal {
                tier.download_partition(&spec, &dir).await
            } else {
                tier.restore_partition_start(&spec, &dir).await
            };
            restored.with_context(|| format!("restoring {name}-{partition} from the tier"))?;
        }
    }
    Ok(())
}
