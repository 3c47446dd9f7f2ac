//! DescribeTransactions (key 65, KIP-664).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId,
};
use strata_governance::{Operation, Resource};

use super::{text, topic_name, RequestContext};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let (allowed, refused): (Vec<_>, Vec<_>) = request.transactional_ids.iter().partition(|id| {
        ctx.may(
            Operation::Describe,
            Resource::TransactionalId(id.0.as_str()),
        )
    });
    let ids: Vec<String> = allowed.iter().map(|id| id.0.to_string()).collect();
    let mut states: Vec<TransactionState> = ctx
        .broker
        .transactions
        .describe(&ids)
        .into_iter()
        .map(|(id, result)| {
            let base = TransactionState::default().with_transactional_id(text(id).into());
            match result {
                Err(e) => base.with_error_code(e.code()),
                Ok(d) => {
                    let mut topics: Vec<TopicData> = Vec::new();
                    // Kafka leaves out topics the principal may not describe.
                    for (topic, partition) in d
                        .partitions
                        .iter()
                        .filter(|(t, _)| ctx.may_topic_quietly(Operation::Describe, t))
                    {
                        match topics.iter_mut().find(|t| t.topic.0.as_str() == topic) {
                            Some(t) => t.partitions.push(*partition),
                            None => topics.push(
                                TopicData::default()
                                    .with_topic(topic_name(topic))
                                    .with_partitions(vec![*partition]),
                            ),
                        }
                    }
                    base.with_transaction_state(text(d.state.name()))
                        .with_transaction_timeout_ms(d.timeout_ms)
                        .with_transaction_start_time_ms(d.start_ms)
                        .with_producer_id(ProducerId(d.producer_id))
                        .with_producer_epoch(d.producer_epoch)
                        .with_topics(topics)
                }
            }
        })
        .collect();
    states.extend(refused.into_iter().map(|id| {
        TransactionState::default()
            .with_transactional_id(id.clone())
            .with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code())
    }));
    DescribeTransactionsResponse::default().with_transaction_states(states)
}
