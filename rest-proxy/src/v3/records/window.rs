//! A window: the records of a produce request read so far, sent as one
//! Produce request (one batch per partition) and answered in their order.
//!
//! Records with a `partition_id` go there (answered 40402 when the topic
//! has no such partition); keyed records go where Kafka's default
//! partitioner puts them ([`crate::partitioner`]); records with neither go
//! to one partition per window, rotating between windows, as the Java
//! client's sticky partitioner does, so that they share a batch.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};

use super::encode::{DataInfo, Prepared};
use crate::backend::Caller;
use crate::error::RestError;
use crate::partitioner::partition_for_key;
use crate::records::{encode_batch, OutRecord};
use crate::RestProxy;

/// How long a Produce waits for its acknowledgements (acks=all).
const PRODUCE_TIMEOUT_MS: i32 = 30_000;

/// The topic a request produces to, and where its unkeyed records go.
pub(crate) struct Target {
    pub proxy: Arc<RestProxy>,
    pub caller: Caller,
    pub cluster_id: String,
    pub topic: String,
    pub partitions: i32,
    sticky: AtomicU32,
}

impl Target {
    pub(crate) fn new(
        proxy: Arc<RestProxy>,
        caller: Caller,
        topic: String,
        partitions: i32,
    ) -> Self {
        let cluster_id = proxy.cluster_id.clone();
        let sticky = AtomicU32::new(rand_seed());
        Target {
            proxy,
            caller,
            cluster_id,
            topic,
            partitions,
            sticky,
        }
    }
}

/// What one record of a window is answered with.
enum Slot {
    Done(Result<Value, RestError>),
    Sent {
        partition: i32,
        index: usize,
        timestamp: i64,
        key: Option<DataInfo>,
        value: Option<DataInfo>,
    },
}

/// The records of one window, in request order.
#[derive(Default)]
pub(crate) struct Window {
    slots: Vec<Slot>,
    batches: BTreeMap<i32, Vec<OutRecord>>,
}

impl Window {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Adds a record (or the error that answers it) to the window.
    pub(crate) fn push(
        &mut self,
        target: &Target,
        record: Result<Prepared, RestError>,
        sticky: i32,
    ) {
        let prepared = match record {
            Ok(p) => p,
            Err(e) => return self.slots.push(Slot::Done(Err(e))),
        };
        let partition = match (prepared.partition, &prepared.record.key) {
            (Some(p), _) if p >= target.partitions => {
                return self
                    .slots
                    .push(Slot::Done(Err(RestError::partition_not_found())))
            }
            (Some(p), _) => p,
            (None, Some(key)) => partition_for_key(key, target.partitions),
            (None, None) => sticky,
        };
        let timestamp = prepared.record.timestamp.unwrap_or(0);
        let batch = self.batches.entry(partition).or_default();
        self.slots.push(Slot::Sent {
            partition,
            index: batch.len(),
            timestamp,
            key: prepared.key,
            value: prepared.value,
        });
        batch.push(prepared.record);
    }

    /// Produces the window's batches in one request (acks=all) and answers
    /// every record, in order.
    pub(crate) async fn produce(self, target: &Target) -> Vec<Result<Value, RestError>> {
        let outcomes = if self.batches.is_empty() {
            BTreeMap::new()
        } else {
            send(target, &self.batches).await
        };
        self.slots
            .into_iter()
            .map(|slot| match slot {
                Slot::Done(answer) => answer,
                Slot::Sent {
                    partition,
                    index,
                    timestamp,
                    key,
                    value,
                } => match outcomes.get(&partition) {
                    Some(Ok((base, append_time))) => {
                        let ts = if *append_time >= 0 {
                            *append_time
                        } else {
                            timestamp
                        };
                        Ok(success(
                            target,
                            partition,
                            base + index as i64,
                            ts,
                            key,
                            value,
                        ))
                    }
                    Some(Err(e)) => Err(e.clone()),
                    None => Err(RestError::kafka(
                        "the broker did not answer for the partition",
                    )),
                },
            })
            .collect()
    }
}

impl Target {
    /// The partition this window's unkeyed records share.
    pub(crate) fn next_sticky(&self) -> i32 {
        (self.sticky.fetch_add(1, Ordering::Relaxed) % self.partitions.max(1) as u32) as i32
    }
}

/// Per partition: (base offset, log append time or -1), or the error.
type Outcomes = BTreeMap<i32, Result<(i64, i64), RestError>>;

async fn send(target: &Target, batches: &BTreeMap<i32, Vec<OutRecord>>) -> Outcomes {
    let now = crate::instant::now_ms();
    let mut partition_data = Vec::with_capacity(batches.len());
    let mut outcomes = Outcomes::new();
    for (partition, records) in batches {
        match encode_batch(records, now) {
            Ok(bytes) => partition_data.push(
                PartitionProduceData::default()
                    .with_index(*partition)
                    .with_records(Some(bytes)),
            ),
            Err(e) => {
                outcomes.insert(*partition, Err(e));
            }
        }
    }
    if partition_data.is_empty() {
        return outcomes;
    }
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(PRODUCE_TIMEOUT_MS)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(target.topic.clone())))
            .with_partition_data(partition_data)]);
    let response = match target.proxy.send(&target.caller, request).await {
        Ok(r) => r,
        Err(e) => {
            for p in batches.keys() {
                outcomes.entry(*p).or_insert_with(|| Err(e.clone()));
            }
            return outcomes;
        }
    };
    for topic in response.responses {
        for p in topic.partition_responses {
            let outcome = if p.error_code == 0 {
                Ok((p.base_offset, p.log_append_time_ms))
            } else {
                let message = p.error_message.as_deref().map(|m| m.to_string());
                Err(match ResponseError::try_from_code(p.error_code) {
                    Some(e) => RestError::from_kafka(e, message.as_deref()),
                    None => RestError::kafka(format!("error code {}", p.error_code)),
                })
            };
            outcomes.insert(p.index, outcome);
        }
    }
    outcomes
}

fn success(
    target: &Target,
    partition: i32,
    offset: i64,
    timestamp: i64,
    key: Option<DataInfo>,
    value: Option<DataInfo>,
) -> Value {
    let mut o = json!({
        "error_code": 200,
        "cluster_id": target.cluster_id,
        "topic_name": target.topic,
        "partition_id": partition,
        "offset": offset,
        "timestamp": crate::instant::format_instant(timestamp),
    });
    if let Some(k) = key {
        o["key"] = k.to_json();
    }
    if let Some(v) = value {
        o["value"] = v.to_json();
    }
    o
}

/// A start for the sticky rotation that differs between requests.
fn rand_seed() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}
