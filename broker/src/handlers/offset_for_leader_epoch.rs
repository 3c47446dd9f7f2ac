//! OffsetForLeaderEpoch (key 23): the end offset of a leader epoch, which
//! consumers use to detect truncation after a leader change. A single node
//! only ever has epoch 0, whose end is the log end offset.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use strata_governance::Operation;

use super::RequestContext;

const CURRENT_EPOCH: i32 = 0;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let cluster = &ctx.broker.cluster;
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let topic = cluster.topic(&t.topic);
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let result = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    let Some(log) = topic.as_ref().and_then(|t| t.partition(p.partition)) else {
                        return result
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    if !ctx.may_topic(Operation::Describe, &t.topic) {
                        return result
                            .with_error_code(ResponseError::TopicAuthorizationFailed.code());
                    }
                    if p.current_leader_epoch > CURRENT_EPOCH {
                        return result.with_error_code(ResponseError::UnknownLeaderEpoch.code());
                    }
                    if p.leader_epoch == CURRENT_EPOCH {
                        result
                            .with_leader_epoch(CURRENT_EPOCH)
                            .with_end_offset(log.log_end_offset())
                    } else {
                        // Unknown epoch: Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET.
                        result
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
