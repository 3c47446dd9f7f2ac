//! Remote objects that go: segments past retention or replaced by a
//! cleaned copy, orphans a failed pass left, and a deleted partition's
//! whole prefix.

use anyhow::Context;
use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};

use super::Tier;
use crate::manifest::{Manifest, PartitionPath, RemoteSegment};

impl Tier {
    pub(super) async fn delete_segments(
        &self,
        partition: &PartitionPath,
        segments: Vec<RemoteSegment>,
    ) -> anyhow::Result<()> {
        for segment in segments {
            for extension in segment.extensions() {
                let path = self
                    .store
                    .path(&partition.segment_file(&segment, extension));
                match self.store.store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e).with_context(|| format!("deleting {path}")),
                }
            }
            self.reader.forget(partition, &segment);
            self.txn_indexes.forget(partition, &segment);
            self.metrics.deleted_segments.inc();
        }
        Ok(())
    }

    /// Deletes the partition's objects that the manifest does not name.
    /// Callers hold the partition's pass lock, so no upload of this
    /// partition is in flight.
    pub(super) async fn delete_orphans(
        &self,
        partition: &PartitionPath,
        manifest: &Manifest,
    ) -> anyhow::Result<()> {
        let mut named: std::collections::HashSet<String> = manifest
            .segments
            .iter()
            .flat_map(|s| {
                s.extensions()
                    .into_iter()
                    .map(|ext| partition.segment_file(s, ext))
            })
            .map(|relative| self.store.path(&relative).to_string())
            .collect();
        named.insert(self.store.path(&partition.manifest()).to_string());
        named.insert(self.store.path(&partition.tail()).to_string());
        let prefix = self.store.path(partition.as_str());
        let mut listing = self.store.store.list(Some(&prefix));
        let mut orphans = Vec::new();
        while let Some(meta) = listing.next().await {
            let location = meta?.location;
            if !named.contains(location.as_ref()) {
                orphans.push(location);
            }
        }
        for orphan in orphans {
            tracing::info!(object = %orphan, "deleting an orphaned tier object");
            match self.store.store.delete(&orphan).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e).with_context(|| format!("deleting {orphan}")),
            }
        }
        Ok(())
    }

    pub(super) async fn delete_prefix(&self, partition: &PartitionPath) -> anyhow::Result<()> {
        let prefix = self.store.path(partition.as_str());
        let locations = self
            .store
            .store
            .list(Some(&prefix))
            .map(|meta| meta.map(|m| m.location))
            .boxed();
        let mut deleted = self.store.store.delete_stream(locations);
        while let Some(result) = deleted.next().await {
            result?;
        }
        Ok(())
    }
}
