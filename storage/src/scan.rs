//! Walking the batches of a segment file with positioned reads.
//!
//! Recovery, index rebuilds and lookups that fall between sparse index
//! entries all need "the next whole batch after position p". The scanner reads
//! the file in large chunks with `pread` (no shared cursor, so it can run
//! outside the log's lock and beside appends) and hands out zero-copy slices
//! of each chunk, framed by [`BatchHeader::parse`].

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use bytes::Bytes;
use strata_wire::batch::{BatchError, BatchHeader};

/// Default chunk for sequential scans: large enough to amortise syscalls.
pub(crate) const SCAN_CHUNK: usize = 1 << 20;

/// Why a scan stopped before `limit`.
#[derive(Debug)]
pub(crate) enum ScanError {
    Io(io::Error),
    /// The bytes at `position` do not frame a batch (torn write or corruption).
    Invalid {
        position: u64,
        error: BatchError,
    },
}

/// Reads exactly `len` bytes at `position`.
pub(crate) fn read_exact_at(file: &File, position: u64, len: usize) -> io::Result<Bytes> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, position)?;
    Ok(Bytes::from(buf))
}

pub(crate) struct Scanner<'a> {
    file: &'a File,
    /// Scanning stops here (the segment size, or the high watermark's position).
    limit: u64,
    buf: Bytes,
    /// File position of `buf[0]`.
    buf_position: u64,
    cursor: usize,
    chunk: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(file: &'a File, start: u64, limit: u64, chunk: usize) -> Self {
        Scanner {
            file,
            limit,
            buf: Bytes::new(),
            buf_position: start,
            cursor: 0,
            chunk: chunk.max(64),
        }
    }

    /// File position of the next batch.
    pub(crate) fn position(&self) -> u64 {
        self.buf_position + self.cursor as u64
    }

    /// The next whole batch and its file position, `Ok(None)` at `limit`.
    pub(crate) fn next_batch(&mut self) -> Result<Option<(u64, Bytes)>, ScanError> {
        loop {
            let position = self.position();
            if position >= self.limit {
                return Ok(None);
            }
            match BatchHeader::parse(&self.buf[self.cursor..]) {
                Ok(header) => {
                    let len = header.total_len();
                    let bytes = self.buf.slice(self.cursor..self.cursor + len);
                    self.cursor += len;
                    return Ok(Some((position, bytes)));
                }
                Err(BatchError::Truncated { needed, .. })
                    if position + needed as u64 <= self.limit =>
                {
                    self.refill(position, needed.max(self.chunk))
                        .map_err(ScanError::Io)?;
                }
                Err(error) => return Err(ScanError::Invalid { position, error }),
            }
        }
    }

    fn refill(&mut self, position: u64, want: usize) -> io::Result<()> {
        let len = want.min((self.limit - position) as usize);
        self.buf = read_exact_at(self.file, position, len)?;
        self.buf_position = position;
        self.cursor = 0;
        Ok(())
    }
}
