//! Strata's partition log: segments, sparse indexes, group-commit fsync,
//! crash recovery, retention and compaction.
//!
//! The API speaks offsets, timestamps and bytes (whole RecordBatch v2
//! batches as producers send them); it never sees Kafka message structs. The
//! broker maps [`StorageError`] variants to Kafka error codes.
//!
//! On disk, one directory per partition, Kafka's layout:
//! `{base_offset:020}.log` (batches), `.index` (sparse offset index),
//! `.timeindex` (sparse time index) per segment, `.txnindex` (aborted
//! transactions, only when there are any), `{offset:020}.snapshot`
//! (producer state), `log-start-offset`, and for compacted logs
//! `cleaner-offset-checkpoint`.
//! Sealed segments are immutable, so they can be uploaded and cached as is;
//! compaction replaces one with a new file under the same name.

mod append;
#[cfg(test)]
mod bench;
mod compaction;
mod config;
mod durability;
mod error;
mod index;
mod jitter;
mod log;
pub mod metrics;
mod page_cache;
mod preallocate;
mod producer_snapshot;
mod producer_state;
mod read;
mod recovery;
mod retention;
mod retired;
mod scan;
mod segment;
#[cfg(test)]
mod testutil;
mod tiered;
#[cfg(test)]
mod topic_config_tests;
mod transactions;
pub mod txn_index;

pub use compaction::CompactionOutcome;
pub use config::{FlushPolicy, LogConfig, DEFAULT_PAGE_CACHE_WINDOW, DEFAULT_SEGMENT_INDEX_BYTES};
pub use error::StorageError;
pub use log::{AppendInfo, Log, LogStats, RetentionOutcome, SegmentInfo, TieredRange};
pub use producer_snapshot::snapshot_path as producer_snapshot_path;
pub use producer_state::{AbortedTxn, ProducerInfo};
pub use strata_wire::control::Marker;
pub use tiered::SegmentLookup;
