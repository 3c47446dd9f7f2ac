//! AddPartitionsToTxn (key 24): v0-3 from producers (one transaction), v4-5
//! from brokers (batched, with `verify_only`; needs ClusterAction), as
//! Kafka's `handleAddPartitionsToTxnRequest`.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, TransactionalId,
};
use strata_governance::{Operation, Resource};

use super::{topic_name, RequestContext};

/// v4 is the first batched, broker-to-coordinator version.
const BATCHED_FROM_VERSION: i16 = 4;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    if ctx.version < BATCHED_FROM_VERSION {
        let results = add_one(
            ctx,
            request.v3_and_below_transactional_id.0.as_str(),
            request.v3_and_below_producer_id.0,
            request.v3_and_below_producer_epoch,
            &request.v3_and_below_topics,
            false,
        )
        .await;
        return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results);
    }
    if !ctx.may(Operation::ClusterAction, Resource::Cluster) {
        return AddPartitionsToTxnResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    let mut results = Vec::with_capacity(request.transactions.len());
    for txn in &request.transactions {
        let topics = add_one(
            ctx,
            txn.transactional_id.0.as_str(),
            txn.producer_id.0,
            txn.producer_epoch,
            &txn.topics,
            txn.verify_only,
        )
        .await;
        results.push(
            AddPartitionsToTxnResult::default()
                .with_transactional_id(TransactionalId(txn.transactional_id.0.clone()))
                .with_topic_results(topics),
        );
    }
    AddPartitionsToTxnResponse::default().with_results_by_transaction(results)
}

/// One transaction's partitions: refused ones get their error and the rest
/// OPERATION_NOT_ATTEMPTED; otherwise the coordinator's answer.
async fn add_one(
    ctx: &RequestContext,
    transactional_id: &str,
    producer_id: i64,
    producer_epoch: i16,
    topics: &[AddPartitionsToTxnTopic],
    verify_only: bool,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let partitions: Vec<(String, i32)> = topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.name.0.to_string(), *p)))
        .collect();
    // Brokers (v4+) are authorized by ClusterAction; producers need Write.
    if ctx.version < BATCHED_FROM_VERSION
        && !ctx.may(
            Operation::Write,
            Resource::TransactionalId(transactional_id),
        )
    {
        let e = ResponseError::TransactionalIdAuthorizationFailed;
        return group(partitions.into_iter().map(|p| (p, Err(e))).collect());
    }
    let checked: Vec<((String, i32), Option<ResponseError>)> = partitions
        .iter()
        .map(|(topic, partition)| {
            let refusal =
                if ctx.version < BATCHED_FROM_VERSION && !ctx.may_topic(Operation::Write, topic) {
                    Some(ResponseError::TopicAuthorizationFailed)
                } else {
                    match ctx.broker.cluster.topic(topic) {
                        Some(t) if (0..t.partition_count()).contains(partition) => None,
                        _ => Some(ResponseError::UnknownTopicOrPartition),
                    }
                };
            ((topic.clone(), *partition), refusal)
        })
        .collect();
    if checked.iter().any(|(_, refusal)| refusal.is_some()) {
        return group(
            checked
                .into_iter()
                .map(|(p, refusal)| {
                    (
                        p,
                        Err(refusal.unwrap_or(ResponseError::OperationNotAttempted)),
                    )
                })
                .collect(),
        );
    }
    let outcome = ctx
        .broker
        .transactions
        .add_partitions(
            transactional_id,
            producer_id,
            producer_epoch,
            &partitions,
            verify_only,
        )
        .await;
    let results = match outcome {
        Ok(results) => results,
        Err(e) => partitions.into_iter().map(|p| (p, Err(e))).collect(),
    };
    group(
        results
            .into_iter()
            .map(|(p, r)| (p, r.map_err(|e| for_version(e, ctx.version))))
            .collect(),
    )
}

/// Errors older clients do not know, as Kafka downgrades them.
fn for_version(e: ResponseError, version: i16) -> ResponseError {
    match e {
        ResponseError::ProducerFenced if version < 2 => ResponseError::InvalidProducerEpoch,
        ResponseError::TransactionAbortable if version < 5 => ResponseError::InvalidTxnState,
        other => other,
    }
}

/// Per-partition results grouped by topic, in request order.
fn group(
    results: Vec<((String, i32), Result<(), ResponseError>)>,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut topics: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for ((topic, partition), result) in results {
        let entry = AddPartitionsToTxnPartitionResult::default()
            .with_partition_index(partition)
            .with_partition_error_code(result.err().map_or(0, |e| e.code()));
        match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
            Some(t) => t.results_by_partition.push(entry),
            None => topics.push(
                AddPartitionsToTxnTopicResult::default()
                    .with_name(topic_name(&topic))
                    .with_results_by_partition(vec![entry]),
            ),
        }
    }
    topics
}
