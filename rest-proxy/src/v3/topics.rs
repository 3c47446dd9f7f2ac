//! v3 topics: list, create (`topic_name`, `partitions_count`,
//! `replication_factor`, `replicas_assignments`, `configs`,
//! `validate_only`), get, delete, and `PATCH` to raise the partition count,
//! each one Kafka request (Metadata, CreateTopics, DeleteTopics,
//! CreatePartitions) answered in kafka-rest's shapes and status codes
//! (201 with `Location` on create, 200 for a validate-only create, 204 on
//! delete).
//!
//! List and get take kafka-rest's `includeAuthorizedOperations` (its list)
//! and `include_authorized_operations` (its get; both spellings work on
//! both): `authorized_operations` then holds what the caller may do to each
//! topic, from the bit field the broker's authorizer fills in Metadata.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::{
    BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::Body;
use super::clusters;
use super::errors::{self, invalid_payload};
use super::kafka::{self, str_bytes, topic_name};
use super::links::{ok, Links};
use strata_governance::ResourceType;

use crate::backend::Caller;
use crate::error::RestError;
use crate::Shared;

/// How long a create, delete or partition change may take in the broker.
const ADMIN_TIMEOUT_MS: i32 = 30_000;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v3/clusters/{cluster_id}/topics",
            get(list_topics).post(create_topic),
        )
        .route(
            "/v3/clusters/{cluster_id}/topics/{topic_name}",
            get(get_topic).delete(delete_topic).patch(update_partitions),
        )
}

/// Whether the query asks for `authorized_operations`. Like JAX-RS's
/// `Boolean.valueOf` behind kafka-rest's `@QueryParam`, only `true` (any
/// case) is true and anything else is false rather than a 400.
fn wants_operations(params: &HashMap<String, String>) -> bool {
    [
        "includeAuthorizedOperations",
        "include_authorized_operations",
    ]
    .iter()
    .filter_map(|k| params.get(*k))
    .any(|v| v.eq_ignore_ascii_case("true"))
}

async fn list_topics(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(cluster_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &cluster_id)?;
    let metadata =
        kafka::metadata_with_operations(&proxy, &caller, None, wants_operations(&params)).await?;
    let mut topics: Vec<&MetadataResponseTopic> = metadata
        .topics
        .iter()
        .filter(|t| t.error_code == 0 && !t.is_internal && t.name.is_some())
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    let data = topics
        .into_iter()
        .map(|t| topic_data(&links, &cluster_id, t))
        .collect();
    Ok(ok(links.collection(
        "KafkaTopicList",
        &[&cluster_id, "topics"],
        data,
    )))
}

async fn get_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((cluster_id, topic)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &cluster_id)?;
    let described =
        kafka::topic_with_operations(&proxy, &caller, &topic, wants_operations(&params)).await?;
    Ok(ok(topic_data(&links, &cluster_id, &described)))
}

/// kafka-rest's `TopicData` for a described topic.
fn topic_data(links: &Links, c: &str, topic: &MetadataResponseTopic) -> Value {
    let name = topic.name.as_ref().map(|n| n.as_str()).unwrap_or_default();
    let replication_factor = topic
        .partitions
        .iter()
        .min_by_key(|p| p.partition_index)
        .map(|p| p.replica_nodes.len())
        .unwrap_or(0);
    shaped(
        links,
        c,
        name,
        topic.is_internal,
        replication_factor as i64,
        topic.partitions.len() as i64,
        kafka::authorized_operation_names(ResourceType::Topic, topic.topic_authorized_operations),
    )
}

fn shaped(
    links: &Links,
    c: &str,
    name: &str,
    is_internal: bool,
    replication_factor: i64,
    partitions_count: i64,
    authorized_operations: Vec<&str>,
) -> Value {
    links.resource(
        "KafkaTopic",
        &[c, "topics", name],
        &[("kafka", c), ("topic", name)],
        json!({
            "cluster_id": c,
            "topic_name": name,
            "is_internal": is_internal,
            "replication_factor": replication_factor,
            "partitions_count": partitions_count,
            "partitions": links.related(&[c, "topics", name, "partitions"]),
            "configs": links.related(&[c, "topics", name, "configs"]),
            "partition_reassignments":
                links.related(&[c, "topics", name, "partitions", "-", "reassignment"]),
            "authorized_operations": authorized_operations,
        }),
    )
}

/// kafka-rest's `CreateTopicRequest`.
#[derive(Deserialize)]
struct CreateTopic {
    topic_name: Option<String>,
    partitions_count: Option<i32>,
    replication_factor: Option<i16>,
    #[serde(default)]
    replicas_assignments: BTreeMap<i32, Vec<i32>>,
    #[serde(default)]
    configs: Vec<ConfigEntry>,
    validate_only: Option<bool>,
}

#[derive(Deserialize)]
struct ConfigEntry {
    name: String,
    value: Option<String>,
}

/// Kafka's `Topic.validate`: 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 249
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

async fn create_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(cluster_id): Path<String>,
    Body(request): Body<CreateTopic>,
) -> Result<Response, RestError> {
    let request =
        request.ok_or_else(|| invalid_payload("Request body is empty. Data is required."))?;
    let name = request
        .topic_name
        .ok_or_else(|| errors::bad_body("Null topicName"))?;
    if !valid_topic_name(&name) {
        return Err(invalid_payload("Invalid topic name."));
    }
    clusters::check(&proxy, &cluster_id)?;
    let assignments = &request.replicas_assignments;
    let (partitions, replication) = match assignments.values().next() {
        Some(first) => (assignments.len() as i32, first.len() as i16),
        None => (
            request.partitions_count.unwrap_or(-1),
            request.replication_factor.unwrap_or(-1),
        ),
    };
    let topic = CreatableTopic::default()
        .with_name(topic_name(&name))
        .with_num_partitions(if assignments.is_empty() {
            partitions
        } else {
            -1
        })
        .with_replication_factor(if assignments.is_empty() {
            replication
        } else {
            -1
        })
        .with_assignments(
            assignments
                .iter()
                .map(|(partition, brokers)| {
                    CreatableReplicaAssignment::default()
                        .with_partition_index(*partition)
                        .with_broker_ids(brokers.iter().map(|b| BrokerId(*b)).collect())
                })
                .collect(),
        )
        .with_configs(
            request
                .configs
                .iter()
                .map(|c| {
                    CreatableTopicConfig::default()
                        .with_name(str_bytes(&c.name))
                        .with_value(c.value.as_deref().map(str_bytes))
                })
                .collect(),
        );
    let validate_only = request.validate_only.unwrap_or(false);
    let response = proxy
        .send(
            &caller,
            CreateTopicsRequest::default()
                .with_topics(vec![topic])
                .with_timeout_ms(ADMIN_TIMEOUT_MS)
                .with_validate_only(validate_only),
        )
        .await?;
    let result = response
        .topics
        .into_iter()
        .next()
        .ok_or_else(|| RestError::kafka("CreateTopics answered no topic"))?;
    errors::check(
        result.error_code,
        result.error_message.as_ref().map(|m| m.as_str()),
    )?;
    // The broker reports what it created; kafka-rest falls back to what was
    // asked when the answer lacks it.
    let partitions_count = if result.num_partitions > 0 {
        result.num_partitions
    } else {
        partitions.max(0)
    };
    let replication_factor = if result.replication_factor > 0 {
        result.replication_factor
    } else {
        replication.max(0)
    };
    let body = shaped(
        &links,
        &cluster_id,
        &name,
        false,
        i64::from(replication_factor),
        i64::from(partitions_count),
        // kafka-rest answers a create with an empty set too
        Vec::new(),
    );
    let status = if validate_only {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let location = links.url(&[&cluster_id, "topics", &name]);
    Ok((status, [(header::LOCATION, location)], axum::Json(body)).into_response())
}

async fn delete_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((cluster_id, topic)): Path<(String, String)>,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &cluster_id)?;
    let response = proxy
        .send(
            &caller,
            DeleteTopicsRequest::default()
                .with_topics(vec![
                    DeleteTopicState::default().with_name(Some(topic_name(&topic)))
                ])
                .with_timeout_ms(ADMIN_TIMEOUT_MS),
        )
        .await?;
    for result in &response.responses {
        errors::check(
            result.error_code,
            result.error_message.as_ref().map(|m| m.as_str()),
        )?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// kafka-rest's `PartitionsCountRequest`.
#[derive(Deserialize)]
struct PartitionsCount {
    partitions_count: Option<i32>,
}

async fn update_partitions(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((cluster_id, topic)): Path<(String, String)>,
    Body(request): Body<PartitionsCount>,
) -> Result<Response, RestError> {
    let request = request
        .ok_or_else(|| invalid_payload("Request body is empty. Partitions_count is required."))?;
    let count = request
        .partitions_count
        .ok_or_else(|| errors::bad_body("Null partitionsCount"))?;
    clusters::check(&proxy, &cluster_id)?;
    let response = proxy
        .send(
            &caller,
            CreatePartitionsRequest::default()
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(topic_name(&topic))
                    .with_count(count)
                    .with_assignments(None)])
                .with_timeout_ms(ADMIN_TIMEOUT_MS),
        )
        .await?;
    for result in &response.results {
        errors::check(
            result.error_code,
            result.error_message.as_ref().map(|m| m.as_str()),
        )?;
    }
    let described = kafka::topic(&proxy, &caller, &topic).await?;
    Ok(ok(topic_data(&links, &cluster_id, &described)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{valid_topic_name, wants_operations};

    #[test]
    fn either_spelling_asks_for_authorized_operations_and_only_true_counts() {
        let query = |k: &str, v: &str| HashMap::from([(k.to_owned(), v.to_owned())]);
        assert!(wants_operations(&query(
            "includeAuthorizedOperations",
            "true"
        )));
        assert!(wants_operations(&query(
            "include_authorized_operations",
            "TRUE"
        )));
        assert!(!wants_operations(&query(
            "include_authorized_operations",
            "yes"
        )));
        assert!(!wants_operations(&query(
            "include_authorized_operations",
            "false"
        )));
        assert!(!wants_operations(&HashMap::new()));
    }

    #[test]
    fn topic_names_as_kafka_validates_them() {
        assert!(valid_topic_name("a.b_c-D9"));
        assert!(!valid_topic_name(""));
        assert!(!valid_topic_name(".."));
        assert!(!valid_topic_name("a b"));
        assert!(!valid_topic_name(&"x".repeat(250)));
    }
}
