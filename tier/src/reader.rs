//! Reads of remote segments: fixed-size chunks through the cache, a
//! read-ahead for sequential consumers, and the same "whole batches from the
//! one holding the offset" answer a local read gives.
//!
//! A read finds its segment in the manifest, starts at the position the
//! segment's uploaded offset index gives, and steps from batch header to
//! batch header (each a 61-byte peek, usually inside an already fetched
//! chunk) to the batch holding the offset. The bytes returned are the
//! uploaded bytes unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use futures::future::{BoxFuture, FutureExt, Shared};
use object_store::path::Path;
use object_store::ObjectStoreExt;
use parking_lot::Mutex;
use strata_storage::SegmentLookup;
use strata_wire::batch::{Batches, HeaderSummary, BATCH_HEADER_LEN};

use crate::cache::{ChunkCache, ChunkKey};
use crate::manifest::{Manifest, PartitionPath, RemoteSegment};
use crate::metrics::TierMetrics;
use crate::store::TierStore;

/// Decoded index files kept in memory; a remote read needs its segment's.
const MAX_LOOKUPS: usize = 1024;

/// Where reads ended, kept so the next read of a sequential consumer starts
/// there (see `Reader::continuations`).
const MAX_CONTINUATIONS: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum RemoteReadError {
    /// Below the remote log start offset.
    #[error("offset {0} is below the remote log start offset")]
    OutOfRange(i64),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

pub(crate) struct Reader {
    store: TierStore,
    cache: Arc<ChunkCache>,
    chunk_bytes: u64,
    read_ahead_chunks: u64,
    /// Most chunks one GET fetches.
    span_chunks: u64,
    metrics: TierMetrics,
    lookups: Mutex<HashMap<String, Arc<SegmentLookup>>>,
    /// (object path, offset) -> position of the batch starting at that
    /// offset, recorded where each read ended. A consumer's next fetch asks
    /// for exactly that offset, and finds its position here instead of in
    /// the segment's index files: two GETs saved per segment, which a cold
    /// sequential read of many small segments notices.
    continuations: Mutex<HashMap<(String, i64), u64>>,
    /// Chunks a read-ahead span is fetching: a reader that wants one waits
    /// for the span rather than asking the store a second time.
    in_flight: Arc<Mutex<HashMap<ChunkKey, SharedChunk>>>,
}

/// A chunk on its way from the store, awaitable by any number of readers.
type SharedChunk = Shared<BoxFuture<'static, Result<Bytes, Arc<object_store::Error>>>>;

/// One remote segment's `.log` object.
struct SegmentObject {
    path: Path,
    size: u64,
}

impl Reader {
    pub(crate) fn new(
        store: TierStore,
        cache: Arc<ChunkCache>,
        chunk_bytes: u64,
        read_ahead_chunks: u64,
        metrics: TierMetrics,
    ) -> Reader {
        Reader {
            store,
            cache,
            chunk_bytes: chunk_bytes.max(BATCH_HEADER_LEN as u64),
            read_ahead_chunks,
            span_chunks: read_ahead_chunks.max(1),
            metrics,
            lookups: Mutex::new(HashMap::new()),
            continuations: Mutex::new(HashMap::new()),
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn object(&self, partition: &PartitionPath, segment: &RemoteSegment) -> SegmentObject {
        SegmentObject {
            path: self.store.path(&partition.segment_file(segment, "log")),
            size: segment.size_bytes,
        }
    }

    /// Whole batches from the one holding `offset`, at most `max_bytes`
    /// (the first batch whole regardless with `min_one_batch`, KIP-74),
    /// within one remote segment. Empty when the remote log has nothing at
    /// or after `offset`.
    pub(crate) async fn read(
        &self,
        partition: &PartitionPath,
        manifest: &Manifest,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
    ) -> Result<Bytes, RemoteReadError> {
        if offset < manifest.log_start_offset {
            return Err(RemoteReadError::OutOfRange(offset));
        }
        let Some(first_segment) = manifest.segment_for(offset) else {
            return Ok(Bytes::new());
        };
        // Compaction can leave a segment without the offset's batch: go on
        // in the next one, as local reads do.
        let mut index = manifest
            .segments
            .iter()
            .position(|s| s == first_segment)
            .expect("segment_for returns a member");
        let (segment, object, position, first_len) = loop {
            let segment = &manifest.segments[index];
            let object = self.object(partition, segment);
            let continued = self
                .continuations
                .lock()
                .get(&(object.path.to_string(), offset))
                .copied();
            let from = match continued {
                Some(position) => position,
                None if offset > segment.base_offset => {
                    let lookup = self.lookup(partition, segment).await?;
                    lookup.position_for_offset((offset - segment.base_offset) as u32)
                }
                None => 0,
            };
            if let Some((position, header)) = self
                .find_batch(&object, from, |h| h.last_offset >= offset)
                .await?
            {
                break (segment, object, position, header.total_len);
            }
            index += 1;
            if index == manifest.segments.len() {
                return Ok(Bytes::new());
            }
        };
        // Up to the end of the chunk holding the first batch, so the answer
        // is a slice of one cached chunk rather than a copy of several (the
        // consumer's next fetch continues in the next chunk); the first
        // batch whole in any case.
        let chunk_end = (position / self.chunk_bytes + 1) * self.chunk_bytes;
        let available = (chunk_end.min(object.size) - position) as usize;
        let want = if first_len > max_bytes {
            if !min_one_batch {
                return Ok(Bytes::new());
            }
            first_len
        } else {
            max_bytes.min(available).max(first_len)
        };
        let bytes = self.range(&object, position, want).await?;
        let mut batches = Batches::new(&bytes);
        let next_offset = batches
            .by_ref()
            .map_while(Result::ok)
            .last()
            .map(|last| last.last_offset() + 1);
        let bytes = bytes.slice(..batches.valid_len());
        let end = position + bytes.len() as u64;
        if let Some(next_offset) = next_offset.filter(|_| end < object.size) {
            let mut continuations = self.continuations.lock();
            if continuations.len() >= MAX_CONTINUATIONS {
                continuations.clear();
            }
            continuations.insert((object.path.to_string(), next_offset), end);
        }
        self.read_ahead(
            partition,
            manifest,
            segment,
            &object,
            position + want as u64,
        );
        self.metrics.remote_reads.inc();
        self.metrics.remote_read_bytes.inc_by(bytes.len() as u64);
        Ok(bytes)
    }

    /// The first batch at or after the log start offset whose max timestamp
    /// is at least `timestamp` (ListOffsets by time in the remote range).
    pub(crate) async fn batch_at_timestamp(
        &self,
        partition: &PartitionPath,
        manifest: &Manifest,
        timestamp: i64,
    ) -> Result<Option<Bytes>, RemoteReadError> {
        let log_start = manifest.log_start_offset;
        for segment in manifest
            .segments
            .iter()
            .filter(|s| s.next_offset > log_start && s.max_timestamp >= timestamp)
        {
            let lookup = self.lookup(partition, segment).await?;
            let object = self.object(partition, segment);
            let from = lookup.position_for_timestamp(timestamp);
            if let Some((position, header)) = self
                .find_batch(&object, from, |h| {
                    h.max_timestamp >= timestamp && h.last_offset >= log_start
                })
                .await?
            {
                self.metrics.remote_reads.inc();
                return Ok(Some(self.range(&object, position, header.total_len).await?));
            }
        }
        Ok(None)
    }

    /// Steps through batch headers from `from` to the first batch `wanted`
    /// accepts: its position and header.
    async fn find_batch(
        &self,
        object: &SegmentObject,
        from: u64,
        wanted: impl Fn(&HeaderSummary) -> bool,
    ) -> anyhow::Result<Option<(u64, HeaderSummary)>> {
        let mut position = from;
        while position + BATCH_HEADER_LEN as u64 <= object.size {
            let head = self.range(object, position, BATCH_HEADER_LEN).await?;
            let header = HeaderSummary::peek(&head).with_context(|| {
                format!("remote segment {} at position {position}", object.path)
            })?;
            if wanted(&header) {
                return Ok(Some((position, header)));
            }
            position += header.total_len as u64;
        }
        Ok(None)
    }

    /// `len` bytes at `position` of the object, from its chunks.
    async fn range(
        &self,
        object: &SegmentObject,
        position: u64,
        len: usize,
    ) -> anyhow::Result<Bytes> {
        let end = (position + len as u64).min(object.size);
        if end <= position {
            return Ok(Bytes::new());
        }
        let first = position / self.chunk_bytes;
        let last = (end - 1) / self.chunk_bytes;
        if first == last {
            let chunk = self.chunk(object, first).await?;
            let at = (position - first * self.chunk_bytes) as usize;
            return Ok(chunk.slice(at..at + (end - position) as usize));
        }
        let chunks =
            futures::future::try_join_all((first..=last).map(|i| self.chunk(object, i))).await?;
        let mut out = BytesMut::with_capacity((end - position) as usize);
        for (i, chunk) in (first..=last).zip(chunks) {
            let chunk_start = i * self.chunk_bytes;
            let from = position.saturating_sub(chunk_start) as usize;
            let to = ((end - chunk_start) as usize).min(chunk.len());
            out.extend_from_slice(&chunk[from..to]);
        }
        Ok(out.freeze())
    }

    /// One chunk, from a span in flight, the cache, or the store. A chunk
    /// neither cached nor on its way starts a span from it (see
    /// `fetch_span`), so the chunks after it come with the same GET.
    async fn chunk(&self, object: &SegmentObject, index: u64) -> anyhow::Result<Bytes> {
        let key = self.key(object, index);
        let mut missed = false;
        if !self.cache.contains(&key) {
            missed = self.fetch_span(object, index, self.span_chunks);
        }
        let pending = self.in_flight.lock().get(&key).cloned();
        if let Some(pending) = pending {
            if let Ok(bytes) = pending.await {
                if missed {
                    self.metrics.cache_misses.inc();
                } else {
                    self.metrics.cache_hits.inc();
                }
                return Ok(bytes);
            }
            // The span failed: fetch the chunk on its own below.
        }
        let fetched = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let bytes = self
            .cache
            .get_or_fetch(key, self.fetcher(object, index, fetched.clone()))
            .await
            .with_context(|| format!("reading chunk {index} of {}", object.path))?;
        if missed || fetched.load(std::sync::atomic::Ordering::Relaxed) {
            self.metrics.cache_misses.inc();
        } else {
            self.metrics.cache_hits.inc();
        }
        Ok(bytes)
    }

    fn key(&self, object: &SegmentObject, index: u64) -> ChunkKey {
        ChunkKey {
            object: object.path.to_string(),
            chunk: index,
        }
    }

    fn fetcher(
        &self,
        object: &SegmentObject,
        index: u64,
        fetched: Arc<std::sync::atomic::AtomicBool>,
    ) -> impl FnOnce() -> futures::future::BoxFuture<'static, Result<Bytes, object_store::Error>>
           + Send
           + 'static {
        let store = self.store.store.clone();
        let path = object.path.clone();
        let start = index * self.chunk_bytes;
        let end = (start + self.chunk_bytes).min(object.size);
        let fetches = self.metrics.remote_fetches.clone();
        move || {
            Box::pin(async move {
                fetched.store(true, std::sync::atomic::Ordering::Relaxed);
                fetches.inc();
                store.get_range(&path, start..end).await
            })
        }
    }

    /// Starts fetching the `read_ahead_chunks` chunks a sequential consumer
    /// will want next: those after `end` in this segment, then on into the
    /// following segments, so the fetches overlap the consumer's requests.
    fn read_ahead(
        &self,
        partition: &PartitionPath,
        manifest: &Manifest,
        segment: &RemoteSegment,
        object: &SegmentObject,
        end: u64,
    ) {
        let mut budget = self.read_ahead_chunks;
        let mut from_chunk = end.div_ceil(self.chunk_bytes);
        let mut current = SegmentObject {
            path: object.path.clone(),
            size: object.size,
        };
        let mut following = manifest
            .segments
            .iter()
            .filter(|s| s.base_offset >= segment.next_offset);
        while budget > 0 {
            let chunks = current.size.div_ceil(self.chunk_bytes);
            let window = from_chunk..chunks.min(from_chunk + budget);
            budget -= window.end.saturating_sub(window.start);
            for index in window {
                if !self.cache.contains(&self.key(&current, index)) {
                    self.fetch_span(&current, index, self.span_chunks);
                }
            }
            let Some(next) = following.next() else {
                break;
            };
            current = self.object(partition, next);
            from_chunk = 0;
        }
    }

    /// Starts one ranged GET for chunks `first..` of `object`: at most
    /// `max_chunks`, up to the object's end, and only while they are
    /// neither on their way nor (after the first) cached. Each is registered
    /// as in flight until it is in the cache. Returns whether a GET started
    /// (false when `first` itself is already in flight).
    ///
    /// Spans run to the end of the object rather than stopping at the
    /// read-ahead window: a sequential consumer reads the whole segment
    /// anyway, and fewer, larger GETs cost the store less per byte (moto,
    /// like some S3 servers, reads the whole object for every ranged GET).
    fn fetch_span(&self, object: &SegmentObject, first: u64, max_chunks: u64) -> bool {
        let chunks = object.size.div_ceil(self.chunk_bytes);
        let last_allowed = chunks.min(first + max_chunks.max(1));
        let mut in_flight = self.in_flight.lock();
        let mut last = first;
        while last < last_allowed {
            let key = self.key(object, last);
            if in_flight.contains_key(&key) || (last > first && self.cache.contains(&key)) {
                break;
            }
            last += 1;
        }
        if last == first {
            return false;
        }
        let start = first * self.chunk_bytes;
        let end = (last * self.chunk_bytes).min(object.size);
        let store = self.store.store.clone();
        let path = object.path.clone();
        self.metrics.remote_fetches.inc();
        let span: SharedChunk =
            async move { store.get_range(&path, start..end).await.map_err(Arc::new) }
                .boxed()
                .shared();
        let mut keys = Vec::with_capacity((last - first) as usize);
        for index in first..last {
            let from = ((index - first) * self.chunk_bytes) as usize;
            let to = (from + self.chunk_bytes as usize).min((end - start) as usize);
            let chunk: SharedChunk = span
                .clone()
                .map(move |r| r.map(|b| b.slice(from..to)))
                .boxed()
                .shared();
            let key = self.key(object, index);
            in_flight.insert(key.clone(), chunk.clone());
            keys.push((key, chunk));
        }
        drop(in_flight);
        let cache = self.cache.clone();
        let in_flight = self.in_flight.clone();
        tokio::spawn(async move {
            for (key, chunk) in keys {
                match chunk.await {
                    Ok(bytes) => {
                        let put = cache
                            .get_or_fetch(key.clone(), move || async move { Ok(bytes) })
                            .await;
                        if let Err(e) = put {
                            tracing::debug!(error = %e, "caching a fetched chunk failed");
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "a ranged GET of remote chunks failed"),
                }
                in_flight.lock().remove(&key);
            }
        });
        true
    }

    /// The segment's decoded index files, fetched once.
    async fn lookup(
        &self,
        partition: &PartitionPath,
        segment: &RemoteSegment,
    ) -> anyhow::Result<Arc<SegmentLookup>> {
        let stem = format!("{}/{}", partition.as_str(), segment.object_stem());
        if let Some(found) = self.lookups.lock().get(&stem) {
            return Ok(found.clone());
        }
        let get = |extension: &'static str| {
            let path = self.store.path(&partition.segment_file(segment, extension));
            let store = self.store.store.clone();
            async move {
                let bytes = store.get(&path).await?.bytes().await?;
                Ok::<_, object_store::Error>(bytes)
            }
        };
        let (offsets, times) = futures::try_join!(get("index"), get("timeindex"))
            .with_context(|| format!("fetching the index files of remote segment {stem}"))?;
        let lookup = SegmentLookup::decode(
            &offsets,
            &times,
            segment.size_bytes,
            segment.base_offset,
            segment.next_offset,
        )
        .with_context(|| format!("the index files of remote segment {stem} are invalid"))?;
        let lookup = Arc::new(lookup);
        let mut lookups = self.lookups.lock();
        if lookups.len() >= MAX_LOOKUPS {
            lookups.clear();
        }
        lookups.insert(stem, lookup.clone());
        Ok(lookup)
    }

    /// Forgets what is cached of a deleted segment.
    pub(crate) fn forget(&self, partition: &PartitionPath, segment: &RemoteSegment) {
        let stem = format!("{}/{}", partition.as_str(), segment.object_stem());
        self.lookups.lock().remove(&stem);
        let object = self.object(partition, segment);
        let path = object.path.to_string();
        self.continuations.lock().retain(|(p, _), _| *p != path);
        self.cache
            .remove_object(object.path.as_ref(), object.size.div_ceil(self.chunk_bytes));
    }
}
