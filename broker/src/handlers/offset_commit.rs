//! OffsetCommit (key 8): group members at their generation, or simple
//! consumers and admin clients with generation -1.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use strata_governance::{Operation, Resource};

use super::RequestContext;
use crate::cluster::Topic;
use crate::groups::{Committer, OffsetCommit};

/// A partition's own answer, decided before the coordinator is asked: the
/// request's error for every partition, then TOPIC_AUTHORIZATION_FAILED or
/// UNKNOWN_TOPIC_OR_PARTITION; `None` sends it to the coordinator.
/// TxnOffsetCommit decides the same way.
pub(super) fn partition_precheck(
    request_error: Option<ResponseError>,
    readable: bool,
    topic: Option<&Topic>,
    partition: i32,
) -> Option<ResponseError> {
    request_error.or_else(|| {
        if !readable {
            Some(ResponseError::TopicAuthorizationFailed)
        } else if topic.and_then(|t| t.partition(partition)).is_none() {
            Some(ResponseError::UnknownTopicOrPartition)
        } else {
            None
        }
    })
}

pub(super) async fn handle(
    ctx: &RequestContext,
    request: OffsetCommitRequest,
) -> OffsetCommitResponse {
    // In the connection's order: see AppendTurn.
    let _turn = ctx.append_turn().await;
    let group_id = request.group_id.0.to_string();
    let cluster = &ctx.broker.cluster;
    // Decide each partition's fate before committing: unknown or unauthorized
    // partitions answer on their own, the rest go to the coordinator together.
    let group_error = if group_id.is_empty() {
        Some(ResponseError::InvalidGroupId)
    } else if !ctx.may(Operation::Read, Resource::Group(&group_id)) {
        Some(ResponseError::GroupAuthorizationFailed)
    } else if ctx
        .broker
        .groups
        .ensure_offsets_topic(cluster)
        .await
        .is_err()
    {
        Some(ResponseError::CoordinatorNotAvailable)
    } else {
        None
    };
    let mut slots: Vec<(usize, usize, Option<ResponseError>)> = Vec::new();
    let mut commits = Vec::new();
    let mut topics: Vec<OffsetCommitResponseTopic> = Vec::with_capacity(request.topics.len());
    for (ti, t) in request.topics.iter().enumerate() {
        let topic = cluster.topic(&t.name);
        let readable = ctx.may_topic(Operation::Read, &t.name);
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for (pi, p) in t.partitions.iter().enumerate() {
            let precheck =
                partition_precheck(group_error, readable, topic.as_deref(), p.partition_index);
            if precheck.is_none() {
                commits.push(OffsetCommit {
                    topic: t.name.to_string(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                });
            }
            slots.push((ti, pi, precheck));
            partitions.push(
                OffsetCommitResponsePartition::default().with_partition_index(p.partition_index),
            );
        }
        topics.push(
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions),
        );
    }
    let committer = Committer {
        generation_id: request.generation_id_or_member_epoch,
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
    };
    let outcome = if commits.is_empty() {
        Ok(Vec::new())
    } else {
        ctx.broker
            .groups
            .commit(&group_id, &committer, commits)
            .await
    };
    let mut committed = match &outcome {
        Ok(results) => results
            .iter()
            .map(|r| r.err())
            .collect::<Vec<_>>()
            .into_iter(),
        Err(_) => Vec::new().into_iter(),
    };
    for (ti, pi, precheck) in slots {
        let code = match (precheck, &outcome) {
            (Some(e), _) => Some(e),
            (None, Err(e)) => Some(*e),
            (None, Ok(_)) => committed.next().flatten(),
        };
        topics[ti].partitions[pi].error_code = code.map_or(0, |e| e.code());
    }
    OffsetCommitResponse::default().with_topics(topics)
}
