//! Receive buffers for large frames, reused once their request is done.
//!
//! A produce request is typically a few hundred KiB to 1 MiB. Read into a
//! fresh allocation each time, glibc serves it with `mmap` (or from an arena
//! it trims with `madvise`), so every page of every request is faulted in
//! anew and zapped again when the request is dropped: measured, a fifth of
//! the broker's CPU per GB produced. A connection therefore reads large frame
//! bodies into buffers from its own small pool; a frame is handed on as
//! [`Bytes`] whose owner gives the buffer back when the last slice of it
//! (the request and the record slices decoded from it) is dropped.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::Mutex;

/// Frames at least this long are read into pooled buffers; smaller ones
/// share the connection's read buffer, which is cheap to reuse already.
pub(super) const POOLED_FRAME_MIN: usize = 64 * 1024;

/// Buffers a pool keeps: a producer has at most a handful of requests in
/// flight on one connection (librdkafka: 5).
const MAX_POOLED: usize = 8;

/// Buffers above this capacity are freed rather than kept, so a rare huge
/// request does not pin its memory for the life of the connection.
const MAX_POOLED_CAPACITY: usize = 8 * 1024 * 1024;

/// The pool of one connection. Frames hold it weakly: buffers dropped after
/// the connection has gone are simply freed.
#[derive(Default)]
pub(super) struct FramePool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl FramePool {
    /// An empty buffer with room for `len` bytes, reused when one is free.
    pub(super) fn take(&self, len: usize) -> Vec<u8> {
        let reused = {
            let mut free = self.free.lock();
            match free.iter().position(|b| b.capacity() >= len) {
                Some(i) => Some(free.swap_remove(i)),
                None => free.pop(),
            }
        };
        let mut buf = reused.unwrap_or_default();
        buf.clear();
        buf.reserve_exact(len);
        buf
    }

    /// Freezes a filled buffer into a frame that returns it here when dropped.
    pub(super) fn frame(self: &Arc<Self>, body: Vec<u8>) -> Bytes {
        Bytes::from_owner(PooledBody {
            body,
            pool: Arc::downgrade(self),
        })
    }

    fn give_back(&self, mut body: Vec<u8>) {
        if body.capacity() > MAX_POOLED_CAPACITY {
            return;
        }
        let mut free = self.free.lock();
        if free.len() < MAX_POOLED {
            body.clear();
            free.push(body);
        }
    }

    #[cfg(test)]
    fn pooled(&self) -> usize {
        self.free.lock().len()
    }
}

/// The owner behind a pooled frame's [`Bytes`].
struct PooledBody {
    body: Vec<u8>,
    pool: Weak<FramePool>,
}

impl AsRef<[u8]> for PooledBody {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.give_back(std::mem::take(&mut self.body));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_when_the_last_slice_of_its_frame_is_dropped() {
        let pool = Arc::new(FramePool::default());
        let mut body = pool.take(100_000);
        body.extend_from_slice(&[7u8; 100_000]);
        let address = body.as_ptr();
        let frame = pool.frame(body);
        let records = frame.slice(10..20);
        drop(frame);
        assert_eq!(pool.pooled(), 0, "a slice still holds the buffer");
        assert_eq!(&records[..], &[7u8; 10]);
        drop(records);
        assert_eq!(pool.pooled(), 1);
        let again = pool.take(50_000);
        assert_eq!(
            again.as_ptr(),
            address,
            "the same memory, not a new allocation"
        );
        assert!(again.is_empty());
    }

    #[test]
    fn huge_buffers_and_surplus_buffers_are_freed() {
        let pool = Arc::new(FramePool::default());
        drop(pool.frame(pool.take(MAX_POOLED_CAPACITY + 1)));
        assert_eq!(pool.pooled(), 0);
        let frames: Vec<Bytes> = (0..MAX_POOLED + 3)
            .map(|_| pool.frame(pool.take(1024)))
            .collect();
        drop(frames);
        assert_eq!(pool.pooled(), MAX_POOLED);
    }

    #[test]
    fn frames_outliving_their_connection_free_their_buffer() {
        let pool = Arc::new(FramePool::default());
        let frame = pool.frame(vec![1, 2, 3]);
        drop(pool);
        assert_eq!(&frame[..], &[1, 2, 3]);
    }
}
