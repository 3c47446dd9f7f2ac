//! Where records without an explicit partition go.
//!
//! A keyed record goes where Kafka's default partitioner puts it
//! ([`crate::partitioner`]; librdkafka's default, `consistent_random`,
//! hashes with CRC32 and would disagree, its `murmur2_random` agrees).
//!
//! Keyless records stick to one partition per request, the next one for
//! each request (and again after every [`STICKY_BYTES`] of values), so
//! small requests each make one batch and many requests spread evenly, as
//! Java's built-in partitioner moves on after each batch.

use std::sync::atomic::{AtomicU32, Ordering};

pub(super) use crate::partitioner::partition_for_key;

/// Keyless bytes after which the sticky partition moves on (Java's
/// `batch.size` default).
pub(super) const STICKY_BYTES: usize = 16 * 1024;

/// The next sticky partition, shared by all requests.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The partition of one request's keyless records.
pub(super) struct Sticky {
    partitions: i32,
    current: Option<i32>,
    bytes: usize,
}

impl Sticky {
    pub(super) fn new(partitions: i32) -> Self {
        Sticky {
            partitions,
            current: None,
            bytes: 0,
        }
    }

    /// The partition of the next keyless record, of `size` bytes.
    pub(super) fn next(&mut self, size: usize) -> i32 {
        let partition = match self.current {
            Some(p) if self.bytes < STICKY_BYTES => p,
            _ => {
                let p = (NEXT.fetch_add(1, Ordering::Relaxed) % self.partitions as u32) as i32;
                self.current = Some(p);
                self.bytes = 0;
                p
            }
        };
        self.bytes += size;
        partition
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyless_records_stick_then_move_on() {
        let mut s = Sticky::new(3);
        let first = s.next(10);
        assert_eq!(s.next(STICKY_BYTES), first);
        let after = s.next(1);
        assert_ne!(after, first);
        let mut other = Sticky::new(3);
        assert!((0..3).contains(&other.next(1)));
    }
}
