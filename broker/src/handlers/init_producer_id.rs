//! InitProducerId (key 22): a producer id and epoch for an idempotent or
//! transactional producer.
//!
//! Without a transactional id the producer is idempotent only: it gets a new
//! id at epoch 0 every time, whatever id it held (Kafka answers the same way:
//! the sequence state of an idempotent producer lives in the partitions, not
//! with a coordinator). With a transactional id the transaction coordinator
//! answers (fencing the id's earlier producer).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use strata_governance::{Operation, Resource, ResourceType};

use super::RequestContext;

/// InitProducerId v4 introduced PRODUCER_FENCED (KIP-588).
const PRODUCER_FENCED_FROM_VERSION: i16 = 4;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let answer = match &request.transactional_id {
        None => idempotent(ctx).await,
        Some(id) => transactional(ctx, id.as_str(), &request).await,
    };
    match answer {
        Ok((producer_id, producer_epoch)) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(producer_epoch),
        // Kafka tells pre-v4 clients, which lack PRODUCER_FENCED, the older code.
        Err(ResponseError::ProducerFenced) if ctx.version < PRODUCER_FENCED_FROM_VERSION => {
            InitProducerIdResponse::default()
                .with_error_code(ResponseError::InvalidProducerEpoch.code())
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
        }
        Err(code) => InitProducerIdResponse::default()
            .with_error_code(code.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    }
}

async fn idempotent(ctx: &RequestContext) -> Result<(i64, i16), ResponseError> {
    // Kafka: IdempotentWrite on the cluster, or Write on any topic.
    // (authorizeByResourceType: a prefixed or wildcard ACL counts even
    // before any topic it names exists).
    if !ctx.may_quietly(Operation::IdempotentWrite, Resource::Cluster)
        && !ctx.may_any(Operation::Write, ResourceType::Topic)
    {
        ctx.audit_denied(Operation::IdempotentWrite, &Resource::Cluster);
        return Err(ResponseError::ClusterAuthorizationFailed);
    }
    let id = ctx.broker.producer_ids.next(&ctx.broker.cluster).await?;
    Ok((id, 0))
}

async fn transactional(
    ctx: &RequestContext,
    transactional_id: &str,
    request: &InitProducerIdRequest,
) -> Result<(i64, i16), ResponseError> {
    if transactional_id.is_empty() {
        return Err(ResponseError::InvalidRequest);
    }
    if !ctx.may(
        Operation::Write,
        Resource::TransactionalId(transactional_id),
    ) {
        return Err(ResponseError::TransactionalIdAuthorizationFailed);
    }
    let transactions = &ctx.broker.transactions;
    transactions
        .ensure_state_topic(&ctx.broker.cluster)
        .await
        .map_err(|_| ResponseError::CoordinatorNotAvailable)?;
    transactions
        .init_producer_id(
            transactional_id,
            request.transaction_timeout_ms,
            request.producer_id.0,
            request.producer_epoch,
            request.enable_2_pc,
        )
        .await
}
