//! The cluster's side of tiered storage: which partitions the tier tracks,
//! and restoring a data directory from the tier at start.
//!
//! First the cluster id: the tier prefix records the cluster it belongs to
//! (`cluster.json`); an empty data directory takes it back, a data
//! directory of another cluster is refused ([`reconcile_cluster_id`]).
//!
//! Then restore works per partition directory that the data directory lacks:
//! * the metadata log (`__strata_metadata`) and the internal topics
//!   (`__consumer_offsets`, `__transaction_state`, `_schemas`) are
//!   downloaded whole: their sealed segments and then their recovery point
//!   (`tail.log`, uploaded within `strata.tier.metadata.recovery.point.ms`
//!   of a change), so topics, configs, ACLs, credentials, quotas, producer
//!   ids, committed offsets, transactions and schemas come back as of at
//!   most that long before the loss;
//! * a user topic's partition gets an empty local log starting where its
//!   remote log ends, with the producer snapshot uploaded with its last
//!   segment (so idempotent retries and open transactions survive); older
//!   records are read from the tier.
//!
//! Records of user topics appended after their partition's last segment
//! upload are not restored.

use std::path::Path;

use anyhow::{bail, Context};
use futures::StreamExt;
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

/// Partitions restored at the same time (each costs a few GETs).
const RESTORE_CONCURRENCY: usize = 16;

/// Settles the data directory's cluster id against the one the tier prefix
/// holds, before anything is restored:
/// * both the same, or only the data directory has one (first start with
///   this prefix): the prefix records it;
/// * only the prefix has one (an empty data directory): `meta.properties`
///   takes it, so the restored cluster keeps its id;
/// * neither: a new id, recorded in both;
/// * two different ids: refused. The two clusters would overwrite each
///   other's metadata log and manifests; the way out is another prefix in
///   `--tier-url`, or an empty data directory to restore the prefix's
///   cluster.
///
/// Returns the id, and whether it came from the prefix.
pub(super) async fn reconcile_cluster_id(
    tier: &Tier,
    data_dir: &Path,
    node_id: i32,
) -> anyhow::Result<(String, bool)> {
    let local = crate::meta_properties::read(data_dir, node_id)?;
    let remote = tier
        .cluster_id()
        .await
        .context("reading the cluster id the tier holds")?;
    match (local, remote) {
        (Some(local), Some(remote)) if local == remote => Ok((local, false)),
        (Some(local), Some(remote)) => bail!(
            "the data directory {} belongs to cluster {local}, but the tier {} holds cluster \
             {remote}: refusing to mix two clusters' objects under one prefix (use another \
             prefix in --tier-url, or start on an empty data directory to restore cluster {remote})",
            data_dir.display(),
            tier.store().url
        ),
        (None, Some(remote)) => {
            crate::meta_properties::write(data_dir, &remote, node_id)?;
            tracing::info!(cluster_id = %remote, "cluster id restored from the tier");
            Ok((remote, true))
        }
        (local, None) => {
            let id = match local {
                Some(id) => id,
                None => crate::meta_properties::load_or_create(data_dir, node_id)?,
            };
            tier.put_cluster_id(&id)
                .await
                .context("recording the cluster id in the tier")?;
            Ok((id, false))
        }
    }
}

/// What a restore brought back, for the log, `/health/ready` and metrics.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct RestoredPartitions {
    /// Whether the cluster id came from the tier.
    pub(crate) cluster_id: bool,
    /// Whether the metadata log came from the tier (an empty data directory).
    pub(crate) metadata_log: bool,
    /// Offsets of internal logs brought back from recovery points, beyond
    /// their sealed segments (metadata log included).
    pub(crate) tail_offsets: i64,
    /// Topics with at least one partition directory restored.
    pub(crate) topics: usize,
    /// Partition directories the data directory lacked.
    pub(crate) partitions: usize,
    /// Of those, the ones the tier held records of.
    pub(crate) partitions_with_data: usize,
}

pub(super) async fn restore_metadata_log(
    tier: &Tier,
    data_dir: &Path,
    restored: &mut RestoredPartitions,
) -> anyhow::Result<()> {
    let dir = data_dir.join(METADATA_LOG_DIR);
    if has_no_log(&dir)? {
        let tail = tier
            .download_partition(&metadata_log_spec(), &dir)
            .await
            .context("restoring the metadata log from the tier")?;
        if let Some(tail) = tail {
            restored.metadata_log = true;
            restored.tail_offsets += tail;
        }
    }
    Ok(())
}

/// Restores every partition directory of `image` the data directory lacks,
/// calling `progress` with what is done so far.
pub(super) async fn restore_partitions(
    tier: &Tier,
    data_dir: &Path,
    image: &MetadataImage,
    restored: &mut RestoredPartitions,
    progress: &(dyn Fn(String) + Sync),
) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    let mut topics = std::collections::HashSet::new();
    for (name, topic) in &image.topics {
        for partition in 0..topic.partitions {
            let dir = partition_dir(data_dir, name, partition);
            if !dir.exists() {
                topics.insert(name.clone());
                missing.push((spec(name, topic.id, partition), dir));
            }
        }
    }
    restored.topics = topics.len();
    restored.partitions = missing.len();
    let total = missing.len();
    let mut results = futures::stream::iter(missing)
        .map(|(spec, dir)| async move {
            let result = if spec.internal {
                tier.download_partition(&spec, &dir).await
            } else {
                tier.restore_partition_start(&spec, &dir)
                    .await
                    .map(|had| had.then_some(0))
            };
            result.with_context(|| {
                format!("restoring {}-{} from the tier", spec.topic, spec.partition)
            })
        })
        .buffer_unordered(RESTORE_CONCURRENCY);
    let mut done = 0;
    while let Some(result) = results.next().await {
        if let Some(tail) = result? {
            restored.partitions_with_data += 1;
            restored.tail_offsets += tail;
        }
        done += 1;
        if done % 50 == 0 || done == total {
            progress(format!(
                "restored {done} of {total} partitions of {} topics from the tier",
                restored.topics
            ));
        }
    }
    Ok(())
}
