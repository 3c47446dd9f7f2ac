//! `file.delete.delay.ms`: segment files retention has removed from the log
//! are renamed to `*.deleted` and unlinked only once the delay has passed,
//! as Kafka does, so an operator (or a reader that opened the file by name)
//! has that long before the bytes are gone. Leftover `*.deleted` files of
//! a previous run are removed when the log is opened (`recovery.rs`).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{IoContext, StorageError};
use crate::segment::{remove_if_exists, remove_segment_files};

/// The suffix of a retired file.
pub(crate) const SUFFIX: &str = ".deleted";

/// A retired segment's renamed files and when they are unlinked.
#[derive(Debug)]
pub(crate) struct Retired {
    files: Vec<PathBuf>,
    due_ms: i64,
}

/// Wall-clock milliseconds: the delay is real time, whatever clock the
/// caller of `enforce_retention` passes for retention.
pub(crate) fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn retired_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(SUFFIX);
    PathBuf::from(name)
}

/// Removes a segment's files at once when `delay_ms` is 0; otherwise renames
/// them to `*.deleted` and returns them for `unlink_due`.
pub(crate) fn retire(log_path: &Path, delay_ms: u64) -> Result<Option<Retired>, StorageError> {
    if delay_ms == 0 {
        remove_segment_files(log_path)?;
        return Ok(None);
    }
    let mut files = Vec::new();
    for path in [
        log_path.to_path_buf(),
        log_path.with_extension("index"),
        log_path.with_extension("timeindex"),
        log_path.with_extension("txnindex"),
    ] {
        let to = retired_path(&path);
        match fs::rename(&path, &to) {
            Ok(()) => files.push(to),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).ctx(|| format!("renaming {} to {}", path.display(), to.display()))
            }
        }
    }
    Ok(Some(Retired {
        files,
        due_ms: wall_ms().saturating_add(delay_ms as i64),
    }))
}

/// Unlinks the retired files whose delay has passed at `now_ms`.
pub(crate) fn unlink_due(retired: &mut Vec<Retired>, now_ms: i64) -> Result<(), StorageError> {
    let (due, waiting): (Vec<_>, Vec<_>) = retired.drain(..).partition(|r| r.due_ms <= now_ms);
    *retired = waiting;
    for r in due {
        for file in &r.files {
            remove_if_exists(file)?;
        }
    }
    Ok(())
}

/// Whether a file name in a log directory is a retired segment file.
pub(crate) fn is_retired_file(name: &str) -> bool {
    name.ends_with(SUFFIX)
}
