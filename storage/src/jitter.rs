//! `segment.jitter.ms`: how much sooner than its roll age a segment rolls.
//!
//! Kafka draws a random jitter per segment, below `min(segment.jitter.ms,
//! segment.ms)`, so that partitions created at the same moment do not all
//! roll, and then all become deletable, together. Strata derives it from the
//! segment's path instead of a random draw: different partitions and
//! segments get different amounts spread over the same range, and a restart
//! does not change when an open segment rolls.

use std::hash::{Hash, Hasher};
use std::path::Path;

/// The jitter, in milliseconds, of the segment at `path`.
pub(crate) fn segment_jitter_ms(path: &Path, jitter_ms: u64, roll_ms: u64) -> u64 {
    let range = jitter_ms.min(roll_ms);
    if range == 0 {
        return 0;
    }
    // SipHash with fixed keys: stable across runs, unlike `RandomState`.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    path.hash(&mut hasher);
    hasher.finish() % range
}

/// Whether a segment first appended to at `first_append_ms` is due to roll
/// at `now_ms`, with `roll_ms` its roll age and `jitter` its jitter.
pub(crate) fn roll_due(now_ms: i64, first_append_ms: i64, roll_ms: u64, jitter: u64) -> bool {
    now_ms.saturating_sub(first_append_ms) >= roll_ms.saturating_sub(jitter) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn jitter_spreads_rolls_within_the_range() {
        let jitters: Vec<u64> = (0..64)
            .map(|p| {
                let path = PathBuf::from(format!("/data/t-{p}/00000000000000000000.log"));
                segment_jitter_ms(&path, 10_000, 60_000)
            })
            .collect();
        assert!(jitters.iter().all(|&j| j < 10_000));
        let mut distinct = jitters.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 32, "{distinct:?}");
        // The same segment always gets the same jitter.
        let path = PathBuf::from("/data/t-0/00000000000000000000.log");
        assert_eq!(segment_jitter_ms(&path, 10_000, 60_000), jitters[0]);
        // Never more than the roll age itself, and none without a jitter.
        assert!(segment_jitter_ms(&path, 10_000, 5) < 5);
        assert_eq!(segment_jitter_ms(&path, 0, 60_000), 0);
    }

    #[test]
    fn a_jittered_segment_rolls_sooner() {
        assert!(!roll_due(59_000, 0, 60_000, 0));
        assert!(roll_due(59_000, 0, 60_000, 1_000));
        assert!(roll_due(60_000, 0, 60_000, 0));
    }
}
