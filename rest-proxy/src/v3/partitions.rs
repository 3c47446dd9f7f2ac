//! v3 partitions and their replicas: `/topics/{t}/partitions[/{p}]` with
//! `leader`, `replicas` and `reassignment` links, and
//! `/partitions/{p}/replicas[/{broker_id}]` (`is_leader`, `is_in_sync`),
//! all from topic metadata.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use kafka_protocol::messages::metadata_response::{
    MetadataResponsePartition, MetadataResponseTopic,
};
use serde_json::{json, Value};

use super::brokers::parse_id;
use super::clusters;
use super::errors;
use super::kafka;
use super::links::{ok, Links};
use crate::backend::Caller;
use crate::error::RestError;
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    let base = "/v3/clusters/{cluster_id}/topics/{topic_name}/partitions";
    Router::new()
        .route(base, get(list_partitions))
        .route(&format!("{base}/{{partition_id}}"), get(get_partition))
        .route(
            &format!("{base}/{{partition_id}}/replicas"),
            get(list_replicas),
        )
        .route(
            &format!("{base}/{{partition_id}}/replicas/{{broker_id}}"),
            get(get_replica),
        )
}

fn sorted(topic: &MetadataResponseTopic) -> Vec<&MetadataResponsePartition> {
    let mut partitions: Vec<_> = topic.partitions.iter().collect();
    partitions.sort_by_key(|p| p.partition_index);
    partitions
}

async fn list_partitions(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((cluster_id, topic)): Path<(String, String)>,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &cluster_id)?;
    let described = kafka::topic(&proxy, &caller, &topic).await?;
    let data = sorted(&described)
        .into_iter()
        .map(|p| partition_data(&links, &cluster_id, &topic, p))
        .collect();
    Ok(ok(links.collection(
        "KafkaPartitionList",
        &[&cluster_id, "topics", &topic, "partitions"],
        data,
    )))
}

/// The partition a path names; a partition the topic lacks is a plain 404
/// as kafka-rest answers (an unknown topic is 40403).
async fn find(
    proxy: &Shared,
    caller: &Caller,
    cluster_id: &str,
    topic: &str,
    partition: &str,
) -> Result<MetadataResponsePartition, RestError> {
    let partition = parse_id(partition)?;
    clusters::check(proxy, cluster_id)?;
    let described = kafka::topic(proxy, caller, topic).await?;
    described
        .partitions
        .into_iter()
        .find(|p| p.partition_index == partition)
        .ok_or_else(errors::not_found)
}

async fn get_partition(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((cluster_id, topic, partition)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let found = find(&proxy, &caller, &cluster_id, &topic, &partition).await?;
    Ok(ok(partition_data(&links, &cluster_id, &topic, &found)))
}

pub(super) fn partition_data(
    links: &Links,
    c: &str,
    topic: &str,
    partition: &MetadataResponsePartition,
) -> Value {
    let p = partition.partition_index.to_string();
    let leader = partition.leader_id.0;
    let leader = (leader >= 0).then(|| {
        links.related(&[
            c,
            "topics",
            topic,
            "partitions",
            &p,
            "replicas",
            &leader.to_string(),
        ])
    });
    links.resource(
        "KafkaPartition",
        &[c, "topics", topic, "partitions", &p],
        &[("kafka", c), ("topic", topic), ("partition", &p)],
        json!({
            "cluster_id": c,
            "topic_name": topic,
            "partition_id": partition.partition_index,
            "leader": leader,
            "replicas": links.related(&[c, "topics", topic, "partitions", &p, "replicas"]),
            "reassignment": links.related(&[c, "topics", topic, "partitions", &p, "reassignment"]),
        }),
    )
}

async fn list_replicas(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((cluster_id, topic, partition)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let found = find(&proxy, &caller, &cluster_id, &topic, &partition).await?;
    let p = found.partition_index.to_string();
    let data = found
        .replica_nodes
        .iter()
        .map(|b| replica_data(&links, &cluster_id, &topic, &found, b.0))
        .collect();
    Ok(ok(links.collection(
        "KafkaReplicaList",
        &[&cluster_id, "topics", &topic, "partitions", &p, "replicas"],
        data,
    )))
}

async fn get_replica(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((cluster_id, topic, partition, broker)): Path<(String, String, String, String)>,
) -> Result<Response, RestError> {
    let broker = parse_id(&broker)?;
    let found = find(&proxy, &caller, &cluster_id, &topic, &partition).await?;
    if !found.replica_nodes.iter().any(|b| b.0 == broker) {
        return Err(errors::not_found());
    }
    Ok(ok(replica_data(
        &links,
        &cluster_id,
        &topic,
        &found,
        broker,
    )))
}

fn replica_data(
    links: &Links,
    c: &str,
    topic: &str,
    partition: &MetadataResponsePartition,
    broker: i32,
) -> Value {
    let p = partition.partition_index.to_string();
    let b = broker.to_string();
    links.resource(
        "KafkaReplica",
        &[c, "topics", topic, "partitions", &p, "replicas", &b],
        &[
            ("kafka", c),
            ("topic", topic),
            ("partition", &p),
            ("replica", &b),
        ],
        json!({
            "cluster_id": c,
            "topic_name": topic,
            "partition_id": partition.partition_index,
            "broker_id": broker,
            "is_leader": partition.leader_id.0 == broker,
            "is_in_sync": partition.isr_nodes.iter().any(|n| n.0 == broker),
            "broker": links.related(&[c, "brokers", &b]),
        }),
    )
}
