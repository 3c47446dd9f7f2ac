//! The Kafka requests a consumer instance sends, as small typed calls:
//! offsets committed and read back (OffsetCommit, OffsetFetch), offsets by
//! time (ListOffsets) and partition counts (Metadata). Group membership
//! requests live with the membership loop ([`super::membership`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kafka_protocol::error::{ParseResponseErrorCode, ResponseError};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    BrokerId, GroupId, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::backend::Caller;
use crate::error::RestError;
use crate::RestProxy;

/// A topic partition.
pub(crate) type Tp = (String, i32);

/// ListOffsets' special timestamps.
pub(crate) const EARLIEST: i64 = -2;
pub(crate) const LATEST: i64 = -1;

fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

fn kafka_error(code: i16) -> Option<ResponseError> {
    code.err()
}

/// Groups partitions by topic, in order.
fn by_topic<'a, T: 'a>(
    items: impl IntoIterator<Item = (&'a Tp, T)>,
) -> BTreeMap<String, Vec<(i32, T)>> {
    let mut out: BTreeMap<String, Vec<(i32, T)>> = BTreeMap::new();
    for ((topic, partition), value) in items {
        out.entry(topic.clone())
            .or_default()
            .push((*partition, value));
    }
    out
}

/// Who commits: a group member (its generation and id) or, for manually
/// assigned instances, nobody in particular (generation -1, as Kafka's
/// consumer commits without a subscription).
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    pub(crate) generation: i32,
    pub(crate) member_id: String,
}

/// Commits `offsets` (the next offset to read, and metadata) for `group`;
/// the first partition error fails the whole commit, as `commitSync` does.
pub(crate) async fn commit(
    proxy: &RestProxy,
    caller: &Caller,
    group: &str,
    committer: &Committer,
    offsets: &[(Tp, i64, Option<String>)],
) -> Result<(), RestError> {
    if offsets.is_empty() {
        return Ok(());
    }
    let grouped = by_topic(offsets.iter().map(|(tp, o, m)| (tp, (*o, m.clone()))));
    let topics = grouped
        .into_iter()
        .map(|(topic, parts)| {
            OffsetCommitRequestTopic::default()
                .with_name(topic_name(&topic))
                .with_partitions(
                    parts
                        .into_iter()
                        .map(|(p, (offset, metadata))| {
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(-1)
                                .with_committed_metadata(Some(StrBytes::from_string(
                                    metadata.unwrap_or_default(),
                                )))
                        })
                        .collect(),
                )
        })
        .collect();
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_generation_id_or_member_epoch(committer.generation)
        .with_member_id(StrBytes::from_string(committer.member_id.clone()))
        .with_retention_time_ms(-1)
        .with_topics(topics);
    let response = proxy.send(caller, request).await?;
    for topic in &response.topics {
        for p in &topic.partitions {
            if let Some(e) = kafka_error(p.error_code) {
                return Err(RestError::from_kafka(
                    e,
                    Some(&format!(
                        "committing {}-{}: {e}",
                        topic.name.0, p.partition_index
                    )),
                ));
            }
        }
    }
    Ok(())
}

/// The committed offset and metadata of each of `partitions` that has one.
pub(crate) async fn committed(
    proxy: &RestProxy,
    caller: &Caller,
    group: &str,
    partitions: &[Tp],
) -> Result<HashMap<Tp, (i64, String)>, RestError> {
    let mut out = HashMap::new();
    if partitions.is_empty() {
        return Ok(out);
    }
    let grouped = by_topic(partitions.iter().map(|tp| (tp, ())));
    let request =
        OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_member_epoch(-1)
            .with_topics(Some(
                grouped
                    .into_iter()
                    .map(|(topic, parts)| {
                        OffsetFetchRequestTopics::default()
                            .with_name(topic_name(&topic))
                            .with_partition_indexes(parts.into_iter().map(|(p, _)| p).collect())
                    })
                    .collect(),
            ))]);
    let response = proxy.send(caller, request).await?;
    for group in &response.groups {
        if let Some(e) = kafka_error(group.error_code) {
            return Err(RestError::from_kafka(e, None));
        }
        for topic in &group.topics {
            for p in &topic.partitions {
                if let Some(e) = kafka_error(p.error_code) {
                    if e != ResponseError::UnknownTopicOrPartition {
                        return Err(RestError::from_kafka(e, None));
                    }
                    continue;
                }
                if p.committed_offset >= 0 {
                    let metadata = p
                        .metadata
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default();
                    out.insert(
                        (topic.name.0.to_string(), p.partition_index),
                        (p.committed_offset, metadata),
                    );
                }
            }
        }
    }
    Ok(out)
}

/// The offset of each partition at `timestamp` ([`EARLIEST`], [`LATEST`]
/// or milliseconds); partitions with no such offset are left out.
pub(crate) async fn list_offsets(
    proxy: &RestProxy,
    caller: &Caller,
    partitions: &[(Tp, i64)],
) -> Result<HashMap<Tp, i64>, RestError> {
    let mut out = HashMap::new();
    if partitions.is_empty() {
        return Ok(out);
    }
    let grouped = by_topic(partitions.iter().map(|(tp, ts)| (tp, *ts)));
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(0)
        .with_topics(
            grouped
                .into_iter()
                .map(|(topic, parts)| {
                    ListOffsetsTopic::default()
                        .with_name(topic_name(&topic))
                        .with_partitions(
                            parts
                                .into_iter()
                                .map(|(p, ts)| {
                                    ListOffsetsPartition::default()
                                        .with_partition_index(p)
                                        .with_current_leader_epoch(-1)
                                        .with_timestamp(ts)
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
    let response = proxy.send(caller, request).await?;
    for topic in &response.topics {
        for p in &topic.partitions {
            if let Some(e) = kafka_error(p.error_code) {
                return Err(RestError::from_kafka(e, None));
            }
            if p.offset >= 0 {
                out.insert((topic.name.0.to_string(), p.partition_index), p.offset);
            }
        }
    }
    Ok(out)
}

/// Partition counts of `topics` that exist (`None`: every non-internal
/// topic, for pattern subscriptions).
pub(crate) async fn partition_counts(
    proxy: &RestProxy,
    caller: &Caller,
    topics: Option<&BTreeSet<String>>,
) -> Result<BTreeMap<String, i32>, RestError> {
    let request = MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
                .collect()
        }));
    let response = proxy.send(caller, request).await?;
    Ok(response
        .topics
        .iter()
        .filter(|t| t.error_code == 0 && !t.is_internal)
        .filter_map(|t| {
            let name = t.name.as_ref()?.0.to_string();
            (topics.is_some() || !name.starts_with("__"))
                .then_some((name, t.partitions.len() as i32))
        })
        .collect())
}
