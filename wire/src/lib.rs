//! Strata's Kafka wire layer: bytes in, typed values out, no I/O.
//!
//! - [`frame`]: length-prefixed frames with a size cap checked before allocation;
//! - [`request`] / [`response`]: headers and typed bodies via `kafka-protocol`;
//! - [`batch`]: a zero-copy view of RecordBatch v2 headers (CRC32C, in-place patching);
//! - [`control`]: transaction markers (COMMIT/ABORT control batches);
//! - [`records`]: record-level decoding and rewriting, for log compaction and the produce-path
//!   checks that must see records (keyless records on compacted topics, schema validation).

pub mod batch;
pub mod control;
pub mod delete_horizon;
pub mod frame;
pub mod recompress;
pub mod records;
pub mod request;
pub mod response;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
mod varint;

pub use kafka_protocol;
