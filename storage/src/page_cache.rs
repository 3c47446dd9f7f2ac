//! Dropping a log's older durable bytes from the OS page cache.
//!
//! Written data stays in the page cache until the kernel needs the memory,
//! so a busy log keeps taking fresh pages for new data. On virtual machines
//! that hand free memory back to the host (virtio-balloon free page
//! reporting, as on this project's Firecracker machines), a fresh page costs
//! a fault on the host the first time it is written: measured, writing
//! 1 GiB in 1 MiB appends with an fdatasync every 4 MiB cost 1.75–2.14 CPU-s
//! of kernel time on most runs, and 0.17–0.22 when the bytes more than
//! 8–32 MiB behind the end were dropped from the cache after each fsync,
//! because then the same pages are used again and again.
//!
//! A sync job therefore advises the kernel (`POSIX_FADV_DONTNEED`) to drop
//! what it has just made durable, except the last `page_cache_window` bytes
//! of each segment, which the consumers that keep up read. Only clean pages
//! are dropped, so nothing is lost; a reader of older data reads it from
//! disk, as it would once the kernel had evicted it.

use std::fs::File;
use std::sync::Arc;

/// Bytes of a segment file to drop from the page cache.
pub(crate) struct CacheDrop {
    pub(crate) file: Arc<File>,
    pub(crate) from: u64,
    pub(crate) to: u64,
}

/// What to drop of a segment holding `size` bytes, of which everything below
/// `dropped_to` was dropped already; `None` when nothing new falls outside
/// the window.
pub(crate) fn range_to_drop(size: u64, dropped_to: u64, window: u64) -> Option<(u64, u64)> {
    let to = size.saturating_sub(window);
    (to > dropped_to).then_some((dropped_to, to))
}

/// Drops the range from the page cache; a hint, so failures are ignored.
pub(crate) fn drop_cached(range: &CacheDrop) {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{fadvise, Advice};
        let len = std::num::NonZeroU64::new(range.to - range.from);
        if let Err(e) = fadvise(&*range.file, range.from, len, Advice::DontNeed) {
            tracing::debug!(error = %e, "page cache drop refused");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = range;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_lies_behind_the_window_and_was_not_dropped_yet() {
        assert_eq!(range_to_drop(100, 0, 200), None);
        assert_eq!(range_to_drop(1000, 0, 200), Some((0, 800)));
        assert_eq!(range_to_drop(1000, 800, 200), None);
        assert_eq!(range_to_drop(1500, 800, 200), Some((800, 1300)));
        assert_eq!(range_to_drop(1500, 0, 0), Some((0, 1500)));
    }
}
