//! Where records without an explicit partition go.
//!
//! A keyed record goes where Kafka's default partitioner puts it:
//! `toPositive(murmur2(key)) % partitions` over the serialized key bytes
//! (Java's `BuiltInPartitioner.partitionForKey`; librdkafka's `murmur2` and
//! `murmur2_random` partitioners compute the same, while its default,
//! `consistent_random`, hashes with CRC32 and would disagree). So a key
//! produced over REST lands with the same key produced by a Java client or
//! a librdkafka client configured as Java's.
//!
//! Keyless records stick to one partition per request, the next one for
//! each request (and again after every [`STICKY_BYTES`] of values), so
//! small requests each make one batch and many requests spread evenly, as
//! Java's built-in partitioner moves on after each batch.

use std::sync::atomic::{AtomicU32, Ordering};

/// Keyless bytes after which the sticky partition moves on (Java's
/// `batch.size` default).
pub(super) const STICKY_BYTES: usize = 16 * 1024;

/// The next sticky partition, shared by all requests.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// Kafka's `Utils.murmur2`.
pub(super) fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a keyed record among `partitions` (> 0).
pub(super) fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

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
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn keyed_partition_is_positive_modulo() {
        // "foobar" hashes negative; toPositive keeps the low 31 bits.
        assert_eq!(
            partition_for_key(b"foobar", 7),
            ((-790332482i32) & 0x7fff_ffff) % 7
        );
        for p in 1..20 {
            assert!((0..p).contains(&partition_for_key(b"21", p)));
        }
    }

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
