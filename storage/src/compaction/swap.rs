//! Swapping cleaned segments in, crash-safely, and the cleaner checkpoint.
//!
//! Kafka's protocol, per segment `X` (`X.log`, `X.index`, `X.timeindex`):
//!
//! 1. write `X.log.cleaned`, `X.index.cleaned`, `X.timeindex.cleaned` and
//!    fsync them (no lock held);
//! 2. rename the two index files to `.swap`, fsync the directory, then
//!    rename `X.log.cleaned` to `X.log.swap` and fsync the directory: from
//!    here on the new files are complete and the swap is committed;
//! 3. under the writer lock, check that `X` still exists (retention may
//!    have deleted it), rename each `.swap` over its original (indexes
//!    first, then the log), and swap the in-memory segment.
//!
//! At open, [`finish_interrupted_swaps`] resolves what a crash left: a
//! `.swap` file is rolled back (deleted) when `X.log.cleaned` still exists
//! (step 2 not finished) or `X.log` does not (the segment was deleted), and
//! renamed over its original otherwise; then every `.cleaned` file goes.
//! The fsync between the index and log renames of step 2 is what makes
//! "no `X.log.cleaned`" imply "both index `.swap` files are in place".

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, StorageError};
use crate::index::{read_offset_file, write_offset_file};
use crate::log::Log;
use crate::segment::Segment;

use super::{CompactionOutcome, SegmentView};

const CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
const CLEANED: &str = ".cleaned";
const SWAP: &str = ".swap";

/// The first dirty offset: everything below it was cleaned by a finished
/// pass. Its presence also marks a log whose segments may have offset gaps.
pub(crate) fn read_checkpoint(dir: &Path) -> Result<Option<i64>, StorageError> {
    read_offset_file(dir, CHECKPOINT_FILE)
}

pub(super) fn write_checkpoint(dir: &Path, offset: i64) -> Result<(), StorageError> {
    write_offset_file(dir, CHECKPOINT_FILE, offset)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_exists(path: &Path) -> Result<(), StorageError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).ctx(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn rename(from: &Path, to: &Path) -> Result<(), StorageError> {
    fs::rename(from, to).ctx(|| format!("renaming {} to {}", from.display(), to.display()))
}

/// The final names of one segment's files and of their `.cleaned` versions.
pub(super) struct CleanedPaths {
    /// `X.log`, `X.index`, `X.timeindex`.
    finals: [PathBuf; 3],
    pub(super) log: PathBuf,
}

impl CleanedPaths {
    pub(super) fn new(log_path: &Path) -> CleanedPaths {
        CleanedPaths {
            finals: [
                log_path.to_path_buf(),
                log_path.with_extension("index"),
                log_path.with_extension("timeindex"),
            ],
            log: with_suffix(log_path, CLEANED),
        }
    }

    fn cleaned(&self, i: usize) -> PathBuf {
        with_suffix(&self.finals[i], CLEANED)
    }

    fn swap(&self, i: usize) -> PathBuf {
        with_suffix(&self.finals[i], SWAP)
    }

    /// A fresh `X.log.cleaned` (a leftover of a failed pass is discarded).
    pub(super) fn create_log(&self) -> Result<File, StorageError> {
        remove_if_exists(&self.log)?;
        Segment::open_file(&self.log).ctx(|| format!("creating {}", self.log.display()))
    }

    pub(super) fn remove_all(&self) -> Result<(), StorageError> {
        for i in 0..3 {
            remove_if_exists(&self.cleaned(i))?;
            remove_if_exists(&self.swap(i))?;
        }
        Ok(())
    }

    /// Step 1: makes the cleaned log and its index files durable.
    pub(super) fn persist(&self, segment: &Segment) -> Result<(), StorageError> {
        segment
            .file
            .sync_all()
            .ctx(|| format!("fsyncing {}", self.log.display()))?;
        segment
            .index
            .write_files(&self.cleaned(1), &self.cleaned(2))
            .ctx(|| format!("writing index files of {}", self.log.display()))
    }
}

/// A cleaned segment, written and fsynced, waiting to be swapped in.
pub(super) struct Cleaned {
    /// Sealed and persisted, over the cleaned file, named with its final path.
    pub(super) segment: Segment,
    pub(super) paths: CleanedPaths,
    pub(super) removed: u64,
}

impl Log {
    /// Steps 2 and 3 for every cleaned segment of a pass; counts what was
    /// swapped in (not what retention deleted meanwhile).
    pub(super) fn swap_in(
        &self,
        cleaned: Vec<(SegmentView, Cleaned)>,
    ) -> Result<CompactionOutcome, StorageError> {
        let mut outcome = CompactionOutcome::default();
        if cleaned.is_empty() {
            return Ok(outcome);
        }
        let dir = &self.inner.dir;
        for (_, c) in &cleaned {
            rename(&c.paths.cleaned(1), &c.paths.swap(1))?;
            rename(&c.paths.cleaned(2), &c.paths.swap(2))?;
        }
        sync_dir(dir).ctx(|| format!("fsyncing directory {}", dir.display()))?;
        for (_, c) in &cleaned {
            rename(&c.paths.cleaned(0), &c.paths.swap(0))?;
        }
        sync_dir(dir).ctx(|| format!("fsyncing directory {}", dir.display()))?;

        let writer = self.inner.writer.lock();
        let mut current = Vec::with_capacity(cleaned.len());
        {
            let st = self.inner.state.lock();
            st.check_usable()?;
            for (view, c) in cleaned {
                let same = st
                    .segments
                    .get(&view.base_offset)
                    .is_some_and(|s| std::sync::Arc::ptr_eq(&s.file, &view.file));
                if same {
                    outcome.cleaned_segments += 1;
                    outcome.bytes_before += view.limit;
                    outcome.bytes_after += c.segment.size;
                    outcome.records_removed += c.removed;
                    current.push(c);
                } else {
                    // Deleted by retention meanwhile: nothing to replace.
                    c.paths.remove_all()?;
                }
            }
        }
        for c in &current {
            for i in [1, 2, 0] {
                rename(&c.paths.swap(i), &c.paths.finals[i])?;
            }
        }
        {
            let mut st = self.inner.state.lock();
            for mut c in current {
                let base = c.segment.base_offset;
                // Aborts stay known: their records may remain in other
                // segments, and the `.txnindex` file is not rewritten.
                if let Some(old) = st.segments.get(&base) {
                    c.segment.aborted = old.aborted.clone();
                }
                if st.hw_position.segment == base {
                    // The high watermark sits at this segment's end.
                    st.hw_position.position = c.segment.size;
                }
                st.segments.insert(base, c.segment);
            }
        }
        drop(writer);
        sync_dir(dir).ctx(|| format!("fsyncing directory {}", dir.display()))?;
        Ok(outcome)
    }
}

/// Completes or rolls back swaps a crash interrupted (see the module doc).
/// Called at open, before the segments are listed.
pub(crate) fn finish_interrupted_swaps(dir: &Path) -> Result<(), StorageError> {
    let mut swaps = Vec::new();
    let mut cleaned = Vec::new();
    for entry in fs::read_dir(dir).ctx(|| format!("listing {}", dir.display()))? {
        let entry = entry.ctx(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(SWAP) {
            swaps.push((entry.path(), dir.join(stem)));
        } else if name.ends_with(CLEANED) {
            cleaned.push(entry.path());
        }
    }
    if swaps.is_empty() && cleaned.is_empty() {
        return Ok(());
    }
    for (swap, original) in swaps {
        let log = original.with_extension("log");
        let unfinished = with_suffix(&log, CLEANED).exists();
        if unfinished || !log.exists() {
            tracing::warn!(file = %swap.display(), "rolling back an interrupted segment swap");
            remove_if_exists(&swap)?;
        } else {
            tracing::warn!(file = %swap.display(), "completing an interrupted segment swap");
            rename(&swap, &original)?;
        }
    }
    for path in cleaned {
        remove_if_exists(&path)?;
    }
    sync_dir(dir).ctx(|| format!("fsyncing directory {}", dir.display()))
}
