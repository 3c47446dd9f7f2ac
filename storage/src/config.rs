//! Per-log configuration, named after the Kafka topic configs it implements.

use std::time::Duration;

/// When appended bytes become durable, and therefore visible to consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Default: the high watermark is the last fsynced offset; fsyncs are
    /// group-committed, so a consumer never reads what a crash could take back.
    Always,
    /// Trade durability for speed: the high watermark is the log end offset as
    /// soon as an append returns, and the log is fsynced at most every
    /// interval (checked on append and on `enforce_retention`). A crash can
    /// lose up to one interval of acknowledged and already consumed records.
    Interval(Duration),
}

/// Kafka-style topic settings that the log enforces.
///
/// `cleanup.policy` maps to two flags: `delete` sets `retention_deletes`,
/// `compact` sets `compact`; `compact,delete` sets both.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// Roll the active segment when an append would make it larger
    /// (`segment.bytes`, default 1 GiB).
    pub segment_bytes: u64,
    /// Roll when the active segment's first append is older than this
    /// (`segment.ms`, default 7 days); checked in `enforce_retention`.
    pub segment_ms: Option<u64>,
    /// Total size cap (`retention.bytes`); `None` is unlimited (Kafka's -1).
    pub retention_bytes: Option<u64>,
    /// Delete sealed segments whose max timestamp is older (`retention.ms`);
    /// `None` is unlimited.
    pub retention_ms: Option<u64>,
    /// Sparse index density (`index.interval.bytes`).
    pub index_interval_bytes: u64,
    pub flush: FlushPolicy,
    /// `cleanup.policy` includes `compact`: `Log::compact` keeps only the
    /// latest record per key.
    pub compact: bool,
    /// `cleanup.policy` includes `delete`: `enforce_retention` deletes by
    /// `retention_ms` and `retention_bytes`. A compact-only log keeps its
    /// old segments (and still honours DeleteRecords).
    pub retention_deletes: bool,
    /// How long a tombstone outlives the cleaning that first saw it, so
    /// consumers reading from the start still see the delete
    /// (`delete.retention.ms`, default 1 day).
    pub delete_retention_ms: u64,
    /// Clean only when dirty bytes are at least this share of the cleanable
    /// bytes (`min.cleanable.dirty.ratio`, default 0.5).
    pub min_cleanable_dirty_ratio: f64,
    /// Segments with a record newer than this stay uncleaned
    /// (`min.compaction.lag.ms`, default 0).
    pub min_compaction_lag_ms: u64,
    /// `remote.storage.enable`: sealed segments are uploaded by the tier, and
    /// retention (then local retention: the broker passes `local.retention.*`
    /// as `retention_ms`/`retention_bytes`) deletes only segments the tier
    /// reported uploaded (`Log::set_tiered_range`).
    pub remote_storage: bool,
    /// With `remote_storage`, the total retention across both tiers
    /// (`retention.ms`, `retention.bytes`), which the tier applies; the log
    /// itself applies `retention_ms`/`retention_bytes` as local retention.
    pub total_retention_ms: Option<u64>,
    pub total_retention_bytes: Option<u64>,
    /// How many bytes at the end of each segment stay in the OS page cache
    /// once fsynced; what lies further back is dropped from the cache
    /// (`page_cache.rs`). `None` leaves the cache to the kernel, as Kafka does.
    pub page_cache_window: Option<u64>,
    /// `segment.jitter.ms`: a segment rolls by time up to this much before
    /// `segment_ms`, by a per-segment amount (`jitter.rs`), so partitions
    /// created together do not all roll, and their retention does not all
    /// run, in the same moment.
    pub segment_jitter_ms: u64,
    /// `segment.index.bytes`: the active segment rolls when its offset index
    /// (8 bytes an entry) or time index (12 bytes an entry) would outgrow
    /// this, as Kafka's fixed-size index files make it roll.
    pub segment_index_bytes: u64,
    /// `preallocate`: reserve the whole `segment_bytes` of disk blocks when a
    /// segment takes its first write, instead of a window ahead of appends
    /// (`preallocate.rs`).
    pub preallocate: bool,
    /// `max.compaction.lag.ms`: with `compact`, a log whose oldest uncleaned
    /// record is older than this is cleaned whatever its dirty ratio, and its
    /// active segment rolls by this age too; `None` is Kafka's Long.MAX_VALUE.
    pub max_compaction_lag_ms: Option<u64>,
    /// `file.delete.delay.ms`: segments retired by retention are renamed to
    /// `*.deleted` and unlinked this much later (`retired.rs`); 0 unlinks
    /// at once.
    pub file_delete_delay_ms: u64,
}

/// The default of `LogConfig::page_cache_window`: 32 MiB per partition.
pub const DEFAULT_PAGE_CACHE_WINDOW: u64 = 32 * 1024 * 1024;

/// Kafka's `log.index.size.max.bytes` default: 10 MiB.
pub const DEFAULT_SEGMENT_INDEX_BYTES: u64 = 10 * 1024 * 1024;

/// Segment file positions are stored as u32 in the index files, as in Kafka.
pub(crate) const MAX_SEGMENT_BYTES: u64 = u32::MAX as u64;

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: Some(7 * 24 * 60 * 60 * 1000),
            retention_bytes: None,
            retention_ms: Some(7 * 24 * 60 * 60 * 1000),
            index_interval_bytes: 4096,
            flush: FlushPolicy::Always,
            compact: false,
            retention_deletes: true,
            delete_retention_ms: 24 * 60 * 60 * 1000,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            remote_storage: false,
            total_retention_ms: None,
            total_retention_bytes: None,
            page_cache_window: Some(DEFAULT_PAGE_CACHE_WINDOW),
            segment_jitter_ms: 0,
            segment_index_bytes: DEFAULT_SEGMENT_INDEX_BYTES,
            preallocate: false,
            max_compaction_lag_ms: None,
            file_delete_delay_ms: 0,
        }
    }
}

impl LogConfig {
    /// The segment size actually enforced: positions must fit the index's u32.
    pub(crate) fn effective_segment_bytes(&self) -> u64 {
        self.segment_bytes.clamp(1, MAX_SEGMENT_BYTES)
    }

    /// The age at which the active segment rolls: `segment_ms`, or for a
    /// compacted log `max_compaction_lag_ms` when that is sooner (Kafka's
    /// `LogConfig.maxSegmentMs`), so no record waits in the active segment,
    /// which is never cleaned, past its lag.
    pub(crate) fn max_segment_ms(&self) -> Option<u64> {
        let lag = self.max_compaction_lag_ms.filter(|_| self.compact);
        match (self.segment_ms, lag) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether an index of `offset_entries` and `time_entries` is full
    /// under `segment_index_bytes`.
    pub(crate) fn index_full(&self, offset_entries: usize, time_entries: usize) -> bool {
        let max = self.segment_index_bytes.max(4);
        (offset_entries as u64 + 1) * 8 > max || (time_entries as u64 + 1) * 12 > max
    }
}
