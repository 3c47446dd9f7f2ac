//! `POST /console/api/groups/{group}/reset`: moves an empty group's
//! committed offsets on one topic, as `kafka-consumer-groups.sh
//! --reset-offsets --execute` does: to the earliest or latest offset, to
//! the first offset at or after a time, or to an offset (clamped into the
//! partition's range). The group must have no members, so no consumer
//! overwrites the reset with its own commit; the commit is an admin commit
//! (generation -1, no member), which the coordinator accepts only then.
//!
//! Body: `{"topic": "orders", "to": "earliest" | "latest" | "timestamp" |
//! "offset", "value": 1700000000000, "partitions": [0, 1]}` (`value` for a
//! time or an offset; all partitions without `partitions`). Answers the new
//! offset of each partition.

use axum::extract::{Path, State};
use axum::Json;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeGroupsRequest, GroupId, ListOffsetsRequest, MetadataRequest,
    OffsetCommitRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::Deserialize;
use serde_json::{json, Value};
use strata_rest_proxy::{Caller, RestError};

use super::{kafka_error, Console, Shared};

/// Where a reset moves a group's offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Earliest,
    Latest,
    /// The first record at or after this time (ms).
    Timestamp(i64),
    Offset(i64),
}

#[derive(Debug, Deserialize)]
pub(super) struct ResetBody {
    topic: String,
    to: String,
    value: Option<i64>,
    partitions: Option<Vec<i32>>,
}

impl Target {
    fn parse(to: &str, value: Option<i64>) -> Result<Self, RestError> {
        let needs =
            |what: &str| RestError::bad_request(format!("Resetting to {what} needs a \"value\"."));
        match to {
            "earliest" => Ok(Target::Earliest),
            "latest" => Ok(Target::Latest),
            "timestamp" => Ok(Target::Timestamp(value.ok_or_else(|| needs("a time"))?)),
            "offset" => Ok(Target::Offset(value.ok_or_else(|| needs("an offset"))?)),
            other => Err(RestError::bad_request(format!(
                "Unknown reset target {other:?} (earliest, latest, timestamp, offset)."
            ))),
        }
    }
}

/// The offset a partition whose log spans `earliest..latest` is reset to;
/// `by_time` is ListOffsets' answer for a time (`None` when no record is at
/// or after it). As Kafka's tool: an offset outside the range is clamped
/// into it, a time after the last record means the end.
pub(super) fn resolve(target: Target, earliest: i64, latest: i64, by_time: Option<i64>) -> i64 {
    match target {
        Target::Earliest => earliest,
        Target::Latest => latest,
        Target::Timestamp(_) => by_time.unwrap_or(latest).clamp(earliest, latest),
        Target::Offset(offset) => offset.clamp(earliest, latest),
    }
}

/// States in which a group has no members whose commits would race the reset.
fn may_reset(state: &str) -> bool {
    matches!(state, "Empty" | "Dead" | "")
}

pub(super) async fn reset(
    State(console): State<Shared>,
    Path(group): Path<String>,
    caller: Caller,
    Json(body): Json<ResetBody>,
) -> Result<Json<Value>, RestError> {
    let target = Target::parse(&body.to, body.value)?;
    let described = console
        .send(
            &caller,
            DescribeGroupsRequest::default()
                .with_groups(vec![GroupId(StrBytes::from_string(group.clone()))]),
        )
        .await?;
    let Some(described) = described.groups.first() else {
        return Err(RestError::kafka(
            "DescribeGroups answered without the group",
        ));
    };
    kafka_error(described.error_code, described.error_message.as_deref())?;
    if !may_reset(&described.group_state) {
        return Err(RestError::new(
            409,
            format!(
                "Offsets can only be reset if the group '{group}' is inactive, but the current state is {}.",
                described.group_state
            ),
        ));
    }
    let partitions = partitions_of(&console, &caller, &body.topic).await?;
    let partitions: Vec<i32> = match &body.partitions {
        Some(chosen) => {
            if let Some(p) = chosen.iter().find(|p| !partitions.contains(p)) {
                return Err(RestError::not_found(format!(
                    "Topic {} has no partition {p}.",
                    body.topic
                )));
            }
            chosen.clone()
        }
        None => partitions,
    };
    let earliest = list_offsets(&console, &caller, &body.topic, &partitions, -2).await?;
    let latest = list_offsets(&console, &caller, &body.topic, &partitions, -1).await?;
    let by_time = match target {
        Target::Timestamp(ms) => {
            Some(list_offsets(&console, &caller, &body.topic, &partitions, ms).await?)
        }
        _ => None,
    };
    let offsets: Vec<(i32, i64)> = partitions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let found = by_time.as_ref().map(|t| t[i]).filter(|o| *o >= 0);
            (*p, resolve(target, earliest[i], latest[i], found))
        })
        .collect();
    commit(&console, &caller, &group, &body.topic, &offsets).await?;
    let answer: Vec<Value> = offsets
        .iter()
        .map(|(p, o)| json!({"partition": p, "offset": o}))
        .collect();
    Ok(Json(
        json!({"group": group, "topic": body.topic, "offsets": answer}),
    ))
}

/// The partitions of `topic`, if the caller may describe it.
async fn partitions_of(
    console: &Console,
    caller: &Caller,
    topic: &str,
) -> Result<Vec<i32>, RestError> {
    let metadata = console
        .send(
            caller,
            MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(topic.to_owned()))))])),
        )
        .await?;
    let Some(found) = metadata.topics.first() else {
        return Err(RestError::topic_not_found());
    };
    kafka_error(found.error_code, None)?;
    let mut partitions: Vec<i32> = found.partitions.iter().map(|p| p.partition_index).collect();
    partitions.sort_unstable();
    Ok(partitions)
}

/// ListOffsets of `partitions` at `timestamp` (-2 earliest, -1 latest), in
/// their order; -1 where no record is at or after a time.
async fn list_offsets(
    console: &Console,
    caller: &Caller,
    topic: &str,
    partitions: &[i32],
    timestamp: i64,
) -> Result<Vec<i64>, RestError> {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partitions(
                partitions
                    .iter()
                    .map(|p| {
                        ListOffsetsPartition::default()
                            .with_partition_index(*p)
                            .with_current_leader_epoch(-1)
                            .with_timestamp(timestamp)
                    })
                    .collect(),
            )]);
    let response = console.send(caller, request).await?;
    let answered: Vec<_> = response
        .topics
        .into_iter()
        .flat_map(|t| t.partitions)
        .collect();
    partitions
        .iter()
        .map(|p| {
            let a = answered
                .iter()
                .find(|a| a.partition_index == *p)
                .ok_or_else(|| RestError::kafka("ListOffsets answered without a partition"))?;
            kafka_error(a.error_code, None)?;
            Ok(a.offset)
        })
        .collect()
}

async fn commit(
    console: &Console,
    caller: &Caller,
    group: &str,
    topic: &str,
    offsets: &[(i32, i64)],
) -> Result<(), RestError> {
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(StrBytes::default())
        .with_retention_time_ms(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partitions(
                offsets
                    .iter()
                    .map(|(p, o)| {
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(*p)
                            .with_committed_offset(*o)
                            .with_committed_leader_epoch(-1)
                    })
                    .collect(),
            )]);
    let response = console.send(caller, request).await?;
    for p in response.topics.iter().flat_map(|t| &t.partitions) {
        kafka_error(p.error_code, None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_and_latest_are_the_log_bounds() {
        assert_eq!(resolve(Target::Earliest, 5, 40, None), 5);
        assert_eq!(resolve(Target::Latest, 5, 40, None), 40);
    }

    #[test]
    fn an_offset_is_clamped_into_the_log() {
        assert_eq!(resolve(Target::Offset(17), 5, 40, None), 17);
        assert_eq!(resolve(Target::Offset(2), 5, 40, None), 5);
        assert_eq!(resolve(Target::Offset(99), 5, 40, None), 40);
    }

    #[test]
    fn a_time_is_the_first_offset_at_or_after_it_or_the_end() {
        assert_eq!(resolve(Target::Timestamp(1_000), 5, 40, Some(12)), 12);
        assert_eq!(resolve(Target::Timestamp(9_999), 5, 40, None), 40);
    }

    #[test]
    fn targets_parse_with_their_values() {
        assert_eq!(Target::parse("earliest", None).unwrap(), Target::Earliest);
        assert_eq!(Target::parse("offset", Some(3)).unwrap(), Target::Offset(3));
        assert_eq!(
            Target::parse("timestamp", Some(7)).unwrap(),
            Target::Timestamp(7)
        );
        assert_eq!(
            Target::parse("offset", None).unwrap_err().status.as_u16(),
            400
        );
        assert!(Target::parse("middle", None).is_err());
    }

    #[test]
    fn only_a_group_without_members_is_reset() {
        assert!(may_reset("Empty"));
        assert!(may_reset("Dead"));
        assert!(!may_reset("Stable"));
        assert!(!may_reset("PreparingRebalance"));
    }
}
