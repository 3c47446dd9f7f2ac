//! OffsetFetch (key 9): committed offsets for one group (v1-7) or many (v8+).
//! An unknown group or partition has offset -1 and no error, as in Kafka.
//! With `require_stable` (v7+), a partition with pending transactional
//! offsets answers UNSTABLE_OFFSET_COMMIT (the client retries).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};
use strata_governance::{Operation, Resource};

use super::{text, topic_name, RequestContext};
use crate::groups::Committed;

const GROUPS_FROM_VERSION: i16 = 8;

/// A topic's partitions: index, committed offset if any, per-partition error.
type PartitionOffsets = Vec<(i32, Option<Committed>, Option<ResponseError>)>;

/// One group's answer, before it is shaped for the version.
struct GroupOffsets {
    error: Option<ResponseError>,
    topics: Vec<(String, PartitionOffsets)>,
}

/// One partition of the answer; v1-7 and v8+ use different types with the
/// same fields.
macro_rules! partition {
    ($ty:ident, $index:expr, $committed:expr, $error:expr) => {{
        let (offset, epoch, meta) = fields($committed);
        $ty::default()
            .with_partition_index($index)
            .with_committed_offset(offset)
            .with_committed_leader_epoch(epoch)
            .with_metadata(Some(text(meta)))
            .with_error_code($error.map_or(0, |e: ResponseError| e.code()))
    }};
}

pub(super) async fn handle(
    ctx: &RequestContext,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    if ctx.version >= GROUPS_FROM_VERSION {
        let groups = request
            .groups
            .iter()
            .map(|g| {
                let wanted = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                        .collect::<Vec<_>>()
                });
                // v9: a consumer group's member must be known at its epoch.
                let member_check = ctx.broker.groups.validate_consumer_fetch(
                    g.group_id.0.as_str(),
                    g.member_id.as_deref(),
                    g.member_epoch,
                );
                let answer = match member_check {
                    Err(e) => GroupOffsets {
                        error: Some(e),
                        topics: Vec::new(),
                    },
                    Ok(()) => fetch(ctx, g.group_id.0.as_str(), wanted, request.require_stable),
                };
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_error_code(answer.error.map_or(0, |e| e.code()))
                    .with_topics(
                        answer
                            .topics
                            .into_iter()
                            .map(|(name, parts)| {
                                OffsetFetchResponseTopics::default()
                                    .with_name(topic_name(&name))
                                    .with_partitions(
                                        parts
                                            .into_iter()
                                            .map(|(p, c, e)| {
                                                partition!(OffsetFetchResponsePartitions, p, c, e)
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    )
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let wanted = request.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
            .collect::<Vec<_>>()
    });
    let mut answer = fetch(
        ctx,
        request.group_id.0.as_str(),
        wanted.clone(),
        request.require_stable,
    );
    if ctx.version < 2 {
        // v1 has no top-level error code: a group error goes on every
        // requested partition, as Kafka answers it.
        if let Some(error) = answer.error {
            answer.topics = wanted
                .unwrap_or_default()
                .into_iter()
                .map(|(topic, parts)| {
                    (
                        topic,
                        parts.into_iter().map(|p| (p, None, Some(error))).collect(),
                    )
                })
                .collect();
        }
    }
    let topics = answer
        .topics
        .into_iter()
        .map(|(name, parts)| {
            OffsetFetchResponseTopic::default()
                .with_name(topic_name(&name))
                .with_partitions(
                    parts
                        .into_iter()
                        .map(|(p, c, e)| partition!(OffsetFetchResponsePartition, p, c, e))
                        .collect(),
                )
        })
        .collect();
    let response = OffsetFetchResponse::default().with_topics(topics);
    if ctx.version >= 2 {
        response.with_error_code(answer.error.map_or(0, |e| e.code()))
    } else {
        response
    }
}

fn fields(c: Option<Committed>) -> (i64, i32, String) {
    match c {
        Some(c) => (c.offset, c.leader_epoch, c.metadata),
        None => (-1, -1, String::new()),
    }
}

fn fetch(
    ctx: &RequestContext,
    group_id: &str,
    wanted: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
) -> GroupOffsets {
    if group_id.is_empty() {
        return GroupOffsets {
            error: Some(ResponseError::InvalidGroupId),
            topics: Vec::new(),
        };
    }
    if !ctx.may(Operation::Describe, Resource::Group(group_id)) {
        return GroupOffsets {
            error: Some(ResponseError::GroupAuthorizationFailed),
            topics: Vec::new(),
        };
    }
    let groups = &ctx.broker.groups;
    let mut topics: Vec<(String, PartitionOffsets)> = Vec::new();
    match wanted {
        Some(wanted) => {
            for (topic, partitions) in wanted {
                let allowed = ctx.may_topic(Operation::Describe, &topic);
                let tps: Vec<(String, i32)> =
                    partitions.iter().map(|p| (topic.clone(), *p)).collect();
                let found = groups.fetch_offsets(group_id, Some(&tps), require_stable);
                let parts = found
                    .into_iter()
                    .map(|((_, p), c)| match c {
                        _ if !allowed => (p, None, Some(ResponseError::TopicAuthorizationFailed)),
                        Ok(c) => (p, c, None),
                        Err(e) => (p, None, Some(e)),
                    })
                    .collect();
                topics.push((topic, parts));
            }
        }
        None => {
            for ((topic, p), c) in groups.fetch_offsets(group_id, None, require_stable) {
                // Filtering what was not asked for by name: not audited.
                if !ctx.may_topic_quietly(Operation::Describe, &topic) {
                    continue;
                }
                let part = match c {
                    Ok(c) => (p, c, None),
                    Err(e) => (p, None, Some(e)),
                };
                match topics.last_mut() {
                    Some((t, parts)) if *t == topic => parts.push(part),
                    _ => topics.push((topic, vec![part])),
                }
            }
        }
    }
    GroupOffsets {
        error: None,
        topics,
    }
}
