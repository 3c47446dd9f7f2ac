//! Aborted transactions of remote segments, for read_committed fetches
//! below the local log start.
//!
//! A segment with aborted transactions was uploaded with its `.txnindex`
//! (Kafka's layout, `strata_storage::txn_index`), and its manifest entry
//! says so: segments without one cost nothing here, not even a GET. A
//! segment's index is fetched once and kept decoded in memory, as the
//! reader keeps offset indexes; the entries of a few thousand aborts take a
//! few hundred KiB.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use object_store::ObjectStoreExt;
use parking_lot::Mutex;
use strata_storage::AbortedTxn;

use crate::manifest::{Manifest, PartitionPath, RemoteSegment};
use crate::reader::RemoteReadError;
use crate::store::TierStore;

/// Decoded transaction indexes kept in memory.
const MAX_INDEXES: usize = 1024;

pub(crate) struct TxnIndexes {
    store: TierStore,
    /// `{partition}/{object stem}` -> the segment's entries.
    decoded: Mutex<HashMap<String, Arc<[AbortedTxn]>>>,
}

impl TxnIndexes {
    pub(crate) fn new(store: TierStore) -> TxnIndexes {
        TxnIndexes {
            store,
            decoded: Mutex::new(HashMap::new()),
        }
    }

    /// The aborted transactions a read_committed consumer of `[from, to)`
    /// must skip, among the remote segments: those whose ABORT marker is at
    /// or after `from` and whose first offset is before `to`, ordered by
    /// first offset (the rule of `Log::aborted_transactions`).
    ///
    /// Markers of transactions starting in the range may lie in any later
    /// segment, so segments are searched from the one holding `from` on,
    /// until an entry's last stable offset reaches `to` (as Kafka's
    /// `TxnIndexSearchResult::isComplete`): the LSO never moves back, and
    /// it was at most the first offset of every transaction still open, so
    /// every later abort concerns a transaction starting at or after `to`.
    pub(crate) async fn aborted_transactions(
        &self,
        partition: &PartitionPath,
        manifest: &Manifest,
        from: i64,
        to: i64,
    ) -> Result<Vec<AbortedTxn>, RemoteReadError> {
        let first = manifest.segments.partition_point(|s| s.next_offset <= from);
        let mut out = Vec::new();
        for segment in manifest.segments[first..].iter().filter(|s| s.txn_index) {
            let entries = self.entries(partition, segment).await?;
            out.extend(
                entries
                    .iter()
                    .filter(|a| a.last_offset >= from && a.first_offset < to)
                    .copied(),
            );
            if entries.iter().any(|a| a.last_stable_offset >= to) {
                break;
            }
        }
        out.sort_by_key(|a| a.first_offset);
        Ok(out)
    }

    /// A segment's decoded `.txnindex`, fetched once.
    async fn entries(
        &self,
        partition: &PartitionPath,
        segment: &RemoteSegment,
    ) -> anyhow::Result<Arc<[AbortedTxn]>> {
        let key = key(partition, segment);
        if let Some(found) = self.decoded.lock().get(&key) {
            return Ok(found.clone());
        }
        let path = self
            .store
            .path(&partition.segment_file(segment, "txnindex"));
        let bytes = async { self.store.store.get(&path).await?.bytes().await }
            .await
            .with_context(|| format!("fetching transaction index {path}"))?;
        // Untrusted bytes: decoding takes whole 34-byte entries and cannot
        // fail; a torn tail is dropped.
        let entries: Arc<[AbortedTxn]> = strata_storage::txn_index::decode(&bytes).into();
        let mut decoded = self.decoded.lock();
        if decoded.len() >= MAX_INDEXES {
            decoded.clear();
        }
        decoded.insert(key, entries.clone());
        Ok(entries)
    }

    /// Forgets a deleted segment's entries.
    pub(crate) fn forget(&self, partition: &PartitionPath, segment: &RemoteSegment) {
        self.decoded.lock().remove(&key(partition, segment));
    }
}

fn key(partition: &PartitionPath, segment: &RemoteSegment) -> String {
    format!("{}/{}", partition.as_str(), segment.object_stem())
}
