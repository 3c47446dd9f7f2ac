//! Producer state snapshots: `{offset:020}.snapshot` files.
//!
//! A snapshot holds the producer state as of `offset` (every batch below it
//! applied). One is written when a segment rolls (at the new segment's base)
//! and at clean close, so recovery reads the newest snapshot at or below the
//! recovered log end and replays only the batches after it, as Kafka does.
//! Snapshots above the log end (a crash lost the data they describe) are
//! deleted. The format is Strata's own, versioned and checksummed: a torn
//! or garbled snapshot is ignored and the state rebuilt from an older one.
//!
//! Layout (big-endian): `version: u16 = 1`, `count: u32`, then per producer
//! `id: i64, epoch: i16, coordinator_epoch: i32, last_timestamp: i64,
//! txn_first_offset: i64 (-1 none), batches: u8`, then per batch
//! `first_seq: i32, last_seq: i32, first_offset: i64, last_offset: i64,
//! timestamp: i64`; finally the CRC32C of everything before it.

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::index::write_durably;
use crate::producer_state::{BatchMetadata, ProducerEntry, ProducerStates, MAX_BATCHES};

const VERSION: u16 = 1;
const SUFFIX: &str = ".snapshot";

/// The snapshot of the producer state as of `offset` in log directory
/// `dir`. Public because the tier uploads the snapshot at a sealed
/// segment's end and restore places one where a restored log starts.
pub fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(format!("{offset:020}{SUFFIX}"))
}

/// The offsets of the snapshot files in `dir`, ascending.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<i64>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(digits) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
            continue;
        };
        if digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(offset) = digits.parse() {
                out.push(offset);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

pub(crate) fn encode(states: &ProducerStates) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + states.producers.len() * 64);
    b.extend_from_slice(&VERSION.to_be_bytes());
    b.extend_from_slice(&(states.producers.len() as u32).to_be_bytes());
    let mut ids: Vec<_> = states.producers.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        let e = &states.producers[&id];
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&e.epoch.to_be_bytes());
        b.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
        b.extend_from_slice(&e.last_timestamp.to_be_bytes());
        b.extend_from_slice(&e.txn_first_offset.unwrap_or(-1).to_be_bytes());
        b.push(e.batches.len() as u8);
        for m in &e.batches {
            b.extend_from_slice(&m.first_seq.to_be_bytes());
            b.extend_from_slice(&m.last_seq.to_be_bytes());
            b.extend_from_slice(&m.first_offset.to_be_bytes());
            b.extend_from_slice(&m.last_offset.to_be_bytes());
            b.extend_from_slice(&m.timestamp.to_be_bytes());
        }
    }
    let crc = crc32c::crc32c(&b);
    b.extend_from_slice(&crc.to_be_bytes());
    b
}

/// Decodes a snapshot; `None` when it is torn, garbled or of another version.
pub(crate) fn decode(bytes: &[u8]) -> Option<ProducerStates> {
    let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
    if crc32c::crc32c(body) != u32::from_be_bytes(crc.try_into().ok()?) {
        return None;
    }
    let mut r = Reader(body);
    if r.u16()? != VERSION {
        return None;
    }
    let count = r.u32()?;
    let mut states = ProducerStates::default();
    for _ in 0..count {
        let id = r.i64()?;
        let epoch = r.i16()?;
        let coordinator_epoch = r.i32()?;
        let last_timestamp = r.i64()?;
        let txn = r.i64()?;
        let n = usize::from(r.u8()?);
        if n > MAX_BATCHES {
            return None;
        }
        let mut batches = VecDeque::with_capacity(n);
        for _ in 0..n {
            batches.push_back(BatchMetadata {
                first_seq: r.i32()?,
                last_seq: r.i32()?,
                first_offset: r.i64()?,
                last_offset: r.i64()?,
                timestamp: r.i64()?,
            });
        }
        let txn_first_offset = (txn >= 0).then_some(txn);
        if let Some(first) = txn_first_offset {
            states.ongoing.insert(first, id);
        }
        states.producers.insert(
            id,
            ProducerEntry {
                epoch,
                batches,
                last_timestamp,
                coordinator_epoch,
                txn_first_offset,
            },
        );
    }
    r.0.is_empty().then_some(states)
}

/// Writes the snapshot for `offset` durably.
pub(crate) fn write(dir: &Path, offset: i64, states: &ProducerStates) -> io::Result<()> {
    write_durably(&snapshot_path(dir, offset), &encode(states))
}

/// Removes every snapshot but the newest `keep`: recovery needs the newest
/// at or below the recovered end, and an older one in case a crash took the
/// data under the newest.
pub(crate) fn prune(dir: &Path, keep: usize) -> io::Result<()> {
    let offsets = list(dir)?;
    let n = offsets.len().saturating_sub(keep);
    for offset in &offsets[..n] {
        remove(dir, *offset)?;
    }
    Ok(())
}

pub(crate) fn remove(dir: &Path, offset: i64) -> io::Result<()> {
    match fs::remove_file(snapshot_path(dir, offset)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_at_checked(N)?;
        self.0 = rest;
        head.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take().map(i16::from_be_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take().map(i32::from_be_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_and_refuse_damage() {
        let mut states = ProducerStates::default();
        let mut batches = VecDeque::new();
        batches.push_back(BatchMetadata {
            first_seq: 0,
            last_seq: 9,
            first_offset: 100,
            last_offset: 109,
            timestamp: 5,
        });
        states.producers.insert(
            3,
            ProducerEntry {
                epoch: 2,
                batches,
                last_timestamp: 5,
                coordinator_epoch: 1,
                txn_first_offset: Some(100),
            },
        );
        states.ongoing.insert(100, 3);
        let bytes = encode(&states);
        assert_eq!(decode(&bytes), Some(states));
        for cut in [0, 3, bytes.len() - 1] {
            assert_eq!(decode(&bytes[..cut]), None);
        }
        let mut flipped = bytes.clone();
        flipped[9] ^= 1;
        assert_eq!(decode(&flipped), None);
    }

    #[test]
    fn listing_and_pruning() {
        let dir = tempfile::tempdir().unwrap();
        for offset in [30, 10, 20] {
            write(dir.path(), offset, &ProducerStates::default()).unwrap();
        }
        fs::write(dir.path().join("00000000000000000010.log"), b"").unwrap();
        assert_eq!(list(dir.path()).unwrap(), vec![10, 20, 30]);
        prune(dir.path(), 2).unwrap();
        assert_eq!(list(dir.path()).unwrap(), vec![20, 30]);
    }
}
