//! The one error type of the storage crate.
//!
//! Variants are chosen so the broker can map each to exactly one Kafka error
//! code: `InvalidBatch` and `BatchTooLarge` are the producer's fault
//! (CORRUPT_MESSAGE, RECORD_LIST_TOO_LARGE / MESSAGE_TOO_LARGE),
//! `OffsetOutOfRange` is OFFSET_OUT_OF_RANGE, and everything else is a
//! server-side failure (KAFKA_STORAGE_ERROR or UNKNOWN_SERVER_ERROR).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use strata_wire::batch::BatchError;
use strata_wire::records::RecordsError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StorageError {
    /// An I/O call failed; `context` says what the log was doing (and on
    /// which file). The cause is part of the message rather than a
    /// `source()`, so every log line and error answer that prints the error
    /// names the errno, not only reports that walk the chain.
    #[error("{context}: {cause}")]
    Io { context: String, cause: io::Error },
    /// A read or a DeleteRecords asked for an offset outside the readable range.
    #[error(
        "offset {requested} is out of range: log start offset is {start}, high watermark is {high_watermark}"
    )]
    OffsetOutOfRange {
        requested: i64,
        start: i64,
        high_watermark: i64,
    },
    /// The offset is readable, but its segment is no longer on local disk:
    /// it lives only in remote storage (see `Log::set_tiered_range`), which
    /// the caller reads instead.
    #[error("offset {requested} is below the local log start offset {local_start}: read it from remote storage")]
    NotLocal { requested: i64, local_start: i64 },
    /// Produced bytes are not well-framed v2 batches with valid CRCs.
    #[error("invalid record batch in produce request")]
    InvalidBatch(#[source] BatchError),
    /// One append call is larger than a segment may ever be.
    #[error("record batches of {size} bytes exceed the maximum of {max} bytes")]
    BatchTooLarge { size: u64, max: u64 },
    /// Bytes already on disk do not parse as batches (found while reading).
    #[error("corrupt data in {path} at position {position}")]
    Corrupt {
        path: PathBuf,
        position: u64,
        #[source]
        source: BatchError,
    },
    /// A stored batch frames correctly but its records do not decode (found
    /// by compaction, the only reader of individual records).
    #[error("corrupt records in {path} at position {position}")]
    CorruptRecords {
        path: PathBuf,
        position: u64,
        #[source]
        source: RecordsError,
    },
    /// An fsync failed earlier. The page cache state is unknown after a failed
    /// fsync, so the log refuses further appends and durability waits instead
    /// of pretending a retry made the data safe.
    #[error("log is offline after a failed fsync")]
    SyncFailed(#[source] Arc<io::Error>),
    /// The log was closed or deleted.
    #[error("log is closed")]
    Closed,
    /// A producer's batch does not continue its sequence (a gap, or a
    /// retry of a batch older than the last five): OUT_OF_ORDER_SEQUENCE_NUMBER.
    #[error(
        "out of order sequence number for producer {producer_id}: expected {expected}, got {got}"
    )]
    OutOfOrderSequence {
        producer_id: i64,
        expected: i32,
        got: i32,
    },
    /// A batch or marker carries an epoch older than the producer's latest:
    /// INVALID_PRODUCER_EPOCH.
    #[error(
        "producer {producer_id} wrote with epoch {epoch}, older than its current epoch {current}"
    )]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    /// A marker from an older coordinator epoch: TRANSACTION_COORDINATOR_FENCED.
    #[error("marker for producer {producer_id} from coordinator epoch {coordinator_epoch}, older than {current}")]
    CoordinatorFenced {
        producer_id: i64,
        coordinator_epoch: i32,
        current: i32,
    },
    /// A write that contradicts the producer's transaction: INVALID_TXN_STATE.
    #[error("{0}")]
    InvalidTxnState(String),
    /// A request with several batches retried only some of them.
    #[error("a retried batch came with new batches in one append")]
    DuplicateSequence,
}

impl StorageError {
    pub(crate) fn io(context: impl Into<String>, cause: io::Error) -> Self {
        StorageError::Io {
            context: context.into(),
            cause,
        }
    }
}

/// Attaches a lazily built context to `io::Result`s.
pub(crate) trait IoContext<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, StorageError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, StorageError> {
        self.map_err(|cause| StorageError::Io {
            context: f(),
            cause,
        })
    }
}
