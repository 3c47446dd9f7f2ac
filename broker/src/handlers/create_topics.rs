//! CreateTopics (key 19).

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse};

use strata_governance::{Operation, Resource};

use super::configs::describe_topic;
use super::{text, RequestContext};
use crate::cluster::AdminError;
use crate::quotas::mutation::{MutationQuota, EXCEEDED_MESSAGE};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let cluster = &ctx.broker.cluster;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for t in &request.topics {
        *counts.entry(t.name.to_string()).or_default() += 1;
    }
    let mut results = Vec::with_capacity(request.topics.len());
    let mut quota = MutationQuota::for_request(ctx, ApiKey::CreateTopics);
    for topic in request.topics {
        let name = topic.name.to_string();
        let result = CreatableTopicResult::default().with_name(topic.name.clone());
        if counts[&name] > 1 {
            results.push(error(result, AdminError::new(
                ResponseError::InvalidRequest,
                format!("Create topics request from client contains multiple entries for the following topics: {name}"),
            )));
            continue;
        }
        let may_create = ctx.may_quietly(Operation::Create, Resource::Cluster)
            || ctx.may_topic(Operation::Create, &name);
        if !may_create {
            let denied = AdminError::new(
                ResponseError::TopicAuthorizationFailed,
                "Authorization failed.",
            );
            results.push(error(result, denied));
            continue;
        }
        let (partitions, replication_factor, configs) = match parse(ctx, &topic) {
            Ok(parsed) => parsed,
            Err(e) => {
                results.push(error(result, e));
                continue;
            }
        };
        if !request.validate_only {
            let count = if partitions < 0 {
                cluster.properties.num_partitions
            } else {
                partitions
            };
            if let Err(code) = quota.record(count) {
                results.push(error(result, AdminError::new(code, EXCEEDED_MESSAGE)));
                continue;
            }
        }
        let outcome = if request.validate_only {
            cluster
                .validate_new_topic(&name, partitions, replication_factor, &configs)
                .map(|(count, _)| (count, None))
        } else {
            cluster
                .create_topic(&name, partitions, replication_factor, configs.clone())
                .await
                .map(|t| (t.partition_count(), Some(t.id)))
        };
        match outcome {
            Ok((count, id)) => {
                if id.is_some() {
                    ctx.record(
                        ctx.changed(Operation::Create, Resource::Topic(&name))
                            .with_request("partitions", count)
                            .with_request("configs", serde_json::json!(configs)),
                    );
                }
                // Kafka's controller fills the partition count, replication
                // factor and configs only for a caller that may
                // DescribeConfigs the topic (checked quietly, as Kafka's
                // `logIfDenied = false`); the topic is created either way.
                if !ctx.may_topic_quietly(Operation::DescribeConfigs, &name) {
                    results.push(
                        result
                            .with_topic_id(id.unwrap_or_default())
                            .with_num_partitions(-1)
                            .with_replication_factor(-1)
                            .with_topic_config_error_code(
                                ResponseError::TopicAuthorizationFailed.code(),
                            )
                            .with_configs((ctx.version >= 5).then(Vec::new)),
                    );
                    continue;
                }
                let described = describe_topic(&configs, &cluster.properties)
                    .into_iter()
                    .map(|d| {
                        CreatableTopicConfigs::default()
                            .with_name(text(d.name))
                            .with_value(Some(text(d.value)))
                            .with_read_only(d.read_only)
                            .with_config_source(d.source as i8)
                            .with_is_sensitive(false)
                    })
                    .collect();
                results.push(
                    result
                        .with_topic_id(id.unwrap_or_default())
                        .with_num_partitions(count)
                        .with_replication_factor(1)
                        // v5 added the created topic's configs to the answer.
                        .with_configs((ctx.version >= 5).then_some(described)),
                );
            }
            Err(e) => results.push(error(result, e)),
        }
    }
    CreateTopicsResponse::default()
        .with_topics(results)
        .with_throttle_time_ms(quota.throttle_time_ms())
}

fn error(result: CreatableTopicResult, e: AdminError) -> CreatableTopicResult {
    result
        .with_error_code(e.code.code())
        .with_error_message(Some(text(e.message)))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
}

/// Partition count, replication factor and configs, from counts or from an
/// explicit replica assignment (which may only name this node).
fn parse(
    ctx: &RequestContext,
    topic: &CreatableTopic,
) -> Result<(i32, i16, BTreeMap<String, String>), AdminError> {
    let mut configs = BTreeMap::new();
    for c in &topic.configs {
        let value = c.value.as_ref().ok_or_else(|| {
            AdminError::new(
                ResponseError::InvalidConfig,
                format!(
                    "Null value not supported for topic configs: {}",
                    c.name.as_str()
                ),
            )
        })?;
        configs.insert(c.name.to_string(), value.to_string());
    }
    if topic.assignments.is_empty() {
        return Ok((topic.num_partitions, topic.replication_factor, configs));
    }
    if topic.num_partitions != -1 || topic.replication_factor != -1 {
        return Err(AdminError::new(
            ResponseError::InvalidRequest,
            "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.",
        ));
    }
    let node = ctx.broker.cluster.node_id;
    let mut indexes: Vec<i32> = topic
        .assignments
        .iter()
        .map(|a| a.partition_index)
        .collect();
    indexes.sort_unstable();
    if indexes.iter().enumerate().any(|(i, p)| *p != i as i32) {
        return Err(AdminError::new(
            ResponseError::InvalidReplicaAssignment,
            "Partitions should be a consecutive 0-based integer sequence",
        ));
    }
    if topic
        .assignments
        .iter()
        .any(|a| a.broker_ids.len() != 1 || a.broker_ids[0].0 != node)
    {
        return Err(AdminError::new(
            ResponseError::InvalidReplicaAssignment,
            format!("Replica assignments may only name broker {node}, the only broker"),
        ));
    }
    Ok((topic.assignments.len() as i32, 1, configs))
}
