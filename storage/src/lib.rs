//! Strata's partition log: segments, sparse indexes, group-commit fsync,
//! crash recovery and retention.
//!
//! The API speaks offsets, timestamps and bytes (whole RecordBatch v2
//! batches as producers send them); it never sees Kafka message structs. The
//! broker maps [`StorageError`] variants to Kafka error codes.
//!
//! On disk, one directory per partition, Kafka's layout:
//! `{base_offset:020}.log` (batches), `.index` (sparse offset index),
//! `.timeindex` (sparse time index) per segment, and `log-start-offset`.
//! Sealed segments are immutable, so they can be uploaded and cached as is.

mod append;
#[cfg(test)]
mod bench;
mod config;
mod durability;
mod error;
mod index;
mod log;
mod read;
mod recovery;
mod retention;
mod scan;
mod segment;
#[cfg(test)]
mod testutil;

pub use config::{FlushPolicy, LogConfig};
pub use error::StorageError;
pub use log::{AppendInfo, Log, RetentionOutcome, SegmentInfo};
