//! DescribeProducers (key 61): the idempotent and transactional producers
//! each partition knows, with their epoch, last sequence and open
//! transaction, read from the log's producer state.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};
use strata_governance::Operation;

use super::RequestContext;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let mut topics = Vec::with_capacity(request.topics.len());
    for t in request.topics {
        let topic = ctx.broker.cluster.topic(&t.name);
        let allowed = ctx.may_topic(Operation::Read, &t.name);
        let partitions = t
            .partition_indexes
            .iter()
            .map(|&index| {
                let response = PartitionResponse::default().with_partition_index(index);
                if !allowed {
                    return response
                        .with_error_code(ResponseError::TopicAuthorizationFailed.code());
                }
                let Some(log) = topic.as_ref().and_then(|t| t.partition(index)) else {
                    return response.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                };
                response.with_active_producers(
                    log.producers()
                        .into_iter()
                        .map(|p| {
                            ProducerState::default()
                                .with_producer_id(ProducerId(p.producer_id))
                                .with_producer_epoch(i32::from(p.producer_epoch))
                                .with_last_sequence(p.last_sequence)
                                .with_last_timestamp(p.last_timestamp)
                                .with_coordinator_epoch(p.coordinator_epoch)
                                .with_current_txn_start_offset(p.current_txn_start_offset)
                        })
                        .collect(),
                )
            })
            .collect();
        topics.push(
            TopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    DescribeProducersResponse::default().with_topics(topics)
}
