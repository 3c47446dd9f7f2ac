//! A zero-copy view of Kafka RecordBatch v2 (magic 2) headers.
//!
//! The produce and fetch paths never decode individual records: they check the
//! batch header and its CRC32C, patch the base offset (and, for
//! `LogAppendTime`, the max timestamp) in place, and move the bytes unchanged.
//! Layout (big-endian), from the Kafka protocol guide:
//!
//! ```text
//! 0  baseOffset i64          8  batchLength i32        12 partitionLeaderEpoch i32
//! 16 magic i8                17 crc u32 (CRC32C of bytes 21..end)
//! 21 attributes i16          23 lastOffsetDelta i32    27 baseTimestamp i64
//! 35 maxTimestamp i64        43 producerId i64         51 producerEpoch i16
//! 53 baseSequence i32        57 recordCount i32        61 records...
//! ```

use thiserror::Error;

/// Size of the fixed RecordBatch v2 header.
pub const BATCH_HEADER_LEN: usize = 61;
/// Bytes before `batchLength` counts: baseOffset and batchLength themselves.
pub const LOG_OVERHEAD: usize = 12;

const BASE_OFFSET: usize = 0;
const BATCH_LENGTH: usize = 8;
const PARTITION_LEADER_EPOCH: usize = 12;
const MAGIC: usize = 16;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const PRODUCER_EPOCH: usize = 51;
const BASE_SEQUENCE: usize = 53;
const RECORD_COUNT: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

/// Why a byte range is not an acceptable RecordBatch.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("record batch truncated: need {needed} bytes, have {available}")]
    Truncated { needed: usize, available: usize },
    #[error("record batch length {0} is invalid")]
    InvalidLength(i32),
    #[error("record batch magic {0} is not supported (only magic 2)")]
    UnsupportedMagic(i8),
    #[error("record batch crc mismatch: header says {stored:#010x}, bytes give {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("record batch has invalid record count {0}")]
    InvalidRecordCount(i32),
}

/// Compression codec from the batch attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
    /// Codec ids 5-7 are reserved; such batches are refused.
    Unknown(u8),
}

/// Checks what the fixed header alone can tell (magic 2, the whole header
/// present, a batch length that covers it) and returns the batch length.
fn check_fixed_header(bytes: &[u8]) -> Result<i32, BatchError> {
    // Magic sits at the same place in v0/v1 message sets, which can be
    // shorter than a v2 header: check it first so they get the precise error.
    if let Some(&magic) = bytes.get(MAGIC) {
        if magic as i8 != 2 {
            return Err(BatchError::UnsupportedMagic(magic as i8));
        }
    }
    if bytes.len() < BATCH_HEADER_LEN {
        return Err(BatchError::Truncated {
            needed: BATCH_HEADER_LEN,
            available: bytes.len(),
        });
    }
    let batch_length = be_i32(bytes, BATCH_LENGTH);
    if batch_length < (BATCH_HEADER_LEN - LOG_OVERHEAD) as i32 {
        return Err(BatchError::InvalidLength(batch_length));
    }
    Ok(batch_length)
}

/// What a reader that has only a batch's first [`BATCH_HEADER_LEN`] bytes
/// needs to step through a log: the batch's offsets, max timestamp and size.
/// Remote reads use it to find a batch without fetching the batches before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderSummary {
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    /// The whole batch's size, header included.
    pub total_len: usize,
}

impl HeaderSummary {
    /// Reads the fixed header at the start of `bytes` (at least
    /// [`BATCH_HEADER_LEN`] long); the records after it need not be there.
    pub fn peek(bytes: &[u8]) -> Result<HeaderSummary, BatchError> {
        let batch_length = check_fixed_header(bytes)?;
        let base_offset = be_i64(bytes, BASE_OFFSET);
        Ok(HeaderSummary {
            base_offset,
            last_offset: base_offset + i64::from(be_i32(bytes, LAST_OFFSET_DELTA)),
            max_timestamp: be_i64(bytes, MAX_TIMESTAMP),
            total_len: LOG_OVERHEAD + batch_length as usize,
        })
    }
}

/// The read-only header fields of one batch, borrowed from its bytes.
#[derive(Debug, Clone, Copy)]
pub struct BatchHeader<'a> {
    bytes: &'a [u8],
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("slice of 8"))
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("slice of 4"))
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().expect("slice of 2"))
}

impl<'a> BatchHeader<'a> {
    /// Views the batch at the start of `bytes`, checking only that the whole
    /// batch (as its length field says) is present and the magic is 2.
    /// Use [`BatchHeader::verify_crc`] before trusting the payload.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BatchError> {
        let batch_length = check_fixed_header(bytes)?;
        let total = LOG_OVERHEAD + batch_length as usize;
        if bytes.len() < total {
            return Err(BatchError::Truncated {
                needed: total,
                available: bytes.len(),
            });
        }
        let header = BatchHeader {
            bytes: &bytes[..total],
        };
        if header.record_count() < 0 {
            return Err(BatchError::InvalidRecordCount(header.record_count()));
        }
        Ok(header)
    }

    /// The whole batch, header included.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// Total size in bytes, header included.
    pub fn total_len(&self) -> usize {
        self.bytes.len()
    }
    pub fn base_offset(&self) -> i64 {
        be_i64(self.bytes, BASE_OFFSET)
    }
    pub fn partition_leader_epoch(&self) -> i32 {
        be_i32(self.bytes, PARTITION_LEADER_EPOCH)
    }
    pub fn stored_crc(&self) -> u32 {
        be_i32(self.bytes, CRC) as u32
    }
    pub fn attributes(&self) -> i16 {
        be_i16(self.bytes, ATTRIBUTES)
    }
    pub fn compression(&self) -> Compression {
        match (self.attributes() & COMPRESSION_MASK) as u8 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => Compression::Unknown(other),
        }
    }
    /// True when the batch's timestamps are broker-assigned (LogAppendTime).
    pub fn is_log_append_time(&self) -> bool {
        self.attributes() & TIMESTAMP_TYPE_BIT != 0
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes() & TRANSACTIONAL_BIT != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes() & CONTROL_BIT != 0
    }
    pub fn last_offset_delta(&self) -> i32 {
        be_i32(self.bytes, LAST_OFFSET_DELTA)
    }
    /// Offset of the last record: base offset plus last offset delta.
    pub fn last_offset(&self) -> i64 {
        // Saturating: hostile headers must not overflow (storage validates the delta).
        self.base_offset()
            .saturating_add(i64::from(self.last_offset_delta()))
    }
    pub fn base_timestamp(&self) -> i64 {
        be_i64(self.bytes, BASE_TIMESTAMP)
    }
    pub fn max_timestamp(&self) -> i64 {
        be_i64(self.bytes, MAX_TIMESTAMP)
    }
    pub fn producer_id(&self) -> i64 {
        be_i64(self.bytes, PRODUCER_ID)
    }
    pub fn producer_epoch(&self) -> i16 {
        be_i16(self.bytes, PRODUCER_EPOCH)
    }
    pub fn base_sequence(&self) -> i32 {
        be_i32(self.bytes, BASE_SEQUENCE)
    }
    pub fn record_count(&self) -> i32 {
        be_i32(self.bytes, RECORD_COUNT)
    }

    /// CRC32C over everything from the attributes to the end of the batch.
    pub fn computed_crc(&self) -> u32 {
        crc32c::crc32c(&self.bytes[ATTRIBUTES..])
    }

    /// Checks the stored CRC against the bytes (Kafka's CORRUPT_MESSAGE case).
    pub fn verify_crc(&self) -> Result<(), BatchError> {
        let (stored, computed) = (self.stored_crc(), self.computed_crc());
        if stored == computed {
            Ok(())
        } else {
            Err(BatchError::CrcMismatch { stored, computed })
        }
    }
}

/// Iterates over the whole batches at the front of a byte slice, as a log
/// segment or a produce request's `records` field holds them.
///
/// Stops at the first error; [`Batches::valid_len`] then tells how many bytes
/// formed whole, well-framed batches (crash recovery truncates to it).
pub struct Batches<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Batches<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Batches { bytes, position: 0 }
    }
    /// Bytes consumed by the batches yielded so far.
    pub fn valid_len(&self) -> usize {
        self.position
    }
    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }
}

impl<'a> Iterator for Batches<'a> {
    type Item = Result<BatchHeader<'a>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.bytes.len() {
            return None;
        }
        match BatchHeader::parse(&self.bytes[self.position..]) {
            Ok(header) => {
                self.position += header.total_len();
                Some(Ok(header))
            }
            Err(e) => {
                // Park at the end so iteration stops after reporting once.
                let rest = self.bytes.len();
                let valid = self.position;
                self.bytes = &self.bytes[..valid];
                self.position = valid.min(rest);
                Some(Err(e))
            }
        }
    }
}

/// Writes the broker-assigned fields into a batch header in place.
///
/// `base_offset` and `partition_leader_epoch` lie outside the CRC, so they
/// cost nothing to patch. `log_append_time`, when given, switches the batch to
/// LogAppendTime and sets its max timestamp, which lies inside the CRC: the
/// CRC is then recomputed over the batch.
pub fn patch_header(
    batch: &mut [u8],
    base_offset: i64,
    partition_leader_epoch: i32,
    log_append_time: Option<i64>,
) {
    batch[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
    batch[PARTITION_LEADER_EPOCH..PARTITION_LEADER_EPOCH + 4]
        .copy_from_slice(&partition_leader_epoch.to_be_bytes());
    if let Some(now) = log_append_time {
        let attributes = be_i16(batch, ATTRIBUTES) | TIMESTAMP_TYPE_BIT;
        batch[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
        batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&now.to_be_bytes());
        let crc = crc32c::crc32c(&batch[ATTRIBUTES..]);
        batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a minimal valid batch with `count` empty records' worth of
    /// payload bytes (the records themselves are opaque to this module).
    pub(crate) fn sample_batch(base_offset: i64, last_offset_delta: i32, max_ts: i64) -> Vec<u8> {
        let payload = vec![7u8; 10];
        let batch_length = (BATCH_HEADER_LEN - LOG_OVERHEAD + payload.len()) as i32;
        let mut b = Vec::new();
        b.extend_from_slice(&base_offset.to_be_bytes());
        b.extend_from_slice(&batch_length.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.push(2);
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&last_offset_delta.to_be_bytes());
        b.extend_from_slice(&(max_ts - 5).to_be_bytes());
        b.extend_from_slice(&max_ts.to_be_bytes());
        b.extend_from_slice(&(-1i64).to_be_bytes());
        b.extend_from_slice(&(-1i16).to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.extend_from_slice(&(last_offset_delta + 1).to_be_bytes());
        b.extend_from_slice(&payload);
        let crc = crc32c::crc32c(&b[ATTRIBUTES..]);
        b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn parses_header_fields() {
        let b = sample_batch(0, 4, 1_000);
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(h.total_len(), b.len());
        assert_eq!(h.last_offset(), 4);
        assert_eq!(h.record_count(), 5);
        assert_eq!(h.max_timestamp(), 1_000);
        assert_eq!(h.base_timestamp(), 995);
        assert_eq!(h.compression(), Compression::None);
        assert!(!h.is_log_append_time());
        h.verify_crc().unwrap();
    }

    #[test]
    fn peeks_at_a_header_without_its_records() {
        let b = sample_batch(40, 4, 1_000);
        let summary = HeaderSummary::peek(&b[..BATCH_HEADER_LEN]).unwrap();
        assert_eq!(
            summary,
            HeaderSummary {
                base_offset: 40,
                last_offset: 44,
                max_timestamp: 1_000,
                total_len: b.len()
            }
        );
        assert!(HeaderSummary::peek(&b[..BATCH_HEADER_LEN - 1]).is_err());
    }

    #[test]
    fn detects_corruption() {
        let mut b = sample_batch(0, 0, 1);
        let last = b.len() - 1;
        b[last] ^= 0xff;
        let h = BatchHeader::parse(&b).unwrap();
        assert!(matches!(
            h.verify_crc(),
            Err(BatchError::CrcMismatch { .. })
        ));
    }

    #[test]
    fn refuses_old_magic_and_truncation() {
        let mut b = sample_batch(0, 0, 1);
        assert!(matches!(
            BatchHeader::parse(&b[..b.len() - 1]),
            Err(BatchError::Truncated { .. })
        ));
        b[MAGIC] = 1;
        assert_eq!(
            BatchHeader::parse(&b).unwrap_err(),
            BatchError::UnsupportedMagic(1)
        );
    }

    #[test]
    fn patch_keeps_crc_valid() {
        let mut b = sample_batch(0, 2, 10);
        patch_header(&mut b, 42, 0, None);
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(h.base_offset(), 42);
        assert_eq!(h.last_offset(), 44);
        h.verify_crc().unwrap();
        patch_header(&mut b, 42, 0, Some(99));
        let h = BatchHeader::parse(&b).unwrap();
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp(), 99);
        h.verify_crc().unwrap();
    }

    #[test]
    fn iterates_and_reports_valid_prefix() {
        let mut all = sample_batch(0, 0, 1);
        all.extend(sample_batch(1, 1, 2));
        let whole = all.len();
        all.extend_from_slice(&[0, 0, 0]); // torn tail
        let mut it = Batches::new(&all);
        assert_eq!(it.next().unwrap().unwrap().base_offset(), 0);
        assert_eq!(it.next().unwrap().unwrap().base_offset(), 1);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
        assert_eq!(it.valid_len(), whole);
    }
}
