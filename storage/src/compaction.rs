//! Log compaction (`cleanup.policy=compact`): Kafka's log cleaner, one log
//! at a time, run by the broker from a blocking thread.
//!
//! What is cleaned: the cleanable range runs from the log start to the end
//! of the last sealed segment that is persisted (fsynced, indexed), wholly
//! below the high watermark and, with `min_compaction_lag_ms`, whose newest
//! batch is at least that old; it stops at the first segment that is not
//! (never the active one). The cleaner checkpoint (`cleaner-offset-checkpoint`,
//! the first dirty offset) splits it into a clean head, cleaned by an
//! earlier pass, and a dirty tail. A pass runs only when dirty bytes are at
//! least `min_cleanable_dirty_ratio` of the cleanable bytes.
//!
//! How: an offset map (key -> latest offset) is built over everything from
//! the first dirty offset up to the high watermark, the active segment
//! included, so a record superseded anywhere below the high watermark can
//! go. Each cleanable segment is then filtered: a keyed record stays only
//! if no later record has its key; a tombstone also goes once it sits in
//! the clean head (it survived a pass) and its batch is older than
//! `delete_retention_ms`. Records without a key (which the broker refuses
//! for compacted topics) stay. Batches whose every record is kept are
//! copied byte for byte; others are re-encoded with their codec
//! (`strata_wire::records`), and batches left with no record are dropped.
//! Offsets never change, so a cleaned segment has gaps; reads skip them.
//!
//! Transactions, as Kafka's cleaner treats them: the cleanable range never
//! passes the last stable offset, so every transactional batch in it is
//! decided. A batch of an aborted transaction (the log's aborted-transaction
//! index names it) is dropped whole and supersedes nothing; records of
//! committed transactions are compacted like any others, superseding and
//! superseded by key. In the offset map, transactional records count only
//! below the last stable offset and when not aborted. A COMMIT or ABORT
//! marker goes once no batch of its transaction is left, its delete horizon
//! (set by an earlier pass) has passed and no producer snapshot lies at or
//! below it (`markers.rs` says why each condition is needed). The
//! aborted-transaction index of a cleaned segment is kept as it was, so
//! read_committed readers still learn of every abort whose records remain
//! elsewhere.
//!
//! Immutability: a segment is never modified in place. A cleaned segment is
//! a new immutable file, written beside the old one and swapped in under
//! the same name (see `swap.rs` for the crash-safe protocol). Whoever keeps
//! copies of sealed segments (tiering) must treat a changed size or max
//! timestamp under the same base offset as a new segment. Segments that a
//! pass would not change are not rewritten.
//!
//! Concurrency: the log's locks are held only to snapshot the segment list
//! and to swap cleaned segments in; appends and reads run meanwhile, and a
//! reader holding an old segment's file keeps reading the old bytes.

#[cfg(test)]
mod marker_tests;
mod markers;
mod max_lag;
mod swap;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use strata_wire::batch::BatchHeader;
use strata_wire::records::{self, Filtered, RecordSummary, RecordsError};

pub(crate) use swap::{finish_interrupted_swaps, read_checkpoint};

use crate::config::LogConfig;
use crate::error::{IoContext, StorageError};
use crate::log::Log;
use crate::producer_state::AbortedTxn;
use crate::scan::{ScanError, Scanner, SCAN_CHUNK};
use crate::segment::{BatchLocation, Segment};
use markers::{MarkerFate, MarkerRemoval};

/// What one `Log::compact` call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompactionOutcome {
    /// Segments rewritten and swapped in.
    pub cleaned_segments: usize,
    /// Size of those segments before and after cleaning.
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub records_removed: u64,
}

/// A segment as the cleaner sees it, detached from the lock.
#[derive(Clone)]
struct SegmentView {
    base_offset: i64,
    next_offset: i64,
    file: Arc<File>,
    path: PathBuf,
    /// Bytes a reader may see: up to the high watermark.
    limit: u64,
}

impl SegmentView {
    fn corrupt(&self, position: u64, source: RecordsError) -> StorageError {
        StorageError::CorruptRecords {
            path: self.path.clone(),
            position,
            source,
        }
    }

    /// Calls `f` with each batch below the read limit and its position.
    fn for_each_batch(
        &self,
        mut f: impl FnMut(u64, Bytes) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut scanner = Scanner::new(&self.file, 0, self.limit, SCAN_CHUNK);
        loop {
            match scanner.next_batch() {
                Ok(Some((position, bytes))) => f(position, bytes)?,
                Ok(None) => return Ok(()),
                Err(ScanError::Io(e)) => {
                    return Err(e).ctx(|| format!("reading {}", self.path.display()))
                }
                Err(ScanError::Invalid { position, error }) => {
                    return Err(StorageError::Corrupt {
                        path: self.path.clone(),
                        position,
                        source: error,
                    })
                }
            }
        }
    }
}

/// What a pass works on, taken under the lock.
struct Plan {
    config: LogConfig,
    /// Offsets below this were cleaned by an earlier pass.
    first_dirty: i64,
    /// Whether `cleaner-offset-checkpoint` exists yet.
    has_checkpoint: bool,
    /// Segments to filter, oldest first.
    cleanable: Vec<SegmentView>,
    /// Segments from the first dirty one on, the active one included: the
    /// offset map is built over them.
    dirty_and_later: Vec<SegmentView>,
    /// The last stable offset when the pass began: transactional batches
    /// from it on may still be aborted.
    last_stable_offset: i64,
    /// Every aborted transaction the log knows.
    aborted: AbortedIndex,
}

/// The log's aborted transactions by producer, to tell whether a
/// transactional batch belongs to one.
#[derive(Default)]
struct AbortedIndex(HashMap<i64, Vec<(i64, i64)>>);

impl AbortedIndex {
    fn new<'a>(aborted: impl Iterator<Item = &'a AbortedTxn>) -> Self {
        let mut index = AbortedIndex::default();
        for txn in aborted {
            index
                .0
                .entry(txn.producer_id)
                .or_default()
                .push((txn.first_offset, txn.last_offset));
        }
        index
    }

    /// Whether the transactional batch starting at `base_offset` belongs to
    /// an aborted transaction of `producer_id`: one that began at or before
    /// it and whose ABORT marker comes after it.
    fn holds(&self, producer_id: i64, base_offset: i64) -> bool {
        self.0.get(&producer_id).is_some_and(|txns| {
            txns.iter()
                .any(|&(first, marker)| first <= base_offset && base_offset < marker)
        })
    }
}

/// What the cleaner does with a batch's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BatchFate {
    /// A control batch (COMMIT or ABORT marker): `markers.rs` decides.
    Marker,
    /// A batch of an aborted transaction: dropped whole.
    Drop,
    /// Plain or committed transactional records: filtered by key.
    Compact,
}

impl Plan {
    /// The fate of a batch in the cleanable range (below the last stable
    /// offset, so every transaction in it is decided).
    fn fate(&self, header: &BatchHeader<'_>) -> BatchFate {
        if header.is_control() {
            BatchFate::Marker
        } else if header.is_transactional()
            && self
                .aborted
                .holds(header.producer_id(), header.base_offset())
        {
            BatchFate::Drop
        } else {
            BatchFate::Compact
        }
    }

    /// Whether a batch's records may supersede earlier ones: plain records,
    /// and records of transactions known to be committed.
    fn supersedes(&self, header: &BatchHeader<'_>) -> bool {
        if header.is_control() {
            return false;
        }
        !header.is_transactional()
            || (header.last_offset() < self.last_stable_offset
                && !self
                    .aborted
                    .holds(header.producer_id(), header.base_offset()))
    }
}

/// key -> offset of its latest record, over the dirty part of the log.
type OffsetMap = HashMap<Bytes, i64>;

impl Log {
    /// Cleans the log if it is compacted and dirty enough (see the module
    /// documentation). Blocks on file I/O: call it from a blocking thread.
    /// Concurrent calls on one log run one after the other.
    pub fn compact(&self, now_ms: i64) -> Result<CompactionOutcome, StorageError> {
        let _cleaner = self.inner.cleaner.lock();
        let Some(plan) = self.plan(now_ms)? else {
            return Ok(CompactionOutcome::default());
        };
        let map = build_offset_map(&plan)?;
        let horizon = now_ms.saturating_sub(plan.config.delete_retention_ms as i64);
        let snapshots = crate::producer_snapshot::list(&self.inner.dir)
            .ctx(|| format!("listing snapshots in {}", self.inner.dir.display()))?;
        let mut markers =
            MarkerRemoval::new(now_ms, plan.config.delete_retention_ms as i64, &snapshots);
        let mut cleaned = Vec::new();
        for view in &plan.cleanable {
            let keep = |header: &BatchHeader<'_>, r: &RecordSummary| {
                let Some(key) = &r.key else { return true };
                if map.get(&key[..]).is_some_and(|&latest| latest > r.offset) {
                    return false;
                }
                !(r.is_tombstone && r.offset < plan.first_dirty && header.max_timestamp() < horizon)
            };
            let segment = match self.clean_segment(view, &plan, &mut markers, keep) {
                Ok(segment) => segment,
                Err(e) => {
                    // The originals are untouched; leave no `.cleaned` files.
                    let current = swap::CleanedPaths::new(&view.path);
                    let written = cleaned.iter().map(|(_, c): &(_, swap::Cleaned)| &c.paths);
                    for paths in written.chain([&current]) {
                        if let Err(cleanup) = paths.remove_all() {
                            tracing::warn!(error = %cleanup, "removing files of a failed compaction");
                        }
                    }
                    return Err(e);
                }
            };
            if let Some(segment) = segment {
                cleaned.push((view.clone(), segment));
            }
        }
        let end = plan
            .cleanable
            .last()
            .map_or(plan.first_dirty, |v| v.next_offset);
        if !plan.has_checkpoint && !cleaned.is_empty() {
            // Written before any swap: at open, its presence is what allows
            // offset gaps in a segment that must be rebuilt by a scan.
            swap::write_checkpoint(&self.inner.dir, plan.first_dirty)?;
        }
        let outcome = self.swap_in(cleaned)?;
        swap::write_checkpoint(&self.inner.dir, end)?;
        if outcome.cleaned_segments > 0 {
            tracing::info!(
                dir = %self.inner.dir.display(),
                segments = outcome.cleaned_segments,
                bytes_before = outcome.bytes_before,
                bytes_after = outcome.bytes_after,
                records_removed = outcome.records_removed,
                "compacted log"
            );
        }
        Ok(outcome)
    }

    /// Snapshots the segments and decides whether a pass is due.
    fn plan(&self, now_ms: i64) -> Result<Option<Plan>, StorageError> {
        let checkpoint = read_checkpoint(&self.inner.dir)?;
        let st = self.inner.state.lock();
        st.check_usable()?;
        let config = st.config.clone();
        if !config.compact {
            return Ok(None);
        }
        // A checkpoint past the log end belongs to data recovery cut off.
        let first_dirty = match checkpoint {
            Some(c) if c <= st.log_end => c.max(st.log_start),
            _ => st.log_start,
        };
        let lag = config.min_compaction_lag_ms as i64;
        let active_base = st.active().base_offset;
        // Kafka's rule: nothing at or past the first open transaction is
        // cleaned, so every transaction in the cleanable range is decided.
        let last_stable_offset = st
            .producers
            .first_unstable_offset()
            .map_or(st.high_watermark, |first| first.min(st.high_watermark));
        let view = |s: &Segment| SegmentView {
            base_offset: s.base_offset,
            next_offset: s.next_offset,
            file: s.file.clone(),
            path: s.path.clone(),
            limit: st.read_limit(s),
        };
        let cleanable: Vec<SegmentView> = st
            .segments
            .values()
            .take_while(|s| {
                s.base_offset != active_base
                    && s.persisted
                    && s.next_offset <= last_stable_offset
                    && (lag == 0 || s.max_timestamp <= now_ms.saturating_sub(lag))
            })
            .map(view)
            .collect();
        let total: u64 = cleanable.iter().map(|v| v.limit).sum();
        let dirty: u64 = cleanable
            .iter()
            .filter(|v| v.next_offset > first_dirty)
            .map(|v| v.limit)
            .sum();
        let dirty_segments = cleanable.iter().any(|v| v.next_offset > first_dirty);
        let overdue = max_lag::overdue(
            st.segments.values().take(cleanable.len()),
            first_dirty,
            config.max_compaction_lag_ms,
            now_ms,
        );
        let below_ratio = (dirty as f64) < config.min_cleanable_dirty_ratio * total as f64;
        if !dirty_segments || (below_ratio && !overdue) {
            return Ok(None);
        }
        let dirty_and_later = st
            .segments
            .values()
            .filter(|s| s.next_offset > first_dirty || s.base_offset == active_base)
            .map(view)
            .collect();
        let aborted = AbortedIndex::new(st.segments.values().flat_map(|s| s.aborted.iter()));
        Ok(Some(Plan {
            config,
            first_dirty,
            has_checkpoint: checkpoint.is_some(),
            cleanable,
            dirty_and_later,
            last_stable_offset,
            aborted,
        }))
    }

    /// Filters one segment into its `.cleaned` files. `None` when nothing
    /// would change (the segment then stays as it is).
    fn clean_segment(
        &self,
        view: &SegmentView,
        plan: &Plan,
        markers: &mut MarkerRemoval,
        mut keep: impl FnMut(&BatchHeader<'_>, &RecordSummary) -> bool,
    ) -> Result<Option<swap::Cleaned>, StorageError> {
        let paths = swap::CleanedPaths::new(&view.path);
        let file = paths.create_log()?;
        let mut segment = Segment::empty(view.base_offset, file, view.path.clone());
        let file = segment.file.clone();
        let mut out = BufWriter::new(&*file);
        let (mut removed, mut at, mut marked) = (0u64, 0u64, false);
        view.for_each_batch(|position, bytes| {
            let header = BatchHeader::parse(&bytes).expect("the scanner yields parsed batches");
            let fate = plan.fate(&header);
            if fate != BatchFate::Marker {
                markers.on_data_batch(&header);
            }
            let kept = match fate {
                BatchFate::Marker => match markers.on_marker(&header) {
                    MarkerFate::Keep => Some(bytes.clone()),
                    MarkerFate::MarkHorizon(new) => {
                        marked = true;
                        Some(new)
                    }
                    MarkerFate::Remove => {
                        removed += header.record_count().max(0) as u64;
                        None
                    }
                },
                BatchFate::Drop => {
                    removed += header.record_count().max(0) as u64;
                    None
                }
                BatchFate::Compact => {
                    let (filtered, n) = records::filter_batch(&bytes, |r| keep(&header, r))
                        .map_err(|e| view.corrupt(position, e))?;
                    removed += n as u64;
                    match filtered {
                        Filtered::Unchanged => Some(bytes.clone()),
                        Filtered::Empty => None,
                        Filtered::Rewritten(new) => Some(new),
                    }
                }
            };
            let Some(kept) = kept else { return Ok(()) };
            out.write_all(&kept)
                .ctx(|| format!("writing {}", paths.log.display()))?;
            let new = BatchHeader::parse(&kept).expect("filter_batch returns whole batches");
            let location = BatchLocation {
                position: at,
                len: kept.len(),
            };
            segment.on_batch(
                location,
                new.base_offset(),
                new.last_offset(),
                new.max_timestamp(),
                plan.config.index_interval_bytes,
            );
            at += kept.len() as u64;
            Ok(())
        })?;
        out.flush()
            .ctx(|| format!("writing {}", paths.log.display()))?;
        drop(out);
        if removed == 0 && !marked {
            paths.remove_all()?;
            return Ok(None);
        }
        segment.seal();
        // Offsets keep their segment: the range stays the original one even
        // if its last records were cleaned away.
        segment.next_offset = view.next_offset;
        segment.persisted = true;
        paths.persist(&segment)?;
        Ok(Some(swap::Cleaned {
            segment,
            paths,
            removed,
        }))
    }
}

/// Reads every record that may supersede (see [`Plan::supersedes`]) from
/// the first dirty offset up to the high watermark; later records of a key
/// overwrite earlier ones.
fn build_offset_map(plan: &Plan) -> Result<OffsetMap, StorageError> {
    let mut map = OffsetMap::new();
    for view in &plan.dirty_and_later {
        view.for_each_batch(|position, bytes| {
            let header = BatchHeader::parse(&bytes).expect("the scanner yields parsed batches");
            if !plan.supersedes(&header) || header.last_offset() < plan.first_dirty {
                return Ok(());
            }
            let records = records::decode_records(&bytes).map_err(|e| view.corrupt(position, e))?;
            for r in records {
                let Some(key) = r.key.filter(|_| r.offset >= plan.first_dirty) else {
                    continue;
                };
                match map.get_mut(&key[..]) {
                    Some(latest) => *latest = (*latest).max(r.offset),
                    // Copied: the slice would pin the whole decoded batch.
                    None => {
                        map.insert(Bytes::copy_from_slice(&key), r.offset);
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok(map)
}
