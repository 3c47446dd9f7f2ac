//! TxnOffsetCommit (key 28): a transactional producer commits a consumer
//! group's offsets as part of its transaction (KIP-98, exactly-once
//! consume-transform-produce). The offsets stay pending until the
//! transaction ends (see `groups/txn_offsets.rs`).
//!
//! Checks in Kafka's order (KafkaApis.handleTxnOffsetCommitRequest): WRITE on
//! the transactional id and READ on the group answer every partition; then
//! per topic READ and existence; what remains goes to the group coordinator,
//! which checks the member fields of v3+ against the group.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use strata_governance::{Operation, Resource};

use super::offset_commit::CommitPlan;
use super::RequestContext;
use crate::groups::{Committer, OffsetCommit};

/// The first version carrying generation id, member id and group instance id.
const MEMBER_FIELDS_FROM_VERSION: i16 = 3;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    // In the connection's order: see AppendTurn.
    let _turn = ctx.append_turn().await;
    let group_id = request.group_id.0.to_string();
    let request_error = if !ctx.may(
        Operation::Write,
        Resource::TransactionalId(request.transactional_id.0.as_str()),
    ) {
        Some(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !ctx.may(Operation::Read, Resource::Group(&group_id)) {
        Some(ResponseError::GroupAuthorizationFailed)
    } else {
        None
    };
    let mut plan = CommitPlan::new(
        ctx,
        request_error,
        request
            .topics
            .iter()
            .map(|t| (t.name.as_str(), t.partitions.as_slice())),
    );
    let mut topics: Vec<TxnOffsetCommitResponseTopic> = request
        .topics
        .iter()
        .map(|t| {
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                        })
                        .collect(),
                )
        })
        .collect();
    let commits = std::mem::take(&mut plan.commits);
    let outcome = if commits.is_empty() {
        Ok(Vec::new())
    } else {
        commit(ctx, &request, &group_id, commits).await
    };
    for (ti, pi, code) in plan.codes(&outcome) {
        topics[ti].partitions[pi].error_code = code;
    }
    TxnOffsetCommitResponse::default().with_topics(topics)
}

/// The coordinator's part, for the partitions that passed the request's
/// checks: per-partition results in order, or one error for them all.
async fn commit(
    ctx: &RequestContext,
    request: &TxnOffsetCommitRequest,
    group_id: &str,
    commits: Vec<OffsetCommit>,
) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
    if group_id.is_empty() {
        return Err(ResponseError::InvalidGroupId);
    }
    let groups = &ctx.broker.groups;
    groups
        .ensure_offsets_topic(&ctx.broker.cluster)
        .await
        .map_err(|_| ResponseError::CoordinatorNotAvailable)?;
    verify_txn_offset_commit(ctx, request, group_id).await?;
    let committer = (ctx.version >= MEMBER_FIELDS_FROM_VERSION).then(|| Committer {
        generation_id: request.generation_id,
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
    });
    groups
        .txn_offset_commit(
            group_id,
            request.producer_id.0,
            request.producer_epoch,
            committer,
            commits,
        )
        .await
}

/// TxnOffsetCommit v5 is sent by transaction version 2 producers (KIP-890),
/// which no longer send AddOffsetsToTxn.
const IMPLICIT_ADD_FROM_VERSION: i16 = 5;

/// The transaction coordinator's check that this commit belongs to an
/// ongoing transaction of `transactional_id` at this producer id and epoch
/// (INVALID_PRODUCER_ID_MAPPING, INVALID_PRODUCER_EPOCH / PRODUCER_FENCED,
/// INVALID_TXN_STATE otherwise), and that the group's `__consumer_offsets`
/// partition is in the transaction: added by AddOffsetsToTxn before v5,
/// added implicitly here for v5 (transaction version 2, KIP-890), so that
/// the COMMIT/ABORT marker reaches that partition.
async fn verify_txn_offset_commit(
    ctx: &RequestContext,
    request: &TxnOffsetCommitRequest,
    group_id: &str,
) -> Result<(), ResponseError> {
    let partition = ctx
        .broker
        .groups
        .offsets_partition(group_id)
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    ctx.broker
        .transactions
        .verify_or_add_partition(
            request.transactional_id.as_str(),
            request.producer_id.0,
            request.producer_epoch,
            crate::groups::OFFSETS_TOPIC,
            partition,
            ctx.version >= IMPLICIT_ADD_FROM_VERSION,
        )
        .await
}
