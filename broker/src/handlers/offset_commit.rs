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

/// A requested partition's fields, which OffsetCommit and TxnOffsetCommit
/// name alike in types of their own.
pub(super) trait RequestedPartition {
    fn partition(&self) -> i32;
    fn commit(&self, topic: &str) -> OffsetCommit;
}

macro_rules! requested_partition {
    ($type:ty) => {
        impl RequestedPartition for $type {
            fn partition(&self) -> i32 {
                self.partition_index
            }

            fn commit(&self, topic: &str) -> OffsetCommit {
                OffsetCommit {
                    topic: topic.to_string(),
                    partition: self.partition_index,
                    offset: self.committed_offset,
                    leader_epoch: self.committed_leader_epoch,
                    metadata: self.committed_metadata.as_ref().map(|m| m.to_string()),
                }
            }
        }
    };
}

requested_partition!(kafka_protocol::messages::offset_commit_request::OffsetCommitRequestPartition);
requested_partition!(
    kafka_protocol::messages::txn_offset_commit_request::TxnOffsetCommitRequestPartition
);

/// The answer of the coordinator for the partitions it was given: one
/// result each, in order, or one error for them all.
pub(super) type Outcome = Result<Vec<Result<(), ResponseError>>, ResponseError>;

/// A commit request's partitions sorted out before the coordinator is
/// asked: the ones with an answer of their own ([`partition_precheck`]),
/// and the commits of the others, in request order. OffsetCommit and
/// TxnOffsetCommit share it.
pub(super) struct CommitPlan {
    /// Topic index, partition index, and the partition's own answer.
    slots: Vec<(usize, usize, Option<ResponseError>)>,
    pub(super) commits: Vec<OffsetCommit>,
}

impl CommitPlan {
    pub(super) fn new<'a, P: RequestedPartition + 'a>(
        ctx: &RequestContext,
        request_error: Option<ResponseError>,
        topics: impl Iterator<Item = (&'a str, &'a [P])>,
    ) -> Self {
        let mut plan = CommitPlan {
            slots: Vec::new(),
            commits: Vec::new(),
        };
        for (ti, (name, partitions)) in topics.enumerate() {
            let topic = ctx.broker.cluster.topic(name);
            let readable = ctx.may_topic(Operation::Read, name);
            for (pi, p) in partitions.iter().enumerate() {
                let precheck =
                    partition_precheck(request_error, readable, topic.as_deref(), p.partition());
                if precheck.is_none() {
                    plan.commits.push(p.commit(name));
                }
                plan.slots.push((ti, pi, precheck));
            }
        }
        plan
    }

    /// Every partition's error code (0 for none) by topic and partition
    /// index: its own answer, else the coordinator's.
    pub(super) fn codes(self, outcome: &Outcome) -> impl Iterator<Item = (usize, usize, i16)> + '_ {
        let mut committed = match outcome {
            Ok(results) => results.iter().map(|r| r.err()).collect::<Vec<_>>(),
            Err(_) => Vec::new(),
        }
        .into_iter();
        self.slots.into_iter().map(move |(ti, pi, precheck)| {
            let code = match (precheck, outcome) {
                (Some(e), _) => Some(e),
                (None, Err(e)) => Some(*e),
                (None, Ok(_)) => committed.next().flatten(),
            };
            (ti, pi, code.map_or(0, |e| e.code()))
        })
    }
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
    let mut plan = CommitPlan::new(
        ctx,
        group_error,
        request
            .topics
            .iter()
            .map(|t| (t.name.as_str(), t.partitions.as_slice())),
    );
    let mut topics: Vec<OffsetCommitResponseTopic> = request
        .topics
        .iter()
        .map(|t| {
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                        })
                        .collect(),
                )
        })
        .collect();
    let committer = Committer {
        generation_id: request.generation_id_or_member_epoch,
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
    };
    let commits = std::mem::take(&mut plan.commits);
    let outcome = if commits.is_empty() {
        Ok(Vec::new())
    } else {
        ctx.broker
            .groups
            .commit(&group_id, &committer, commits)
            .await
    };
    for (ti, pi, code) in plan.codes(&outcome) {
        topics[ti].partitions[pi].error_code = code;
    }
    OffsetCommitResponse::default().with_topics(topics)
}
