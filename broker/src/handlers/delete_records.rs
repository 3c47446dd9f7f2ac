//! DeleteRecords (key 21): move a partition's log start offset forward.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use strata_governance::Operation;

use super::{storage_error_code, RequestContext};

/// Offset -1 means "up to the high watermark".
const TO_HIGH_WATERMARK: i64 = -1;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let _turn = ctx.append_turn().await;
    let cluster = &ctx.broker.cluster;
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let topic = cluster.topic(&t.name);
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let result = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(-1);
                    let Some(log) = topic.as_ref().and_then(|t| t.partition(p.partition_index))
                    else {
                        return result
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    if !ctx.may_topic(Operation::Delete, &t.name) {
                        return result
                            .with_error_code(ResponseError::TopicAuthorizationFailed.code());
                    }
                    let offset = if p.offset == TO_HIGH_WATERMARK {
                        log.high_watermark()
                    } else {
                        p.offset
                    };
                    if offset < 0 {
                        return result.with_error_code(ResponseError::OffsetOutOfRange.code());
                    }
                    match log.delete_records_before(offset) {
                        Ok(low_watermark) => result.with_low_watermark(low_watermark),
                        Err(e) => result.with_error_code(storage_error_code(&e).code()),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}
