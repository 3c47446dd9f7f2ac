//! Group-commit fsync and the high watermark.
//!
//! Appends write to the page cache and return; durability is a separate
//! step. At most one sync job runs at a time. A job snapshots the log end
//! offset and the files that hold data below it, fsyncs them off the lock
//! (`spawn_blocking`), then moves the durable offset, and under
//! `FlushPolicy::Always` the high watermark, to that snapshot. Appends that
//! land while it runs are picked up by the next job, which the finishing job
//! starts itself, so one fsync covers every append that queued behind the
//! previous one and the high watermark advances even when nobody waits.
//!
//! Sealed segments are fsynced by the first job after their roll, and only
//! then get their index files: a valid index file on disk implies the
//! segment's data was durable (recovery relies on this).
//!
//! A failed fsync takes the log offline (`StorageError::SyncFailed`): after
//! such a failure the kernel may have dropped the dirty pages, so retrying
//! would report durability that does not exist.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::FlushPolicy;
use crate::error::{IoContext, StorageError};
use crate::log::{notify_hw, Inner, Log, PendingSeal, State};
use crate::page_cache::{self, CacheDrop};

/// One fsync round: what it covers and what it must touch.
pub(crate) struct SyncJob {
    target: i64,
    files: Vec<Arc<File>>,
    sealed: Vec<PendingSeal>,
    sync_dir: bool,
    /// Durable once the job's fsyncs are done: dropped from the page cache then.
    cache_drops: Vec<CacheDrop>,
}

impl State {
    /// Whether data or metadata is waiting for an fsync.
    fn needs_sync(&self) -> bool {
        self.durable < self.log_end || !self.sync.unsynced_sealed.is_empty() || self.sync.dir_dirty
    }

    /// Takes what the next sync must cover. The caller runs the job and then
    /// calls `finish_sync`.
    fn take_sync_job(&mut self) -> SyncJob {
        let sealed = std::mem::take(&mut self.sync.unsynced_sealed);
        let mut files: Vec<Arc<File>> = sealed.iter().map(|p| p.file.clone()).collect();
        files.push(self.active().file.clone());
        let sync_dir = std::mem::take(&mut self.sync.dir_dirty) || !sealed.is_empty();
        let cache_drops = self.cache_drops(&sealed);
        SyncJob {
            target: self.log_end,
            files,
            sealed,
            sync_dir,
            cache_drops,
        }
    }

    /// The ranges of the segments a job syncs that fall behind the page
    /// cache window, marked as dropped.
    fn cache_drops(&mut self, sealed: &[PendingSeal]) -> Vec<CacheDrop> {
        let Some(window) = self.config.page_cache_window else {
            return Vec::new();
        };
        let active = self.active().base_offset;
        let bases = sealed.iter().map(|p| p.base_offset).chain([active]);
        let mut drops = Vec::new();
        for base in bases {
            let Some(segment) = self.segments.get_mut(&base) else {
                continue;
            };
            if let Some((from, to)) =
                page_cache::range_to_drop(segment.size, segment.cache_dropped_to, window)
            {
                segment.cache_dropped_to = to;
                drops.push(CacheDrop {
                    file: segment.file.clone(),
                    from,
                    to,
                });
            }
        }
        drops
    }
}

fn run_sync(dir: &Path, job: &SyncJob, delay_ms: u64) -> io::Result<()> {
    if delay_ms > 0 {
        std::thread::sleep(Duration::from_millis(delay_ms));
    }
    let started = Instant::now();
    for file in &job.files {
        file.sync_data()?;
    }
    let mut fsyncing = started.elapsed();
    for seal in &job.sealed {
        let path = &seal.path;
        seal.index.write_files(
            &path.with_extension("index"),
            &path.with_extension("timeindex"),
        )?;
        crate::txn_index::write(path, &seal.aborted)?;
    }
    if job.sync_dir {
        let started = Instant::now();
        File::open(dir)?.sync_all()?;
        fsyncing += started.elapsed();
    }
    crate::metrics::observe_fsync(fsyncing);
    for range in &job.cache_drops {
        page_cache::drop_cached(range);
    }
    Ok(())
}

/// Records a finished job; returns whether the high watermark moved.
fn finish_sync(inner: &Inner, job: &SyncJob, result: io::Result<()>, was_background: bool) {
    let moved = {
        let mut st = inner.state.lock();
        if was_background {
            st.sync.running = false;
        }
        st.sync.last_sync = Instant::now();
        inner.sync_rounds.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(()) => {
                st.durable = st.durable.max(job.target);
                for seal in &job.sealed {
                    if let Some(segment) = st.segments.get_mut(&seal.base_offset) {
                        segment.persisted = true;
                    }
                }
                match st.config.flush {
                    FlushPolicy::Always => st.advance_hw(job.target),
                    FlushPolicy::Interval(_) => false,
                }
            }
            Err(_) if st.closed => false, // deleted under a running job
            Err(e) => {
                tracing::error!(dir = %inner.dir.display(), error = %e, "fsync failed; log is offline");
                st.sync.failed = Some(Arc::new(e));
                true // wake waiters so they see the failure
            }
        }
    };
    if moved {
        notify_hw(inner);
    }
}

/// Starts a background sync job if none runs and there is something to sync.
/// Returns false when there is no tokio runtime to run it on.
pub(crate) fn start_background_sync(inner: &Arc<Inner>) -> bool {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return false;
    };
    {
        let mut st = inner.state.lock();
        if st.sync.running || st.sync.failed.is_some() || !st.needs_sync() {
            return true;
        }
        st.sync.running = true;
    }
    let inner = inner.clone();
    handle.spawn_blocking(move || {
        {
            // The job is taken under `sync_job`, after any `sync_now` in
            // flight has finished: jobs run one after another, in order.
            let _running = inner.sync_job.lock();
            let job = {
                let mut st = inner.state.lock();
                if st.sync.failed.is_some() || !st.needs_sync() {
                    st.sync.running = false;
                    return;
                }
                st.take_sync_job()
            };
            let delay = inner.sync_delay_ms.load(Ordering::Relaxed);
            let result = run_sync(&inner.dir, &job, delay);
            finish_sync(&inner, &job, result, true);
        }
        // Chain: appends that queued behind this job get the next one.
        let again = {
            let st = inner.state.lock();
            matches!(st.config.flush, FlushPolicy::Always) && st.needs_sync() && !st.closed
        };
        if again {
            start_background_sync(&inner);
        }
    });
    true
}

impl Log {
    /// Completes when every offset below `end_offset` is durable.
    ///
    /// With `FlushPolicy::Always` this joins the running group-commit fsync
    /// or starts one; the high watermark advances to what each fsync covered.
    /// With `FlushPolicy::Interval` the data is acknowledged without an fsync
    /// (that is the policy's trade), so this returns at once.
    pub async fn wait_durable(&self, end_offset: i64) -> Result<(), StorageError> {
        let mut rx = self.inner.hw_tx.subscribe();
        loop {
            {
                let st = self.inner.state.lock();
                if let Some(e) = &st.sync.failed {
                    return Err(StorageError::SyncFailed(e.clone()));
                }
                if st.durable >= end_offset {
                    return Ok(());
                }
                if end_offset > st.log_end {
                    return Err(st.out_of_range(end_offset));
                }
                if matches!(st.config.flush, FlushPolicy::Interval(_)) {
                    return Ok(());
                }
                if st.closed {
                    return Err(StorageError::Closed);
                }
            }
            start_background_sync(&self.inner);
            if rx.changed().await.is_err() {
                return Err(StorageError::Closed);
            }
        }
    }

    /// Fsyncs everything appended so far, blocking the calling thread (use
    /// `spawn_blocking` from async code). Under `FlushPolicy::Always` the
    /// high watermark advances to the log end offset.
    pub fn flush(&self) -> Result<(), StorageError> {
        self.sync_now()
    }

    /// Fsyncs everything appended so far on the calling thread (close, and
    /// interval flushes outside a runtime). Waits for a background job in
    /// flight first: finishing beside it would move the high watermark over
    /// data that job has not fsynced yet, and leave the segments it seals
    /// without their index files when this returns.
    pub(crate) fn sync_now(&self) -> Result<(), StorageError> {
        let _running = self.inner.sync_job.lock();
        let job = {
            let mut st = self.inner.state.lock();
            st.check_usable()?;
            if !st.needs_sync() {
                return Ok(());
            }
            st.take_sync_job()
        };
        let result = run_sync(&self.inner.dir, &job, 0);
        let error = result
            .as_ref()
            .err()
            .map(|e| io::Error::new(e.kind(), e.to_string()));
        finish_sync(&self.inner, &job, result, false);
        match error {
            Some(e) => Err(e).ctx(|| format!("fsyncing log {}", self.inner.dir.display())),
            None => Ok(()),
        }
    }

    /// Under `FlushPolicy::Interval`, starts a flush when the interval has
    /// passed. `inline` runs it on this thread when there is no runtime.
    pub(crate) fn maybe_interval_flush(&self, inline: bool) -> Result<(), StorageError> {
        let due = {
            let st = self.inner.state.lock();
            match st.config.flush {
                FlushPolicy::Interval(every) => {
                    !st.sync.running && st.needs_sync() && st.sync.last_sync.elapsed() >= every
                }
                FlushPolicy::Always => false,
            }
        };
        if due && !start_background_sync(&self.inner) && inline {
            self.sync_now()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;
    use crate::{FlushPolicy, LogConfig};

    fn always() -> LogConfig {
        LogConfig {
            flush: FlushPolicy::Always,
            ..fast_config()
        }
    }

    #[test]
    fn hw_moves_only_after_wait_durable_under_always() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), always());
        // No runtime here, so append cannot start a background fsync.
        let info = log.append(bytes(batch(3, 1, 10)), 0, None).unwrap();
        assert_eq!(log.log_end_offset(), 3);
        assert_eq!(log.high_watermark(), 0);
        assert!(log.read(0, 1000, false).unwrap().is_empty());
        assert!(log.read(1, 1000, false).is_err());

        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut rx = log.subscribe();
        rt.block_on(log.wait_durable(info.last_offset + 1)).unwrap();
        assert_eq!(log.high_watermark(), 3);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 3);
        assert_eq!(offsets(&log.read(0, 1000, false).unwrap()), vec![(0, 2)]);
        // Waiting past the log end is a caller error.
        assert!(rt.block_on(log.wait_durable(10)).is_err());
    }

    #[test]
    fn syncs_drop_what_lies_behind_the_page_cache_window_and_reads_still_see_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(
            dir.path(),
            LogConfig {
                page_cache_window: Some(1000),
                segment_bytes: 4000,
                ..always()
            },
        );
        let cache_dropped = |log: &crate::Log| {
            let st = log.inner.state.lock();
            st.segments
                .values()
                .map(|s| (s.base_offset, s.size, s.cache_dropped_to))
                .collect::<Vec<_>>()
        };
        append_n(&log, 12, 1, 0, 139); // 200-byte batches
        log.flush().unwrap();
        // 20 batches fit a 4000-byte segment; all in one segment so far.
        assert_eq!(cache_dropped(&log), vec![(0, 2400, 1400)]);
        append_n(&log, 12, 1, 0, 139);
        log.flush().unwrap();
        // The sealed segment is dropped up to its last 1000 bytes, the new one
        // is still within its window.
        assert_eq!(cache_dropped(&log), vec![(0, 4000, 3000), (20, 800, 0)]);
        let all = log.read(0, 1 << 20, false).unwrap();
        assert_eq!(offsets(&all), (0..20).map(|o| (o, o)).collect::<Vec<_>>());

        let keep_all = open(
            &dir.path().join("other"),
            LogConfig {
                page_cache_window: None,
                ..always()
            },
        );
        append_n(&keep_all, 12, 1, 0, 139);
        keep_all.flush().unwrap();
        assert_eq!(cache_dropped(&keep_all), vec![(0, 2400, 0)]);
    }

    #[test]
    fn hw_moves_at_once_under_interval() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), fast_config());
        let mut rx = log.subscribe();
        log.append(bytes(batch(2, 1, 10)), 0, None).unwrap();
        assert_eq!(log.high_watermark(), 2);
        assert_eq!(*rx.borrow_and_update(), 2);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(log.wait_durable(2)).unwrap();
        assert_eq!(
            log.sync_rounds(),
            0,
            "interval policy does not fsync per append"
        );
    }

    #[test]
    fn switching_to_interval_releases_the_hw() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), always());
        log.append(bytes(batch(2, 1, 10)), 0, None).unwrap();
        assert_eq!(log.high_watermark(), 0);
        log.set_config(fast_config());
        assert_eq!(log.high_watermark(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unsynced_append_waits_for_the_next_appends_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), always());
        log.append_unsynced(bytes(batch(2, 1, 10)), 0, None)
            .unwrap();
        // Inside a runtime, an append would have started its fsync by now.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(log.sync_rounds(), 0, "no fsync of its own");
        assert_eq!(log.high_watermark(), 0);
        let next = log.append(bytes(batch(1, 2, 10)), 0, None).unwrap();
        log.wait_durable(next.last_offset + 1).await.unwrap();
        assert_eq!(log.high_watermark(), 3);
        assert_eq!(log.sync_rounds(), 1, "one fsync covered both appends");
        // Alone, it is made durable by whoever waits for it.
        let alone = log
            .append_unsynced(bytes(batch(1, 3, 10)), 0, None)
            .unwrap();
        log.wait_durable(alone.last_offset + 1).await.unwrap();
        assert_eq!(log.high_watermark(), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_waiters_share_fsyncs() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), always());
        log.set_sync_delay_ms(20);
        let appends = 64;
        let tasks: Vec<_> = (0..appends)
            .map(|i| {
                let log = log.clone();
                tokio::spawn(async move {
                    let info = log.append(bytes(batch(1, i, 10)), 0, None).unwrap();
                    log.wait_durable(info.last_offset + 1).await.unwrap();
                    assert!(log.high_watermark() > info.last_offset);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(log.high_watermark(), appends);
        let rounds = log.sync_rounds();
        assert!(
            rounds < appends as u64 / 4,
            "{rounds} fsyncs for {appends} appends"
        );
    }

    /// `flush` while a background job is fsyncing segments it sealed: the
    /// flush waits for that job, so when it returns every sealed segment is
    /// durable and indexed (listed by `sealed_segments`), not only the ones
    /// the flush's own job covered. The tier relies on this.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flush_waits_for_the_background_job_in_flight() {
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let log = open(
            dir.path(),
            LogConfig {
                segment_bytes: 200,
                ..always()
            },
        );
        log.set_sync_delay_ms(300);
        // Appends from a thread outside the runtime start no job...
        let append = |range: std::ops::Range<i64>| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in range {
                    log.append(bytes(batch(1, i, 100)), 0, None).unwrap();
                }
            })
            .join()
            .unwrap();
        };
        append(0..10);
        // ...so this waiter's job takes the first ten, and the segments they
        // sealed, and sleeps in its fsync while ten more arrive.
        let waiter = log.clone();
        let waiting = tokio::spawn(async move { waiter.wait_durable(10).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        append(10..20);
        let flusher = log.clone();
        tokio::task::spawn_blocking(move || flusher.flush().unwrap())
            .await
            .unwrap();
        assert_eq!(log.high_watermark(), 20);
        let sealed = log.sealed_segments();
        let mut files: Vec<_> = std::fs::read_dir(log.dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        files.sort();
        files.pop(); // the active segment
        assert!(files.len() > 2, "the test rolls segments");
        let sealed_paths: Vec<_> = sealed.iter().map(|s| s.path.clone()).collect();
        assert_eq!(sealed_paths, files, "every segment below the active one");
        for segment in &sealed {
            assert!(segment.path.with_extension("index").exists());
            assert!(segment.path.with_extension("timeindex").exists());
        }
        waiting.await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hw_advances_without_waiters_under_always() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), always());
        let mut rx = log.subscribe();
        log.append(bytes(batch(4, 1, 10)), 0, None).unwrap();
        let hw = *rx.wait_for(|hw| *hw == 4).await.unwrap();
        assert_eq!(hw, 4);
    }

    #[test]
    fn close_syncs_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), always());
        log.append(bytes(batch(2, 1, 10)), 0, None).unwrap();
        log.close().unwrap();
        assert_eq!(log.high_watermark(), 2);
        log.close().unwrap();
        assert!(matches!(
            log.append(bytes(batch(1, 1, 10)), 0, None),
            Err(crate::StorageError::Closed)
        ));
    }
}
