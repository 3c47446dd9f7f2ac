//! A partition's manifest: the one object that says which segment objects
//! make up the partition's remote log.
//!
//! Segment objects are written first and the manifest after, so a crash in
//! between leaves an unreferenced object (an orphan, removed by a later
//! pass), never a manifest naming a missing object. Segment object names
//! carry the segment's base offset and size: a segment that compaction
//! replaced under the same base offset gets a new name, and an upload
//! retried after a crash rewrites the same name with the same bytes.
//!
//! Besides `.log`, `.index` and `.timeindex`, a segment may have a
//! `.txnindex` (its aborted transactions) and a `.snapshot` (the producer
//! state at its end), as in Kafka's KIP-405; its entry says which, so a
//! reader never asks the store for an object that does not exist. Manifests
//! written before these existed load with both absent.

use serde::{Deserialize, Serialize};
use strata_storage::TieredRange;

pub const MANIFEST_VERSION: u32 = 1;

/// Where a partition lives in the store, relative to the tier's prefix:
/// `{topic}-{topic_id}/{partition}` for topics (a topic deleted and created
/// again gets a new id, hence a new place), `{name}/0` for the broker's
/// metadata log, which has no topic id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionPath(String);

impl PartitionPath {
    pub fn topic(topic: &str, topic_id: &str, partition: i32) -> PartitionPath {
        PartitionPath(format!("{topic}-{topic_id}/{partition}"))
    }

    pub fn metadata_log(name: &str) -> PartitionPath {
        PartitionPath(format!("{name}/0"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn manifest(&self) -> String {
        format!("{}/manifest.json", self.0)
    }

    /// The internal log's recovery point: its batches past the manifest's
    /// segments, rewritten in place (see `recovery_point.rs`).
    pub fn tail(&self) -> String {
        format!("{}/tail.log", self.0)
    }

    /// The object of one of a segment's files (`log`, `index`, `timeindex`,
    /// `txnindex`, `snapshot`).
    pub fn segment_file(&self, segment: &RemoteSegment, extension: &str) -> String {
        format!("{}/{}.{extension}", self.0, segment.object_stem())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteSegment {
    pub base_offset: i64,
    /// One past the segment's last offset.
    pub next_offset: i64,
    pub size_bytes: u64,
    /// Largest batch max timestamp in the segment.
    pub max_timestamp: i64,
    pub uploaded_at_ms: i64,
    /// Whether `{stem}.txnindex` was uploaded: the segment holds aborted
    /// transactions (Kafka writes no transaction index otherwise).
    #[serde(default)]
    pub txn_index: bool,
    /// Whether `{stem}.snapshot` was uploaded: the producer state as of
    /// `next_offset`, which restore places where the restored log starts.
    #[serde(default)]
    pub producer_snapshot: bool,
}

/// The files every uploaded segment has.
const REQUIRED_EXTENSIONS: [&str; 3] = ["log", "index", "timeindex"];

impl RemoteSegment {
    pub fn object_stem(&self) -> String {
        format!("{:020}-{}", self.base_offset, self.size_bytes)
    }

    /// The extensions of the objects this segment consists of: what
    /// deletion, orphan cleanup and download must cover.
    pub fn extensions(&self) -> Vec<&'static str> {
        let mut out = REQUIRED_EXTENSIONS.to_vec();
        if self.txn_index {
            out.push("txnindex");
        }
        if self.producer_snapshot {
            out.push("snapshot");
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub topic: String,
    /// `None` for the broker's metadata log.
    pub topic_id: Option<String>,
    pub partition: i32,
    /// The remote log start offset: DeleteRecords and total retention move it.
    pub log_start_offset: i64,
    /// By base offset, oldest first, never overlapping.
    pub segments: Vec<RemoteSegment>,
}

impl Manifest {
    pub fn new(topic: &str, topic_id: Option<String>, partition: i32) -> Manifest {
        Manifest {
            version: MANIFEST_VERSION,
            topic: topic.to_string(),
            topic_id,
            partition,
            log_start_offset: 0,
            segments: Vec::new(),
        }
    }

    /// One past the last uploaded offset, if anything is uploaded.
    pub fn end_offset(&self) -> Option<i64> {
        self.segments.last().map(|s| s.next_offset)
    }

    /// The readable remote range: the newest run of segments without gaps
    /// between them, from the remote log start offset on.
    pub fn range(&self) -> Option<TieredRange> {
        let last = self.segments.last()?;
        let mut start = last.base_offset;
        for pair in self.segments.windows(2).rev() {
            if pair[0].next_offset != pair[1].base_offset {
                break;
            }
            start = pair[0].base_offset;
        }
        let start = start.max(self.log_start_offset);
        (start < last.next_offset).then_some(TieredRange {
            start,
            end: last.next_offset,
        })
    }

    /// The segment holding `offset`, or the first one after it (compaction
    /// leaves gaps in offsets).
    pub fn segment_for(&self, offset: i64) -> Option<&RemoteSegment> {
        let i = self.segments.partition_point(|s| s.next_offset <= offset);
        self.segments.get(i)
    }

    pub fn total_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.size_bytes).sum()
    }

    /// Adds an uploaded segment, replacing one with the same base offset (a
    /// compacted replacement). Returns the replaced entry, whose objects the
    /// caller deletes once the new manifest is written.
    pub fn put_segment(&mut self, segment: RemoteSegment) -> Option<RemoteSegment> {
        match self
            .segments
            .binary_search_by_key(&segment.base_offset, |s| s.base_offset)
        {
            Ok(i) => Some(std::mem::replace(&mut self.segments[i], segment)),
            Err(i) => {
                self.segments.insert(i, segment);
                None
            }
        }
    }

    /// Moves the log start offset up to `offset` and drops the segments
    /// wholly below it, returning them.
    pub fn advance_start(&mut self, offset: i64) -> Vec<RemoteSegment> {
        if offset <= self.log_start_offset {
            return Vec::new();
        }
        self.log_start_offset = offset;
        let keep_from = self.segments.partition_point(|s| s.next_offset <= offset);
        self.segments.drain(..keep_from).collect()
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a manifest always serializes")
    }

    pub fn decode(bytes: &[u8]) -> anyhow::Result<Manifest> {
        let manifest: Manifest = serde_json::from_slice(bytes)?;
        anyhow::ensure!(
            manifest.version == MANIFEST_VERSION,
            "manifest version {} is not supported (expected {MANIFEST_VERSION})",
            manifest.version
        );
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(base: i64, next: i64, size: u64) -> RemoteSegment {
        RemoteSegment {
            base_offset: base,
            next_offset: next,
            size_bytes: size,
            max_timestamp: base,
            uploaded_at_ms: 0,
            txn_index: false,
            producer_snapshot: false,
        }
    }

    #[test]
    fn range_put_and_advance() {
        let mut m = Manifest::new("t", Some("id".into()), 3);
        assert_eq!(m.range(), None);
        assert!(m.put_segment(seg(0, 10, 100)).is_none());
        assert!(m.put_segment(seg(10, 20, 100)).is_none());
        assert_eq!(m.range(), Some(TieredRange { start: 0, end: 20 }));
        // A compacted replacement under the same base offset.
        assert_eq!(m.put_segment(seg(0, 10, 60)), Some(seg(0, 10, 100)));
        assert_eq!(m.total_bytes(), 160);
        assert_eq!(m.segment_for(5).unwrap().base_offset, 0);
        assert_eq!(m.segment_for(10).unwrap().base_offset, 10);
        assert!(m.segment_for(20).is_none());
        assert_eq!(m.advance_start(12), vec![seg(0, 10, 60)]);
        assert_eq!(m.range(), Some(TieredRange { start: 12, end: 20 }));
        // A gap: only the newest contiguous run is readable.
        m.put_segment(seg(30, 40, 100));
        assert_eq!(m.range(), Some(TieredRange { start: 30, end: 40 }));
        let back = Manifest::decode(&m.encode()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn manifests_without_optional_file_flags_still_load() {
        // As written before segments had a `.txnindex` or `.snapshot`.
        let old = br#"{
            "version": 1, "topic": "t", "topic_id": "id", "partition": 0,
            "log_start_offset": 0,
            "segments": [{"base_offset": 0, "next_offset": 10, "size_bytes": 100,
                          "max_timestamp": 5, "uploaded_at_ms": 7}]
        }"#;
        let m = Manifest::decode(old).unwrap();
        assert_eq!(
            m.segments,
            vec![RemoteSegment {
                max_timestamp: 5,
                uploaded_at_ms: 7,
                ..seg(0, 10, 100)
            }]
        );
        assert_eq!(m.segments[0].extensions(), ["log", "index", "timeindex"]);
        let mut both = seg(0, 10, 100);
        both.txn_index = true;
        both.producer_snapshot = true;
        assert_eq!(
            both.extensions(),
            ["log", "index", "timeindex", "txnindex", "snapshot"]
        );
        let mut m = Manifest::new("t", None, 0);
        m.put_segment(both);
        assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
    }

    #[test]
    fn paths() {
        let p = PartitionPath::topic("orders", "abc", 2);
        assert_eq!(p.manifest(), "orders-abc/2/manifest.json");
        assert_eq!(
            p.segment_file(&seg(5, 9, 77), "log"),
            "orders-abc/2/00000000000000000005-77.log"
        );
        assert_eq!(
            PartitionPath::metadata_log("__strata_metadata").manifest(),
            "__strata_metadata/0/manifest.json"
        );
    }
}
