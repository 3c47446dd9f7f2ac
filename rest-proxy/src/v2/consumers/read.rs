//! Reading records for `GET .../records`: positions first (committed
//! offset, else `auto.offset.reset`), then Fetch from every assigned
//! partition until the answer is full, holds `fetch.min.bytes`, or the
//! request's time is up, as Confluent's read task does.
//!
//! The answer is written straight into JSON text (no per-record JSON tree),
//! which is where the time goes for large binary reads (`answer.rs`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use kafka_protocol::error::{ParseResponseErrorCode, ResponseError};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::answer::{ChunkedText, JsonRecords};
use super::config::OffsetReset;
use super::instance::{Instance, State};
use super::kafka::{self, Tp, EARLIEST, LATEST};
use crate::error::RestError;
use crate::records::decode_batches;
use crate::RestProxy;

/// The most one Fetch asks for (the Kafka consumer's `fetch.max.bytes`).
const FETCH_MAX_BYTES: u64 = 50 * 1024 * 1024;

/// Gives every partition in `partitions` without a position one: its
/// committed offset, else the start or end of the log per
/// `auto.offset.reset`.
pub(crate) async fn ensure_positions(
    proxy: &RestProxy,
    instance: &Instance,
    state: &mut State,
    partitions: &BTreeSet<Tp>,
) -> Result<(), RestError> {
    let missing: Vec<Tp> = partitions
        .iter()
        .filter(|tp| !state.positions.contains_key(*tp))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let committed = kafka::committed(proxy, &instance.caller, &instance.group, &missing).await?;
    let mut reset = Vec::new();
    for tp in missing {
        match committed.get(&tp) {
            Some((offset, _)) => {
                state.auto_committed.insert(tp.clone(), *offset);
                state.positions.insert(tp, *offset);
            }
            None => reset.push(tp),
        }
    }
    reset_positions(proxy, instance, state, reset).await
}

/// Moves `partitions` to where `auto.offset.reset` says.
async fn reset_positions(
    proxy: &RestProxy,
    instance: &Instance,
    state: &mut State,
    partitions: Vec<Tp>,
) -> Result<(), RestError> {
    if partitions.is_empty() {
        return Ok(());
    }
    let timestamp = match instance.config.offset_reset {
        OffsetReset::Earliest => EARLIEST,
        OffsetReset::Latest => LATEST,
        OffsetReset::None => {
            let (t, p) = &partitions[0];
            return Err(RestError::kafka(format!(
                "Undefined offset with no reset policy for partitions: [{t}-{p}]"
            )));
        }
    };
    seek_to(proxy, instance, state, &partitions, timestamp).await
}

/// Sets the position of `partitions` to their offset at `timestamp`
/// ([`EARLIEST`], [`LATEST`] or milliseconds; a time after the last record
/// is the end of the log).
pub(crate) async fn seek_to(
    proxy: &RestProxy,
    instance: &Instance,
    state: &mut State,
    partitions: &[Tp],
    timestamp: i64,
) -> Result<(), RestError> {
    let asked: Vec<(Tp, i64)> = partitions
        .iter()
        .map(|tp| (tp.clone(), timestamp))
        .collect();
    let mut found = kafka::list_offsets(proxy, &instance.caller, &asked).await?;
    let mut ends = Vec::new();
    for tp in partitions {
        match found.remove(tp) {
            Some(offset) => {
                state.positions.insert(tp.clone(), offset);
            }
            None => ends.push((tp.clone(), LATEST)),
        }
    }
    for (tp, offset) in kafka::list_offsets(proxy, &instance.caller, &ends).await? {
        state.positions.insert(tp, offset);
    }
    Ok(())
}

/// The limits of one records request.
pub(crate) struct ReadLimits {
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: u64,
    pub(crate) min_bytes: Option<u64>,
}

/// Reads records for the instance and answers them as a JSON array.
///
/// Each record is `{"topic","key","value","partition","offset"}` as in
/// Confluent, plus two Strata extensions Confluent users asked for
/// (kafka-rest #523, #698, #935): `headers`, a list of
/// `{"name": ..., "value": base64 or null}` in record order (the shape v3
/// produce takes), and `timestamp`, the record's time in milliseconds.
pub(crate) async fn read_records(
    proxy: &RestProxy,
    instance: &Instance,
    limits: ReadLimits,
) -> Result<ChunkedText, RestError> {
    let deadline = Instant::now() + limits.timeout;
    let mut out = JsonRecords::new(instance.config.format, limits.max_bytes);
    let mut full = false;
    loop {
        let mut changed = instance.assignment_changed.subscribe();
        let mut state = instance.state.lock().await;
        if matches!(state.mode, super::instance::Mode::Idle) {
            return Err(RestError::illegal_state(
                "Consumer is not subscribed to any topics or assigned any partitions",
            ));
        }
        let assigned = state.assigned();
        let now = Instant::now();
        if assigned.is_empty() {
            drop(state);
            if now >= deadline {
                break;
            }
            let _ = tokio::time::timeout_at(deadline.into(), changed.changed()).await;
            continue;
        }
        ensure_positions(proxy, instance, &mut state, &assigned).await?;
        state.fetch_turn = state.fetch_turn.wrapping_add(1);
        let wait = deadline.saturating_duration_since(Instant::now());
        let budget = limits
            .max_bytes
            .saturating_sub(out.bytes)
            .min(FETCH_MAX_BYTES);
        let response = fetch(proxy, instance, &state, &assigned, wait, budget).await?;
        for (tp, data) in response {
            if full {
                break;
            }
            full = take_partition(
                proxy,
                instance,
                &mut state,
                &tp,
                data,
                &mut out,
                limits.max_bytes,
            )
            .await?;
        }
        drop(state);
        let enough = limits.min_bytes.is_some_and(|min| out.bytes > min);
        if full || enough || Instant::now() >= deadline {
            break;
        }
    }
    Ok(out.finish())
}

/// What Fetch answered for one partition.
struct PartitionData {
    error: Option<ResponseError>,
    records: Option<Bytes>,
}

async fn fetch(
    proxy: &RestProxy,
    instance: &Instance,
    state: &State,
    assigned: &BTreeSet<Tp>,
    wait: Duration,
    budget: u64,
) -> Result<Vec<(Tp, PartitionData)>, RestError> {
    // Start each Fetch at another partition, so that a small budget does
    // not always go to the first one.
    let mut order: Vec<&Tp> = assigned.iter().collect();
    if !order.is_empty() {
        let turn = state.fetch_turn % order.len();
        order.rotate_left(turn);
    }
    let mut topics: Vec<FetchTopic> = Vec::new();
    for (topic, partition) in order {
        let Some(&offset) = state.positions.get(&(topic.clone(), *partition)) else {
            continue;
        };
        if topics
            .last()
            .map(|t| t.topic.0.as_str() != topic.as_str())
            .unwrap_or(true)
        {
            topics.push(
                FetchTopic::default().with_topic(TopicName(StrBytes::from_string(topic.clone()))),
            );
        }
        let last = topics.last_mut().expect("pushed above");
        last.partitions.push(
            FetchPartition::default()
                .with_partition(*partition)
                .with_fetch_offset(offset)
                .with_current_leader_epoch(-1)
                .with_last_fetched_epoch(-1)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(budget.max(1).min(i32::MAX as u64) as i32),
        );
    }
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(wait.as_millis().min(i32::MAX as u128) as i32)
        .with_min_bytes(1)
        .with_max_bytes(budget.max(1).min(i32::MAX as u64) as i32)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics);
    let response = proxy.send(&instance.caller, request).await?;
    if let Some(e) = response.error_code.err() {
        return Err(RestError::from_kafka(e, None));
    }
    let mut out = Vec::new();
    for topic in response.responses {
        let name = topic.topic.0.to_string();
        for p in topic.partitions {
            out.push((
                (name.clone(), p.partition_index),
                PartitionData {
                    error: p.error_code.err(),
                    records: p.records,
                },
            ));
        }
    }
    Ok(out)
}

/// Appends one partition's fetched records from its position on, advancing
/// the position; true when the answer is full.
async fn take_partition(
    proxy: &RestProxy,
    instance: &Instance,
    state: &mut State,
    tp: &Tp,
    data: PartitionData,
    out: &mut JsonRecords,
    max_bytes: u64,
) -> Result<bool, RestError> {
    match data.error {
        None => {}
        Some(ResponseError::OffsetOutOfRange) => {
            state.positions.remove(tp);
            reset_positions(proxy, instance, state, vec![tp.clone()]).await?;
            return Ok(false);
        }
        Some(e) if e.is_retriable() => return Ok(false),
        Some(e) => return Err(RestError::from_kafka(e, None)),
    }
    let Some(batches) = data.records.filter(|b| !b.is_empty()) else {
        return Ok(false);
    };
    let Some(position) = state.positions.get(tp).copied() else {
        return Ok(false);
    };
    let end = batches_end(&batches);
    let records = decode_batches(batches)?;
    let mut next = position;
    for record in records.iter().filter(|r| r.offset >= position) {
        let size = record.key.as_ref().map_or(0, |k| k.len()) as u64
            + record.value.as_ref().map_or(0, |v| v.len()) as u64;
        // As Confluent: stop before a record that would reach max_bytes.
        if out.bytes + size >= max_bytes {
            state.positions.insert(tp.clone(), next);
            return Ok(true);
        }
        out.push(proxy, tp, record, size)?;
        next = record.offset + 1;
    }
    // Control records and compacted gaps are stepped over too.
    state
        .positions
        .insert(tp.clone(), next.max(end.unwrap_or(next)));
    Ok(false)
}

/// The offset after the last complete batch in `batches` (from the batch
/// headers: base offset plus last offset delta), if any.
fn batches_end(batches: &Bytes) -> Option<i64> {
    let mut buf = batches.clone();
    let mut end = None;
    while buf.remaining() >= 27 {
        let base = (&buf[0..8]).get_i64();
        let length = (&buf[8..12]).get_i32();
        let delta = (&buf[23..27]).get_i32();
        if length < 0 || buf.remaining() < 12 + length as usize {
            break;
        }
        end = Some(base + delta as i64 + 1);
        buf.advance(12 + length as usize);
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{encode_batch, OutRecord};

    #[test]
    fn batch_end_follows_headers() {
        let batch = encode_batch(&[OutRecord::default(), OutRecord::default()], 0).unwrap();
        assert_eq!(batches_end(&batch), Some(2));
        let mut two = batch.to_vec();
        two.extend_from_slice(&batch[..20]);
        assert_eq!(batches_end(&Bytes::from(two)), Some(2));
        assert_eq!(batches_end(&Bytes::new()), None);
    }
}
