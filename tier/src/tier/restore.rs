//! Restore at start: a partition's segments (and its recovery point)
//! downloaded into a data directory that lacks them.

use std::path::Path as FsPath;

use anyhow::Context;
use object_store::ObjectStoreExt;

use super::Tier;
use crate::partition::PartitionSpec;

impl Tier {
    /// Downloads every segment of a partition into `dir` (restore of the
    /// broker's own logs), with its transaction index, and then its
    /// recovery point (`tail.log`) as the active segment. Returns how many
    /// offsets past the sealed segments the tail brought back, or `None`
    /// when the store had nothing of the partition.
    pub async fn download_partition(
        &self,
        spec: &PartitionSpec,
        dir: &FsPath,
    ) -> anyhow::Result<Option<i64>> {
        let manifest = self.load_manifest(spec).await?;
        let tail = self.load_tail(spec, &manifest).await?;
        if manifest.segments.is_empty() && tail.is_none() {
            return Ok(None);
        }
        tokio::fs::create_dir_all(dir).await?;
        for segment in &manifest.segments {
            // Not the producer snapshots: recovery scans the last segment
            // and replays the producer state from the first one anyway.
            for extension in segment
                .extensions()
                .into_iter()
                .filter(|&e| e != "snapshot")
            {
                let path = self.store.path(&spec.path.segment_file(segment, extension));
                let bytes = self.store.store.get(&path).await?.bytes().await?;
                let target = dir.join(format!("{:020}.{extension}", segment.base_offset));
                tokio::fs::write(&target, &bytes)
                    .await
                    .with_context(|| format!("writing {}", target.display()))?;
            }
        }
        if manifest
            .segments
            .first()
            .is_some_and(|s| manifest.log_start_offset > s.base_offset)
        {
            tokio::fs::write(
                dir.join("log-start-offset"),
                format!("{}\n", manifest.log_start_offset),
            )
            .await?;
        }
        let mut tail_offsets = 0;
        if let Some((start, bytes)) = &tail {
            // The active segment: `Log::open` scans it with CRC checks and
            // rebuilds its indexes and producer state.
            let target = dir.join(format!("{start:020}.log"));
            tokio::fs::write(&target, bytes)
                .await
                .with_context(|| format!("writing {}", target.display()))?;
            tail_offsets = crate::recovery_point::tail_end(bytes).map_or(0, |end| end - start);
        }
        tracing::info!(
            partition = spec.path.as_str(),
            segments = manifest.segments.len(),
            tail_bytes = tail.as_ref().map_or(0, |(_, b)| b.len()),
            tail_offsets,
            "restored from the tier"
        );
        Ok(Some(tail_offsets))
    }

    /// Prepares an empty local directory for a partition whose records live
    /// in the store: the local log starts where the remote one ends, and
    /// reads below go to the store. The producer snapshot uploaded with the
    /// last remote segment (if any) is placed at that start, before the log
    /// is opened, so `Log::open` loads it: a producer retrying its last
    /// batch is still deduplicated and open transactions still hold the
    /// last stable offset. Returns whether the store had any.
    pub async fn restore_partition_start(
        &self,
        spec: &PartitionSpec,
        dir: &FsPath,
    ) -> anyhow::Result<bool> {
        let manifest = self.load_manifest(spec).await?;
        let Some(end) = manifest.end_offset() else {
            return Ok(false);
        };
        tokio::fs::create_dir_all(dir).await?;
        if let Some(last) = manifest.segments.last().filter(|s| s.producer_snapshot) {
            let path = self.store.path(&spec.path.segment_file(last, "snapshot"));
            let bytes = self
                .store
                .store
                .get(&path)
                .await
                .with_context(|| format!("reading {path}"))?
                .bytes()
                .await
                .with_context(|| format!("reading {path}"))?;
            // Untrusted bytes: `Log::open` checks the snapshot's checksum and
            // rebuilds without it when it does not hold.
            let target = strata_storage::producer_snapshot_path(dir, end);
            tokio::fs::write(&target, &bytes)
                .await
                .with_context(|| format!("writing {}", target.display()))?;
        }
        tokio::fs::write(dir.join(format!("{end:020}.log")), b"").await?;
        tracing::info!(
            partition = spec.path.as_str(),
            end,
            "restored from the tier: local log starts after the remote one"
        );
        Ok(true)
    }
}
