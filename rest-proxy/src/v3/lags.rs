//! v3 consumer lags: `/consumer-groups/{g}/lags[/{t}/partitions/{p}]` and
//! `/lag-summary`. As kafka-rest computes them: the group's committed
//! offsets (OffsetFetch), each partition's latest offset by ListOffsets at
//! READ_COMMITTED (the last stable offset, which is the log end offset
//! while no transaction is open), lag = max(0, latest - committed), and the
//! consumer that owns the partition in the group's current assignment ("" when none).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, OffsetFetchRequest};
use serde_json::{json, Value};

use super::brokers::parse_id;
use super::consumer_groups::check_cluster;
use super::errors;
use super::groups::{self, Group};
use super::kafka::{group_id, topic_name};
use super::links::{ok, Links};
use crate::backend::Caller;
use crate::error::RestError;
use crate::Shared;

const LATEST: i64 = -1;
const READ_COMMITTED: i8 = 1;

pub(crate) fn routes() -> Router<Shared> {
    let group = "/v3/clusters/{cluster_id}/consumer-groups/{group_id}";
    Router::new()
        .route(&format!("{group}/lags"), get(list_lags))
        .route(
            &format!("{group}/lags/{{topic_name}}/partitions/{{partition_id}}"),
            get(get_lag),
        )
        .route(&format!("{group}/lag-summary"), get(lag_summary))
}

/// One partition's lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Lag {
    pub(super) topic: String,
    pub(super) partition: i32,
    pub(super) consumer_id: String,
    pub(super) instance_id: Option<String>,
    pub(super) client_id: String,
    pub(super) current_offset: i64,
    pub(super) log_end_offset: i64,
}

impl Lag {
    pub(super) fn lag(&self) -> i64 {
        (self.log_end_offset - self.current_offset).max(0)
    }
}

/// The lag of every partition the group has committed, sorted by topic and
/// partition; 404s as kafka-rest for a missing group or one without offsets.
async fn lags(
    proxy: &Shared,
    caller: &Caller,
    c: &str,
    g: &str,
) -> Result<(Group, Vec<Lag>), RestError> {
    check_cluster(proxy, c)?;
    let group = groups::one(proxy, caller, g, "Consumer Group {} could not be found.").await?;
    let fetched = proxy
        .send(
            caller,
            OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(group_id(g))
                .with_topics(None)]),
        )
        .await?;
    let mut committed: Vec<(String, i32, i64)> = Vec::new();
    for group in &fetched.groups {
        errors::check(group.error_code, None)?;
        for topic in &group.topics {
            for p in &topic.partitions {
                if p.error_code == 0 && p.committed_offset >= 0 {
                    committed.push((
                        topic.name.0.to_string(),
                        p.partition_index,
                        p.committed_offset,
                    ));
                }
            }
        }
    }
    if committed.is_empty() {
        return Err(errors::not_found_msg(
            "Consumer group offsets could not be found.",
        ));
    }
    committed.sort();

    let mut topics: Vec<ListOffsetsTopic> = Vec::new();
    for (t, p, _) in &committed {
        let partition = ListOffsetsPartition::default()
            .with_partition_index(*p)
            .with_timestamp(LATEST);
        match topics.last_mut() {
            Some(last) if last.name.0.as_str() == t => last.partitions.push(partition),
            _ => topics.push(
                ListOffsetsTopic::default()
                    .with_name(topic_name(t))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    let listed = proxy
        .send(
            caller,
            ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_isolation_level(READ_COMMITTED)
                .with_topics(topics),
        )
        .await?;
    let latest = |t: &str, p: i32| {
        listed
            .topics
            .iter()
            .filter(|lt| lt.name.0.as_str() == t)
            .flat_map(|lt| lt.partitions.iter())
            .find(|lp| lp.partition_index == p && lp.error_code == 0)
            .map(|lp| lp.offset)
    };
    // A partition without a latest offset (deleted since the commit) is
    // left out, as kafka-rest leaves it out.
    let out = committed
        .iter()
        .filter_map(|(t, p, current)| {
            let end = latest(t, *p)?;
            let owner = group.owner(t, *p);
            Some(Lag {
                topic: t.clone(),
                partition: *p,
                consumer_id: owner.map(|m| m.consumer_id.clone()).unwrap_or_default(),
                instance_id: owner.and_then(|m| m.instance_id.clone()),
                client_id: owner.map(|m| m.client_id.clone()).unwrap_or_default(),
                current_offset: *current,
                log_end_offset: end,
            })
        })
        .collect();
    Ok((group, out))
}

async fn list_lags(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, g)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let (_, mut lags) = lags(&proxy, &caller, &c, &g).await?;
    if lags.is_empty() {
        return Err(errors::not_found_msg("Consumer lags not found."));
    }
    // Largest lag first, then by topic and partition, as kafka-rest sorts.
    lags.sort_by(|a, b| {
        b.lag()
            .cmp(&a.lag())
            .then_with(|| a.topic.cmp(&b.topic))
            .then_with(|| a.partition.cmp(&b.partition))
    });
    let data = lags.iter().map(|l| lag_data(&links, &c, &g, l)).collect();
    Ok(ok(links.collection(
        "KafkaConsumerLagList",
        &[&c, "consumer-groups", &g, "lags"],
        data,
    )))
}

async fn get_lag(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, g, t, p)): Path<(String, String, String, String)>,
) -> Result<Response, RestError> {
    let p = parse_id(&p)?;
    let (_, lags) = lags(&proxy, &caller, &c, &g).await?;
    let lag = lags
        .iter()
        .find(|l| l.topic == t && l.partition == p)
        .ok_or_else(errors::not_found)?;
    Ok(ok(lag_data(&links, &c, &g, lag)))
}

fn lag_data(links: &Links, c: &str, g: &str, l: &Lag) -> Value {
    let p = l.partition.to_string();
    links.resource(
        "KafkaConsumerLag",
        &[c, "consumer-groups", g, "lags", &l.topic, "partitions", &p],
        &[
            ("kafka", c),
            ("consumer-group", g),
            ("lag", &l.topic),
            ("partition", &p),
        ],
        json!({
            "cluster_id": c,
            "consumer_group_id": g,
            "topic_name": l.topic,
            "partition_id": l.partition,
            "consumer_id": l.consumer_id,
            "instance_id": l.instance_id,
            "client_id": l.client_id,
            "current_offset": l.current_offset,
            "log_end_offset": l.log_end_offset,
            "lag": l.lag(),
        }),
    )
}

/// The partition with the largest lag (the first in topic/partition order
/// among equals) and the total.
pub(super) fn summarize(lags: &[Lag]) -> Option<(&Lag, i64)> {
    let mut max: Option<&Lag> = None;
    for l in lags {
        if max.is_none_or(|m| m.lag() < l.lag()) {
            max = Some(l);
        }
    }
    Some((max?, lags.iter().map(Lag::lag).sum()))
}

async fn lag_summary(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, g)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let (_, lags) = lags(&proxy, &caller, &c, &g).await?;
    let (max, total) = summarize(&lags).ok_or_else(errors::not_found)?;
    let p = max.partition.to_string();
    Ok(ok(links.resource(
        "KafkaConsumerGroupLagSummary",
        &[&c, "consumer-groups", &g, "lag-summary"],
        &[("kafka", &c), ("consumer-group", &g), ("lag-summary", "")],
        json!({
            "cluster_id": c,
            "consumer_group_id": g,
            "max_lag_consumer_id": max.consumer_id,
            "max_lag_instance_id": max.instance_id,
            "max_lag_client_id": max.client_id,
            "max_lag_topic_name": max.topic,
            "max_lag_partition_id": max.partition,
            "max_lag": max.lag(),
            "total_lag": total,
            "max_lag_consumer":
                links.related(&[&c, "consumer-groups", &g, "consumers", &max.consumer_id]),
            "max_lag_partition": links.related(&[&c, "topics", &max.topic, "partitions", &p]),
        }),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lag(topic: &str, partition: i32, current: i64, end: i64) -> Lag {
        Lag {
            topic: topic.into(),
            partition,
            consumer_id: String::new(),
            instance_id: None,
            client_id: String::new(),
            current_offset: current,
            log_end_offset: end,
        }
    }

    #[test]
    fn summary_takes_the_first_largest_and_never_negative() {
        let lags = vec![
            lag("a", 0, 5, 7),
            lag("a", 1, 0, 9),
            lag("b", 0, 1, 10),
            lag("c", 0, 9, 3),
        ];
        let (max, total) = summarize(&lags).unwrap();
        assert_eq!((max.topic.as_str(), max.partition, max.lag()), ("a", 1, 9));
        assert_eq!(total, 2 + 9 + 9);
        assert!(summarize(&[]).is_none());
    }
}
