//! Produce (key 0): check each partition's batch header and CRC, append the
//! bytes unchanged with offsets patched in place, and for acks=all answer only
//! once the group-committed fsync covers them.
//!
//! Every check reads the RecordBatch v2 header, except two that topic
//! configs turn on: keyless records on compacted topics, and broker-side
//! schema validation ([`crate::schema_validation`]). Only those decode (and
//! decompress) records; other topics never do.

use std::time::Duration;

use bytes::Bytes;
use futures::future::join_all;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use strata_storage::{FlushPolicy, Log};
use strata_wire::batch::{BatchError, BatchHeader, Compression};

use strata_governance::{Operation, Resource};

use super::{storage_error_code, text, RequestContext};
use crate::clock::now_ms;
use crate::cluster::is_internal;
use crate::schema_validation::{Refused, SchemaValidator};
use crate::topic_config::{EffectiveTopicConfig, TimestampType};

/// Produce v13 names topics by id instead of by name.
const TOPIC_IDS_FROM_VERSION: i16 = 13;

/// Kafka accepts zstd-compressed batches from Produce v7 on (KIP-110).
const ZSTD_FROM_VERSION: i16 = 7;

/// A partition's outcome before durability is awaited.
struct Appended {
    log: Log,
    end_offset: i64,
    /// The log fsyncs before its high watermark moves (FlushPolicy::Always).
    syncs_before_visible: bool,
}

pub(super) async fn handle(ctx: &RequestContext, request: ProduceRequest) -> ProduceResponse {
    let cluster = &ctx.broker.cluster;
    let acks = request.acks;
    let turn = ctx.append_turn().await;
    let now = now_ms();
    let mut responses = Vec::with_capacity(request.topic_data.len());
    let mut pending: Vec<(usize, usize, Appended)> = Vec::new();
    for topic_data in request.topic_data {
        let topic = if ctx.version >= TOPIC_IDS_FROM_VERSION {
            cluster.topic_by_id(topic_data.topic_id)
        } else {
            cluster.topic(&topic_data.name)
        };
        let unknown = if ctx.version >= TOPIC_IDS_FROM_VERSION {
            ResponseError::UnknownTopicId
        } else {
            ResponseError::UnknownTopicOrPartition
        };
        let mut partitions = Vec::with_capacity(topic_data.partition_data.len());
        for data in topic_data.partition_data {
            let response = PartitionProduceResponse::default().with_index(data.index);
            let log = topic.as_ref().and_then(|t| {
                t.partition(data.index)
                    .map(|log| (t.name.as_str(), t.effective_config(), log))
            });
            let outcome = match (acks, log) {
                (-1..=1, Some(_)) if is_internal(&topic_data.name) => Err(failure(
                    ResponseError::InvalidTopicException,
                    Some(format!(
                        "Cannot append to internal topic {}",
                        topic_data.name.as_str()
                    )),
                )),
                (-1..=1, Some(_)) if !ctx.may_topic(Operation::Write, &topic_data.name) => {
                    Err(failure(ResponseError::TopicAuthorizationFailed, None))
                }
                (-1..=1, Some((name, config, log))) => {
                    if let Err(refused) = verify_transaction(
                        ctx,
                        &request.transactional_id,
                        &topic_data.name,
                        data.index,
                        &data.records,
                    )
                    .await
                    {
                        Err(refused)
                    } else {
                        let syncs_before_visible = matches!(config.log.flush, FlushPolicy::Always);
                        let checks = Checks {
                            acks,
                            version: ctx.version,
                            config: &config,
                            topic: name,
                            partition: data.index,
                            validator: &ctx.broker.schema_validator,
                            now,
                        };
                        append(&log, data.records, &checks).map(|(fields, end_offset)| {
                            (
                                fields,
                                Appended {
                                    log,
                                    end_offset,
                                    syncs_before_visible,
                                },
                            )
                        })
                    }
                }
                (-1..=1, None) => Err(failure(unknown, None)),
                _ => Err(failure(ResponseError::InvalidRequiredAcks, None)),
            };
            match outcome {
                Ok((fields, appended)) => {
                    if !fields.duplicate {
                        ctx.broker
                            .metrics
                            .produced_bytes
                            .inc_by(fields.bytes as u64);
                        if let Some(topic) = &topic {
                            topic.traffic.produced(fields.bytes as u64, fields.records);
                        }
                    }
                    pending.push((responses.len(), partitions.len(), appended));
                    partitions.push(
                        response
                            .with_base_offset(fields.base_offset)
                            .with_log_append_time_ms(fields.log_append_time.unwrap_or(-1))
                            .with_log_start_offset(fields.log_start_offset),
                    );
                }
                Err(f) => partitions.push(
                    response
                        .with_error_code(f.code.code())
                        .with_error_message(f.message.map(text))
                        .with_record_errors(f.record_errors)
                        .with_base_offset(-1)
                        .with_log_start_offset(-1),
                ),
            }
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic_data.name)
                .with_topic_id(topic_data.topic_id)
                .with_partition_responses(partitions),
        );
    }
    // Appends are done: the connection's next produce may append while this
    // one waits for its fsync.
    drop(turn);
    if acks == -1 {
        let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
        let waits = pending
            .iter()
            .map(|(_, _, a)| a.log.wait_durable(a.end_offset));
        let results = tokio::time::timeout(timeout, join_all(waits)).await;
        for (i, (t, p, _)) in pending.iter().enumerate() {
            let code = match &results {
                Ok(results) => match &results[i] {
                    Ok(()) => continue,
                    Err(e) => storage_error_code(e),
                },
                Err(_) => ResponseError::RequestTimedOut,
            };
            let partition = &mut responses[*t].partition_responses[*p];
            partition.error_code = code.code();
            partition.base_offset = -1;
        }
    } else {
        // acks 0 and 1 answer at once; the high watermark still waits for the
        // fsync, which must therefore be started.
        for (_, _, appended) in pending {
            if appended.syncs_before_visible {
                tokio::spawn(async move {
                    if let Err(e) = appended.log.wait_durable(appended.end_offset).await {
                        tracing::error!(error = %e, "background fsync failed");
                    }
                });
            }
        }
    }
    ProduceResponse::default().with_responses(responses)
}

struct Failure {
    code: ResponseError,
    message: Option<String>,
    /// Per-record errors (Produce v8+), naming records by batch index.
    record_errors: Vec<BatchIndexAndErrorMessage>,
}

fn failure(code: ResponseError, message: Option<String>) -> Failure {
    Failure {
        code,
        message,
        record_errors: Vec::new(),
    }
}

struct AppendFields {
    base_offset: i64,
    log_append_time: Option<i64>,
    log_start_offset: i64,
    bytes: usize,
    /// Records in the batch.
    records: u64,
    /// A producer's retry of a batch already in the log: nothing was written.
    duplicate: bool,
}

/// What one partition's records are checked against.
struct Checks<'a> {
    acks: i16,
    version: i16,
    config: &'a EffectiveTopicConfig,
    topic: &'a str,
    partition: i32,
    validator: &'a SchemaValidator,
    now: i64,
}

/// Validates one partition's records from their header and appends them.
/// Returns the response fields and the end offset to wait for.
fn append(
    log: &Log,
    records: Option<Bytes>,
    checks: &Checks<'_>,
) -> Result<(AppendFields, i64), Failure> {
    let Checks {
        acks,
        version,
        config,
        now,
        ..
    } = *checks;
    let records = records.unwrap_or_default();
    let header = BatchHeader::parse(&records).map_err(|e| match e {
        BatchError::UnsupportedMagic(m) => failure(
            ResponseError::InvalidRecord,
            Some(format!("Produce requests with version 3+ are only allowed to contain record batches with magic version 2, got {m}")),
        ),
        other => failure(ResponseError::CorruptMessage, Some(other.to_string())),
    })?;
    if header.total_len() != records.len() {
        return Err(failure(
            ResponseError::InvalidRecord,
            Some("Produce requests with version 3+ are only allowed to contain exactly one record batch".into()),
        ));
    }
    if header.total_len() > config.max_message_bytes {
        return Err(failure(
            ResponseError::MessageTooLarge,
            Some(format!(
                "The record batch of {} bytes is larger than max.message.bytes {}",
                header.total_len(),
                config.max_message_bytes
            )),
        ));
    }
    if header.compression() == Compression::Zstd && version < ZSTD_FROM_VERSION {
        return Err(failure(
            ResponseError::UnsupportedCompressionType,
            Some(format!(
                "zstd batches need Produce v{ZSTD_FROM_VERSION} or later"
            )),
        ));
    }
    if let Compression::Unknown(id) = header.compression() {
        return Err(failure(
            ResponseError::CorruptMessage,
            Some(format!("unknown compression codec id {id}")),
        ));
    }
    check_producer_fields(&header)?;
    if config.log.compact {
        // The one produce-path check that reads records: Kafka refuses keyless
        // records on compacted topics. Topics without compaction never pay for it.
        match strata_wire::records::batch_has_null_key(&records) {
            Ok(false) => {}
            Ok(true) => return Err(keyless_refused(&records, checks)),
            Err(e) => return Err(failure(ResponseError::CorruptMessage, Some(e.to_string()))),
        }
    }
    if let Some(validation) = &config.schema_validation {
        checks
            .validator
            .check(checks.topic, validation, &records)
            .map_err(refused)?;
    }
    if config.timestamp_type == TimestampType::CreateTime {
        check_timestamps(&header, config, now)?;
    }
    if acks == -1 && config.min_insync_replicas > 1 {
        return Err(failure(
            ResponseError::NotEnoughReplicas,
            Some(format!(
                "min.insync.replicas is {} but a single-node Strata has 1 in-sync replica",
                config.min_insync_replicas
            )),
        ));
    }
    let bytes = records.len();
    let record_count = header.record_count().max(0) as u64;
    // The topic's compression.type: a batch in another codec is rewritten
    // once here; a `producer` topic, or a batch already in the codec, is not.
    let records = match strata_wire::recompress::recompress(&records, config.compression) {
        Ok(None) => records,
        Ok(Some(rewritten)) => rewritten,
        Err(e) => return Err(failure(ResponseError::CorruptMessage, Some(e.to_string()))),
    };
    let log_append_time = (config.timestamp_type == TimestampType::LogAppendTime).then_some(now);
    let info = log.append(records, 0, log_append_time).map_err(|e| {
        let code = storage_error_code(&e);
        failure(code, Some(e.to_string()))
    })?;
    Ok((
        AppendFields {
            base_offset: info.base_offset,
            log_append_time: info.log_append_time,
            log_start_offset: info.log_start_offset,
            bytes,
            records: record_count,
            duplicate: info.duplicate,
        },
        info.last_offset + 1,
    ))
}

/// Produce v12 is how a transaction version 2 producer (KIP-890) says it
/// relies on the broker to add partitions to its transaction.
const IMPLICIT_ADD_FROM_VERSION: i16 = 12;

/// A transactional batch must come with its transactional id, which the
/// principal may write, and its partition must be in the producer's ongoing
/// transaction: added here for Produce v12 (transaction version 2, which
/// ApiVersions finalizes), checked for older versions, whose producers add
/// partitions with AddPartitionsToTxn (Kafka's transaction verification).
async fn verify_transaction(
    ctx: &RequestContext,
    transactional_id: &Option<kafka_protocol::messages::TransactionalId>,
    topic: &str,
    partition: i32,
    records: &Option<Bytes>,
) -> Result<(), Failure> {
    let Some(header) = records
        .as_deref()
        .and_then(|r| BatchHeader::parse(r).ok())
        .filter(|h| h.is_transactional() && !h.is_control())
    else {
        return Ok(());
    };
    let Some(id) = transactional_id
        .as_ref()
        .filter(|id| ctx.may(Operation::Write, Resource::TransactionalId(id.as_str())))
    else {
        return Err(failure(
            ResponseError::TransactionalIdAuthorizationFailed,
            None,
        ));
    };
    ctx.broker
        .transactions
        .verify_or_add_partition(
            id.as_str(),
            header.producer_id(),
            header.producer_epoch(),
            topic,
            partition,
            ctx.version >= IMPLICIT_ADD_FROM_VERSION,
        )
        .await
        .map_err(|e| failure(crate::transactions::for_produce(e), None))
}

/// What Kafka's `LogValidator` checks of a client batch's producer fields:
/// control batches come only from coordinators, and a producer id needs a
/// sequence. Sequences and epochs are the log's to check (`strata_storage`'s
/// producer state), under its writer lock.
fn check_producer_fields(header: &BatchHeader<'_>) -> Result<(), Failure> {
    if header.is_control() {
        return Err(failure(
            ResponseError::InvalidRecord,
            Some("Clients may not write control batches (transaction markers)".into()),
        ));
    }
    if header.producer_id() >= 0 && header.base_sequence() < 0 {
        return Err(failure(
            ResponseError::InvalidRecord,
            Some(format!(
                "Invalid sequence number {} in record batch with producerId {}",
                header.base_sequence(),
                header.producer_id()
            )),
        ));
    }
    Ok(())
}

/// The answer to a batch that schema validation refused.
/// A compacted topic's refusal of keyless records, as Kafka's LogValidator
/// words it: INVALID_RECORD naming each keyless record's batch index, so
/// librdkafka fails those records with INVALID_RECORD and the batch's
/// others with _INVALID_DIFFERENT_RECORD. Only runs once a keyless record
/// was found.
fn keyless_refused(records: &[u8], checks: &Checks<'_>) -> Failure {
    let message = format!(
        "Compacted topic cannot accept message without key in topic partition {}-{}.",
        checks.topic, checks.partition
    );
    let mut errors = Vec::new();
    let walked = strata_wire::records::for_each_record(records, |index, key, _| {
        if key.is_none() {
            errors.push((index, message.clone()));
        }
    });
    match walked {
        Ok(()) => refused(Refused::Records(errors)),
        Err(e) => refused(Refused::Corrupt(e)),
    }
}

fn refused(refused: Refused) -> Failure {
    match refused {
        Refused::Records(errors) => Failure {
            code: ResponseError::InvalidRecord,
            message: Some(Refused::summary(&errors)),
            record_errors: errors
                .into_iter()
                .map(|(index, message)| {
                    BatchIndexAndErrorMessage::default()
                        .with_batch_index(index as i32)
                        .with_batch_index_error_message(Some(text(message)))
                })
                .collect(),
        },
        Refused::Corrupt(e) => failure(ResponseError::CorruptMessage, Some(e.to_string())),
    }
}

/// `message.timestamp.after.max.ms` / `before.max.ms`, from the batch's max
/// and first timestamps (the header bounds every record's timestamp that
/// matters here without decoding the records).
fn check_timestamps(
    header: &BatchHeader<'_>,
    config: &EffectiveTopicConfig,
    now: i64,
) -> Result<(), Failure> {
    let max = header.max_timestamp();
    if max >= 0 && max.saturating_sub(now) > config.timestamp_after_max_ms {
        return Err(failure(
            ResponseError::InvalidTimestamp,
            Some(format!("Timestamp {max} is more than message.timestamp.after.max.ms ahead of the broker's clock")),
        ));
    }
    let first = header.base_timestamp();
    if first >= 0 && now.saturating_sub(first) > config.timestamp_before_max_ms {
        return Err(failure(
            ResponseError::InvalidTimestamp,
            Some(format!("Timestamp {first} is more than message.timestamp.before.max.ms behind the broker's clock")),
        ));
    }
    Ok(())
}
