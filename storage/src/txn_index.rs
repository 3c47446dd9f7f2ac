//! The aborted-transaction index: `{base_offset:020}.txnindex` per segment.
//!
//! Each ABORT marker adds an entry to the segment that holds it. Entries live
//! in memory with the segment and are written to its `.txnindex` file when
//! the segment's other index files are (after its data is fsynced), so a
//! sealed segment with valid indexes also has its transaction index. The
//! active segment's entries are rebuilt by recovery's scan. A segment without
//! aborted transactions has no file, as in Kafka.
//!
//! The file uses Kafka's layout, 34 bytes an entry (big-endian):
//! `version: i16 = 0, producer_id: i64, first_offset: i64, last_offset: i64,
//! last_stable_offset: i64`, so Kafka's tools can read it.

use std::io;
use std::path::Path;

use crate::index::{read_optional, write_durably};
use crate::producer_state::AbortedTxn;

const ENTRY_LEN: usize = 34;

pub(crate) fn encode(entries: &[AbortedTxn]) -> Vec<u8> {
    let mut b = Vec::with_capacity(entries.len() * ENTRY_LEN);
    for e in entries {
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&e.producer_id.to_be_bytes());
        b.extend_from_slice(&e.first_offset.to_be_bytes());
        b.extend_from_slice(&e.last_offset.to_be_bytes());
        b.extend_from_slice(&e.last_stable_offset.to_be_bytes());
    }
    b
}

/// Decodes whole entries; a torn last entry is dropped. Public because the
/// tier reads the `.txnindex` objects it uploaded: any bytes decode (at
/// worst into nonsense entries), nothing panics.
pub fn decode(bytes: &[u8]) -> Vec<AbortedTxn> {
    let i64_at = |c: &[u8], at: usize| i64::from_be_bytes(c[at..at + 8].try_into().expect("8"));
    bytes
        .chunks_exact(ENTRY_LEN)
        .map(|c| AbortedTxn {
            producer_id: i64_at(c, 2),
            first_offset: i64_at(c, 10),
            last_offset: i64_at(c, 18),
            last_stable_offset: i64_at(c, 26),
        })
        .collect()
}

/// Writes a sealed segment's entries next to it (nothing when there are none).
pub(crate) fn write(log_path: &Path, entries: &[AbortedTxn]) -> io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    write_durably(&log_path.with_extension("txnindex"), &encode(entries))
}

/// A sealed segment's entries; a missing file means none.
pub(crate) fn read(log_path: &Path) -> io::Result<Vec<AbortedTxn>> {
    Ok(read_optional(&log_path.with_extension("txnindex"))?
        .map(|b| decode(&b))
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_in_kafkas_layout() {
        let entries = vec![
            AbortedTxn {
                producer_id: 9,
                first_offset: 10,
                last_offset: 20,
                last_stable_offset: 10,
            },
            AbortedTxn {
                producer_id: 1 << 40,
                first_offset: 21,
                last_offset: 22,
                last_stable_offset: 21,
            },
        ];
        let bytes = encode(&entries);
        assert_eq!(bytes.len(), 68);
        assert_eq!(&bytes[..10], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(decode(&bytes), entries);
        assert_eq!(decode(&bytes[..50]), entries[..1]);
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("00000000000000000000.log");
        write(&log, &entries).unwrap();
        assert_eq!(read(&log).unwrap(), entries);
        write(&dir.path().join("1.log"), &[]).unwrap();
        assert!(!dir.path().join("1.txnindex").exists());
    }
}
