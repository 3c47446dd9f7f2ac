//! ListOffsets (key 2): earliest, latest, max timestamp and by-time lookups.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::records::RecordBatchDecoder;
use std::sync::Arc;

use strata_storage::Log;
use strata_tier::{RemotePartition, RemoteReadError, Tier};

use strata_governance::Operation;

use super::{storage_error_code, RequestContext};

/// ListOffsets v4 added the leader epoch; older versions cannot carry it.
const LEADER_EPOCH_FROM_VERSION: i16 = 4;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const LATEST_TIERED: i64 = -5;

/// `isolation_level` of read_committed consumers (ListOffsets v2+).
const READ_COMMITTED: i8 = 1;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let cluster = &ctx.broker.cluster;
    let mut topics = Vec::with_capacity(request.topics.len());
    for t in request.topics {
        let topic = cluster.topic(&t.name);
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in t.partitions {
            let response = ListOffsetsPartitionResponse::default()
                .with_partition_index(p.partition_index)
                .with_timestamp(-1)
                .with_offset(-1)
                .with_leader_epoch(-1);
            let Some((topic, log)) = topic
                .as_ref()
                .and_then(|t| Some((t, t.partition(p.partition_index)?)))
            else {
                partitions
                    .push(response.with_error_code(ResponseError::UnknownTopicOrPartition.code()));
                continue;
            };
            if !ctx.may_topic(Operation::Describe, &t.name) {
                partitions
                    .push(response.with_error_code(ResponseError::TopicAuthorizationFailed.code()));
                continue;
            }
            if p.current_leader_epoch > 0 {
                partitions.push(response.with_error_code(ResponseError::UnknownLeaderEpoch.code()));
                continue;
            }
            let remote = cluster.remote_partition(topic, p.partition_index);
            let committed = request.isolation_level == READ_COMMITTED;
            partitions.push(match lookup(&log, remote, p.timestamp, committed).await {
                Ok(Some((offset, timestamp))) => response
                    .with_offset(offset)
                    .with_timestamp(timestamp)
                    .with_leader_epoch(if ctx.version >= LEADER_EPOCH_FROM_VERSION {
                        0
                    } else {
                        -1
                    }),
                Ok(None) => response,
                Err(code) => response.with_error_code(code.code()),
            });
        }
        topics.push(
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    ListOffsetsResponse::default().with_topics(topics)
}

/// The (offset, timestamp) answering `target`; `None` where Kafka answers -1.
async fn lookup(
    log: &Log,
    remote: Option<(Arc<Tier>, Arc<RemotePartition>)>,
    target: i64,
    committed: bool,
) -> Result<Option<(i64, i64)>, ResponseError> {
    match target {
        // read_committed consumers end at the last stable offset.
        LATEST if committed => Ok(Some((log.last_stable_offset(), -1))),
        LATEST => Ok(Some((log.high_watermark(), -1))),
        // Across both tiers.
        EARLIEST => Ok(Some((log.log_start_offset(), -1))),
        EARLIEST_LOCAL => Ok(Some((log.local_log_start_offset(), -1))),
        // The last offset uploaded (KIP-1005); -1 when nothing is.
        LATEST_TIERED => Ok(log.tiered_range().map(|r| (r.end - 1, -1))),
        MAX_TIMESTAMP => {
            let batch = log
                .batch_with_max_timestamp()
                .map_err(|e| storage_error_code(&e))?;
            Ok(batch.and_then(|b| {
                find_record(b, |records| {
                    records.iter().max_by_key(|(_, ts)| *ts).copied()
                })
            }))
        }
        t if t >= 0 => {
            let start = log.log_start_offset();
            if let Some((tier, remote)) = remote.filter(|_| start < log.local_log_start_offset()) {
                let batch = tier
                    .batch_at_timestamp(&remote, t)
                    .await
                    .map_err(|e| match e {
                        RemoteReadError::OutOfRange(_) => ResponseError::OffsetOutOfRange,
                        RemoteReadError::Store(e) => {
                            tracing::warn!(
                                error = format!("{e:#}"),
                                "remote timestamp lookup failed"
                            );
                            ResponseError::KafkaStorageError
                        }
                    })?;
                let found = batch.and_then(|b| {
                    find_record(b, |records| {
                        records
                            .iter()
                            .find(|(offset, ts)| *ts >= t && *offset >= start)
                            .copied()
                    })
                });
                if found.is_some() {
                    return Ok(found);
                }
            }
            let batch = log
                .batch_at_timestamp(t)
                .map_err(|e| storage_error_code(&e))?;
            let start = log.log_start_offset();
            Ok(batch.and_then(|b| {
                find_record(b, |records| {
                    records
                        .iter()
                        .find(|(offset, ts)| *ts >= t && *offset >= start)
                        .copied()
                })
            }))
        }
        _ => Err(ResponseError::InvalidRequest),
    }
}

/// Decodes one batch (decompressing if needed: by-time lookups are the one
/// ListOffsets case that looks at records) and picks a record from it.
fn find_record(
    mut batch: bytes::Bytes,
    pick: impl Fn(&[(i64, i64)]) -> Option<(i64, i64)>,
) -> Option<(i64, i64)> {
    let set = match RecordBatchDecoder::decode(&mut batch) {
        Ok(set) => set,
        Err(e) => {
            tracing::error!(error = %e, "stored batch failed to decode during timestamp lookup");
            return None;
        }
    };
    let records: Vec<(i64, i64)> = set
        .records
        .iter()
        .map(|r| (r.offset, r.timestamp))
        .collect();
    pick(&records)
}
