//! v2 topics and partitions, as kafka-rest's `TopicsResource` and
//! `PartitionsResource` answer them:
//!
//! - `GET /topics`: names of every non-internal topic;
//! - `GET /topics/{t}`: `{"name", "configs": {name: value}, "partitions"}`;
//! - `GET /topics/{t}/partitions`: every partition as `{"partition",
//!   "leader", "replicas": [{"broker", "leader", "in_sync"}]}`;
//! - `GET /topics/{t}/partitions/{p}`: one of them;
//! - `GET /topics/{t}/partitions/{p}/offsets`: `{"beginning_offset",
//!   "end_offset"}` (log start and high watermark).
//!
//! An unknown topic is 40401 and an unknown partition 40402; a partition
//! that is not a number is a plain 404, as Jersey answers a path parameter
//! that does not convert.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::{
    MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{DescribeConfigsRequest, MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Map, Value};

use crate::backend::Caller;
use crate::error::RestError;
use crate::media::negotiate_v2;
use crate::{RestProxy, Shared};

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/topics", get(list_topics))
        .route("/topics/{topic}", get(get_topic))
        .route("/topics/{topic}/partitions", get(list_partitions))
        .route("/topics/{topic}/partitions/{partition}", get(get_partition))
        .route(
            "/topics/{topic}/partitions/{partition}/offsets",
            get(get_offsets),
        )
}

fn reply(media: &'static str, body: Value) -> Response {
    ([(header::CONTENT_TYPE, media)], axum::Json(body)).into_response()
}

async fn list_topics(
    State(proxy): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, RestError> {
    let media = negotiate_v2(&headers)?;
    let metadata = proxy
        .send(&caller, MetadataRequest::default().with_topics(None))
        .await?;
    let mut names: Vec<String> = metadata
        .topics
        .iter()
        .filter(|t| !t.is_internal)
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .filter(|n| !n.starts_with("__") && n != "_schemas")
        .collect();
    names.sort();
    let _ = (&proxy.registry, &proxy.cluster_id, &proxy.consumers);
    Ok(reply(media, json!(names)))
}

/// One topic's metadata (40401 when it does not exist). With
/// `auto_create`, a missing topic is created if the broker's
/// `auto.create.topics.enable` allows it, as a Java producer's metadata
/// request does.
pub(crate) async fn topic_metadata(
    proxy: &RestProxy,
    caller: &Caller,
    topic: &str,
    auto_create: bool,
) -> Result<MetadataResponseTopic, RestError> {
    let request = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
            TopicName(StrBytes::from_string(topic.to_owned())),
        ))]))
        .with_allow_auto_topic_creation(auto_create);
    let metadata = proxy.send(caller, request).await?;
    let found = metadata
        .topics
        .into_iter()
        .find(|t| t.name.as_deref().map(|n| n.as_str()) == Some(topic))
        .ok_or_else(RestError::topic_not_found)?;
    match ResponseError::try_from_code(found.error_code) {
        None => Ok(found),
        Some(ResponseError::UnknownTopicOrPartition | ResponseError::InvalidTopicException) => {
            Err(RestError::topic_not_found())
        }
        Some(e) => Err(RestError::from_kafka(e, None)),
    }
}

/// Parses a partition path parameter (a plain 404 when not a number, as
/// Jersey answers an `int` parameter that does not convert).
pub(crate) fn partition_param(raw: &str) -> Result<i32, RestError> {
    raw.parse()
        .map_err(|_| RestError::not_found("HTTP 404 Not Found"))
}

fn find_partition(
    topic: &MetadataResponseTopic,
    partition: i32,
) -> Result<&MetadataResponsePartition, RestError> {
    topic
        .partitions
        .iter()
        .find(|p| p.partition_index == partition)
        .ok_or_else(RestError::partition_not_found)
}

/// A partition as kafka-rest's v2 `GetPartitionResponse`.
fn partition_json(p: &MetadataResponsePartition) -> Value {
    let leader = p.leader_id.0;
    let replicas: Vec<Value> = p
        .replica_nodes
        .iter()
        .map(|r| {
            json!({
                "broker": r.0,
                "leader": r.0 == leader,
                "in_sync": p.isr_nodes.contains(r),
            })
        })
        .collect();
    json!({"partition": p.partition_index, "leader": leader, "replicas": replicas})
}

fn partitions_json(topic: &MetadataResponseTopic) -> Vec<Value> {
    let mut partitions: Vec<&MetadataResponsePartition> = topic.partitions.iter().collect();
    partitions.sort_by_key(|p| p.partition_index);
    partitions.into_iter().map(partition_json).collect()
}

async fn get_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Path(topic): Path<String>,
) -> Result<Response, RestError> {
    let media = negotiate_v2(&headers)?;
    let metadata = topic_metadata(&proxy, &caller, &topic, false).await?;
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_string(topic.clone()))
            .with_configuration_keys(None)]);
    let described = proxy.send(&caller, request).await?;
    let mut configs = Map::new();
    for result in described.results {
        match ResponseError::try_from_code(result.error_code) {
            None => {}
            Some(ResponseError::UnknownTopicOrPartition) => {
                return Err(RestError::topic_not_found())
            }
            Some(e) => {
                return Err(RestError::from_kafka(
                    e,
                    result.error_message.as_ref().map(|m| m.as_str()),
                ))
            }
        }
        for config in result.configs {
            let value = config.value.map(|v| Value::String(v.to_string()));
            configs.insert(config.name.to_string(), value.unwrap_or(Value::Null));
        }
    }
    Ok(reply(
        media,
        json!({
            "name": topic,
            "configs": configs,
            "partitions": partitions_json(&metadata),
        }),
    ))
}

async fn list_partitions(
    State(proxy): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Path(topic): Path<String>,
) -> Result<Response, RestError> {
    let media = negotiate_v2(&headers)?;
    let metadata = topic_metadata(&proxy, &caller, &topic, false).await?;
    Ok(reply(media, json!(partitions_json(&metadata))))
}

async fn get_partition(
    State(proxy): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Path((topic, partition)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let media = negotiate_v2(&headers)?;
    let partition = partition_param(&partition)?;
    let metadata = topic_metadata(&proxy, &caller, &topic, false).await?;
    Ok(reply(
        media,
        partition_json(find_partition(&metadata, partition)?),
    ))
}

/// The offset ListOffsets answers for `timestamp` (-2 earliest, -1 latest).
async fn list_offset(
    proxy: &RestProxy,
    caller: &Caller,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> Result<i64, RestError> {
    let answer = crate::offsets::list_one(proxy, caller, topic, partition, timestamp)
        .await?
        .ok_or_else(RestError::partition_not_found)?;
    match ResponseError::try_from_code(answer.error_code) {
        None => Ok(answer.offset),
        Some(ResponseError::UnknownTopicOrPartition) => Err(RestError::partition_not_found()),
        Some(e) => Err(RestError::from_kafka(e, None)),
    }
}

async fn get_offsets(
    State(proxy): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Path((topic, partition)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let media = negotiate_v2(&headers)?;
    let partition = partition_param(&partition)?;
    let metadata = topic_metadata(&proxy, &caller, &topic, false).await?;
    find_partition(&metadata, partition)?;
    let (beginning, end) = tokio::try_join!(
        list_offset(&proxy, &caller, &topic, partition, -2),
        list_offset(&proxy, &caller, &topic, partition, -1),
    )?;
    Ok(reply(
        media,
        json!({"beginning_offset": beginning, "end_offset": end}),
    ))
}
