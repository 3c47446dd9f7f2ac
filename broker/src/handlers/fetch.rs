//! Fetch (key 1): whole batches read by offset and handed back as bytes,
//! with a long poll that answers as soon as `min_bytes` are available or
//! `max_wait_ms` has passed.
//!
//! Fetch sessions (KIP-227) are answered session-less: session id 0 tells the
//! client that no session was created, and it keeps sending full requests.
//!
//! read_committed fetches (`isolation_level` 1) read up to the last stable
//! offset instead of the high watermark: the batches read are cut at the
//! first one at or past it (an LSO is always a batch's base offset), and the
//! answer lists the aborted transactions among them, which the client skips.
//! Only batch headers are looked at. Below the local log start the remote
//! segments' aborted transactions (their uploaded `.txnindex`) are added to
//! the local log's.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::select_all;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId};
use strata_storage::{AbortedTxn, Log, StorageError};
use strata_tier::RemoteReadError;
use strata_wire::batch::{Batches, Compression};
use strata_wire::recompress::TopicCompression;
use tokio::sync::watch;
use tokio::time::Instant;

use strata_governance::Operation;

use super::{storage_error_code, RequestContext};
use crate::cluster::{Cluster, Topic};

/// Fetch v13 names topics by id instead of by name.
const TOPIC_IDS_FROM_VERSION: i16 = 13;

/// Fetch v10 is the first a zstd batch may be returned to (KIP-110).
const ZSTD_FROM_VERSION: i16 = 10;

/// `isolation_level` of read_committed consumers.
const READ_COMMITTED: i8 = 1;

/// One requested partition, resolved once per request.
struct Slot {
    topic: usize,
    partition: i32,
    fetch_offset: i64,
    max_bytes: usize,
    target: Result<Log, ResponseError>,
    /// For reads below the local log start, which go to the tier.
    topic_ref: Option<Arc<Topic>>,
}

pub(super) async fn handle(ctx: &RequestContext, request: FetchRequest) -> FetchResponse {
    if request.session_id != 0 {
        return FetchResponse::default()
            .with_error_code(ResponseError::FetchSessionIdNotFound.code());
    }
    let cluster = &ctx.broker.cluster;
    let by_id = ctx.version >= TOPIC_IDS_FROM_VERSION;
    let mut topics = Vec::with_capacity(request.topics.len());
    let mut slots = Vec::new();
    // The topic of each entry of `topics`, for per-topic traffic counts.
    let mut topic_refs = Vec::with_capacity(request.topics.len());
    for (index, fetch_topic) in request.topics.into_iter().enumerate() {
        let topic = if by_id {
            cluster.topic_by_id(fetch_topic.topic_id)
        } else {
            cluster.topic(&fetch_topic.topic)
        };
        for p in &fetch_topic.partitions {
            let target = match &topic {
                None if by_id => Err(ResponseError::UnknownTopicId),
                None => Err(ResponseError::UnknownTopicOrPartition),
                // A single node's leader epoch is 0; a newer one is from the future.
                Some(t) if !ctx.may_topic(Operation::Read, &t.name) => {
                    Err(ResponseError::TopicAuthorizationFailed)
                }
                Some(_) if p.current_leader_epoch > 0 => Err(ResponseError::UnknownLeaderEpoch),
                Some(t) => t
                    .partition(p.partition)
                    .ok_or(ResponseError::UnknownTopicOrPartition),
            };
            slots.push(Slot {
                topic: index,
                partition: p.partition,
                fetch_offset: p.fetch_offset,
                max_bytes: p.partition_max_bytes.max(0) as usize,
                target,
                topic_ref: topic.clone(),
            });
        }
        topic_refs.push(topic);
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(fetch_topic.topic)
                .with_topic_id(fetch_topic.topic_id),
        );
    }

    let deadline = Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
    let max_bytes = if request.max_bytes <= 0 {
        usize::MAX
    } else {
        request.max_bytes as usize
    };
    let min_bytes = request.min_bytes.max(0) as usize;
    let committed = request.isolation_level == READ_COMMITTED;
    // Subscribe before the first read so that no append between the read and
    // the wait goes unnoticed.
    let mut watchers: Vec<watch::Receiver<i64>> = slots
        .iter()
        .filter_map(|s| s.target.as_ref().ok().map(Log::subscribe))
        .collect();
    loop {
        for w in &mut watchers {
            w.borrow_and_update();
        }
        let (partitions, total, any_error) =
            read_all(cluster, &slots, max_bytes, committed, ctx.version).await;
        if total >= min_bytes || any_error || watchers.is_empty() || Instant::now() >= deadline {
            ctx.broker.metrics.fetched_bytes.inc_by(total as u64);
            count_out(&topic_refs, &partitions);
            return respond(topics, partitions);
        }
        let changed = select_all(watchers.iter_mut().map(|w| Box::pin(w.changed())));
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            // Deadline: answer with whatever is there now.
            let (partitions, total, _) =
                read_all(cluster, &slots, max_bytes, committed, ctx.version).await;
            ctx.broker.metrics.fetched_bytes.inc_by(total as u64);
            count_out(&topic_refs, &partitions);
            return respond(topics, partitions);
        }
    }
}

/// Adds what is returned to each topic's traffic counters.
fn count_out(topic_refs: &[Option<Arc<Topic>>], partitions: &[(usize, PartitionData)]) {
    for (topic, data) in partitions {
        if let (Some(Some(topic)), Some(records)) = (topic_refs.get(*topic), &data.records) {
            topic.traffic.fetched(records);
        }
    }
}

fn respond(
    mut topics: Vec<FetchableTopicResponse>,
    partitions: Vec<(usize, PartitionData)>,
) -> FetchResponse {
    for (topic, data) in partitions {
        topics[topic].partitions.push(data);
    }
    FetchResponse::default().with_responses(topics)
}

/// Reads every slot once. Returns the partitions, total record bytes, and
/// whether any partition carries an error (which ends the long poll).
async fn read_all(
    cluster: &Cluster,
    slots: &[Slot],
    max_bytes: usize,
    committed: bool,
    version: i16,
) -> (Vec<(usize, PartitionData)>, usize, bool) {
    let mut total = 0usize;
    let mut any_error = false;
    let mut out = Vec::with_capacity(slots.len());
    for slot in slots {
        let base = PartitionData::default()
            .with_partition_index(slot.partition)
            .with_preferred_read_replica(kafka_protocol::messages::BrokerId(-1));
        let log = match &slot.target {
            Ok(log) => log,
            Err(code) => {
                any_error = true;
                out.push((
                    slot.topic,
                    base.with_error_code(code.code())
                        .with_records(Some(Bytes::new())),
                ));
                continue;
            }
        };
        let high_watermark = log.high_watermark();
        let last_stable = log.last_stable_offset();
        let log_start = log.log_start_offset();
        let base = base
            .with_high_watermark(high_watermark)
            .with_last_stable_offset(last_stable)
            .with_log_start_offset(log_start);
        // What this consumer may read up to.
        let visible_end = if committed {
            last_stable
        } else {
            high_watermark
        };
        let budget = slot.max_bytes.min(max_bytes.saturating_sub(total));
        // KIP-74: the first batch of the response is returned whole even past the limits.
        let min_one_batch = total == 0;
        let read = if slot.fetch_offset >= visible_end && slot.fetch_offset <= log.log_end_offset()
        {
            // Written but not yet durable (or not yet decided, for
            // read_committed): nothing to return yet, not an error.
            Ok(Bytes::new())
        } else if budget == 0 && !min_one_batch {
            Ok(Bytes::new())
        } else {
            log.read(slot.fetch_offset, budget, min_one_batch)
        };
        let read = match read {
            Err(StorageError::NotLocal { .. }) => {
                read_remote(cluster, slot, budget, min_one_batch).await
            }
            other => other.map_err(|e| match e {
                StorageError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
                other => storage_error_code(&other),
            }),
        };
        let read = read.and_then(|records| zstd_for_old_fetcher(version, slot, records));
        // read_committed: cut at the LSO and list the aborted transactions.
        let read = match read {
            Ok(records) if committed => {
                let (records, last) = below(records, visible_end);
                let aborted = match last {
                    Some(last) => aborted_transactions(cluster, slot, log, last + 1).await,
                    None => Ok(Vec::new()),
                };
                aborted.map(|aborted| (records, Some(aborted)))
            }
            other => other.map(|records| (records, None)),
        };
        match read {
            Ok((records, Some(aborted))) => {
                total += records.len();
                let aborted = aborted
                    .into_iter()
                    .map(|a| {
                        AbortedTransaction::default()
                            .with_producer_id(ProducerId(a.producer_id))
                            .with_first_offset(a.first_offset)
                    })
                    .collect();
                out.push((
                    slot.topic,
                    base.with_records(Some(records))
                        .with_aborted_transactions(Some(aborted)),
                ));
            }
            Ok((records, None)) => {
                total += records.len();
                out.push((slot.topic, base.with_records(Some(records))));
            }
            Err(code) => {
                any_error = true;
                out.push((
                    slot.topic,
                    base.with_error_code(code.code())
                        .with_records(Some(Bytes::new())),
                ));
            }
        }
    }
    (out, total, any_error)
}

/// KIP-110: Kafka answers UNSUPPORTED_COMPRESSION_TYPE to a fetch below v10
/// from a topic whose `compression.type` is zstd
/// (`KafkaApis.maybeConvertFetchedData`). Zstd batches of a `producer` topic
/// are returned as they are, as Kafka 4 returns them.
fn zstd_for_old_fetcher(version: i16, slot: &Slot, records: Bytes) -> Result<Bytes, ResponseError> {
    let topic_zstd = slot.topic_ref.as_ref().is_some_and(|t| {
        matches!(
            t.effective_config().compression,
            TopicCompression::Codec(Compression::Zstd, _)
        )
    });
    if version < ZSTD_FROM_VERSION && topic_zstd {
        Err(ResponseError::UnsupportedCompressionType)
    } else {
        Ok(records)
    }
}

/// The whole batches of `records` that start below `end`, and the last
/// offset among them (`None` when none does), from one walk over the headers.
fn below(records: Bytes, end: i64) -> (Bytes, Option<i64>) {
    let (mut keep, mut last) = (0, None);
    for header in Batches::new(&records) {
        match header {
            Ok(h) if h.base_offset() < end => {
                keep += h.total_len();
                last = Some(h.last_offset());
            }
            _ => break,
        }
    }
    let kept = if keep == records.len() {
        records
    } else {
        records.slice(..keep)
    };
    (kept, last)
}

/// The aborted transactions a read_committed consumer of
/// `[slot.fetch_offset, to)` must skip: the local log's, plus the remote
/// segments' when the range starts below the local log start. Segments both
/// uploaded and still local are listed by both, hence the dedup. A remote
/// index that cannot be read fails the partition: without it the consumer
/// would be handed aborted records as committed.
async fn aborted_transactions(
    cluster: &Cluster,
    slot: &Slot,
    log: &Log,
    to: i64,
) -> Result<Vec<AbortedTxn>, ResponseError> {
    let from = slot.fetch_offset;
    let mut aborted = log.aborted_transactions(from, to);
    if from >= log.local_log_start_offset() {
        return Ok(aborted);
    }
    let remote = slot
        .topic_ref
        .as_ref()
        .and_then(|t| cluster.remote_partition(t, slot.partition));
    let Some((tier, remote)) = remote else {
        return Ok(aborted);
    };
    match tier.aborted_transactions(&remote, from, to).await {
        Ok(found) => aborted.extend(found),
        Err(e) => {
            tracing::warn!(
                partition = remote.spec().path.as_str(),
                offset = from,
                error = format!("{e:#}"),
                "reading remote aborted transactions failed"
            );
            return Err(ResponseError::KafkaStorageError);
        }
    }
    aborted.sort_by_key(|a| (a.first_offset, a.producer_id, a.last_offset));
    aborted.dedup();
    Ok(aborted)
}

/// Reads an offset below the local log start from the tier.
async fn read_remote(
    cluster: &Cluster,
    slot: &Slot,
    budget: usize,
    min_one_batch: bool,
) -> Result<Bytes, ResponseError> {
    let remote = slot
        .topic_ref
        .as_ref()
        .and_then(|t| cluster.remote_partition(t, slot.partition));
    let Some((tier, remote)) = remote else {
        return Err(ResponseError::OffsetOutOfRange);
    };
    match tier
        .read(&remote, slot.fetch_offset, budget, min_one_batch)
        .await
    {
        Ok(bytes) => Ok(bytes),
        Err(RemoteReadError::OutOfRange(_)) => Err(ResponseError::OffsetOutOfRange),
        Err(RemoteReadError::Store(e)) => {
            tracing::warn!(
                partition = remote.spec().path.as_str(),
                offset = slot.fetch_offset,
                error = format!("{e:#}"),
                "remote read failed"
            );
            Err(ResponseError::KafkaStorageError)
        }
    }
}
