//! `strata topic`: CreateTopics, Metadata, ListOffsets, DescribeConfigs,
//! IncrementalAlterConfigs and DeleteTopics, sent where Kafka's admin
//! client sends them.

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    IncrementalAlterConfigsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};

use super::offsets::{list_offsets, OffsetSpec};
use super::split_key_value;
use crate::args::TopicAction;
use crate::client::Client;
use crate::error::{CliError, Result};
use crate::output::{Report, Table};

/// DescribeConfigs' resource type for topics.
const TOPIC_RESOURCE: i8 = 2;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

pub(crate) async fn run(client: &mut Client, action: TopicAction) -> Result<Report> {
    match action {
        TopicAction::Create {
            topic,
            partitions,
            replication_factor,
            configs,
        } => create(client, topic, partitions, replication_factor, configs).await,
        TopicAction::List { internal } => list(client, internal).await,
        TopicAction::Describe { topic } => describe(client, &topic).await,
        TopicAction::AlterConfig { topic, set, delete } => {
            alter_config(client, &topic, set, delete).await
        }
        TopicAction::Delete { topics } => delete_topics(client, topics).await,
    }
}

async fn create(
    client: &mut Client,
    topic: String,
    partitions: Option<i32>,
    replication_factor: Option<i16>,
    configs: Vec<String>,
) -> Result<Report> {
    let configs = configs
        .iter()
        .map(|c| split_key_value(c, "--config"))
        .collect::<Result<Vec<_>>>()?;
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(&topic))
            .with_num_partitions(partitions.unwrap_or(-1))
            .with_replication_factor(replication_factor.unwrap_or(-1))
            .with_configs(
                configs
                    .into_iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k))
                            .with_value(Some(StrBytes::from_string(v)))
                    })
                    .collect(),
            )]);
    let response = client.controller().await?.call(|_| request).await?;
    let result = response
        .topics
        .first()
        .ok_or_else(|| CliError::protocol("CreateTopics answered no topic"))?;
    CliError::check(result.error_code, result.error_message.as_deref(), || {
        format!("create topic {topic}")
    })?;
    let json = json!({
        "topic": topic,
        "topic_id": result.topic_id.to_string(),
        "partitions": result.num_partitions,
        "replication_factor": result.replication_factor,
    });
    Ok(Report::message(
        json,
        format!(
            "created topic {topic} ({} partitions, replication factor {})",
            result.num_partitions, result.replication_factor
        ),
    ))
}

async fn list(client: &mut Client, internal: bool) -> Result<Report> {
    let metadata = client.metadata(None).await?;
    let mut topics: Vec<_> = metadata
        .topics
        .iter()
        .filter(|t| internal || !t.is_internal)
        .filter_map(|t| t.name.as_ref().map(|n| (n.0.to_string(), t)))
        .collect();
    topics.sort_by(|a, b| a.0.cmp(&b.0));
    let mut table = Table::new(vec!["TOPIC", "PARTITIONS", "REPLICAS", "INTERNAL"]);
    let mut json = Vec::new();
    for (name, t) in &topics {
        let replicas = t.partitions.first().map_or(0, |p| p.replica_nodes.len());
        table.row(vec![
            name.clone(),
            t.partitions.len().to_string(),
            replicas.to_string(),
            t.is_internal.to_string(),
        ]);
        json.push(json!({
            "name": name,
            "topic_id": t.topic_id.to_string(),
            "partitions": t.partitions.len(),
            "replication_factor": replicas,
            "internal": t.is_internal,
        }));
    }
    Ok(Report::table(Value::Array(json), table))
}

async fn describe(client: &mut Client, topic: &str) -> Result<Report> {
    let metadata = client.metadata(Some(&[topic.to_string()])).await?;
    let layout = client.topic(topic).await?;
    let t = metadata
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        .ok_or_else(|| CliError::Kafka {
            context: format!("topic {topic}"),
            code: 3,
            message: None,
        })?;
    let partitions: Vec<i32> = layout.leaders.keys().copied().collect();
    let starts = list_offsets(client, &layout, &partitions, OffsetSpec::Earliest, false).await?;
    let ends = list_offsets(client, &layout, &partitions, OffsetSpec::Latest, false).await?;
    let mut table = Table::new(vec![
        "PARTITION",
        "LEADER",
        "REPLICAS",
        "ISR",
        "START",
        "END",
        "RECORDS",
    ]);
    let mut parts_json = Vec::new();
    let ids = |ids: &[kafka_protocol::messages::BrokerId]| -> Vec<i32> {
        ids.iter().map(|b| b.0).collect()
    };
    let join = |ids: &[i32]| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    for p in &t.partitions {
        let start = starts.get(&p.partition_index).copied().unwrap_or(-1);
        let end = ends.get(&p.partition_index).copied().unwrap_or(-1);
        let (replicas, isr) = (ids(&p.replica_nodes), ids(&p.isr_nodes));
        table.row(vec![
            p.partition_index.to_string(),
            p.leader_id.0.to_string(),
            join(&replicas),
            join(&isr),
            start.to_string(),
            end.to_string(),
            (end - start).max(0).to_string(),
        ]);
        parts_json.push(json!({
            "partition": p.partition_index,
            "leader": p.leader_id.0,
            "replicas": replicas,
            "isr": isr,
            "start_offset": start,
            "end_offset": end,
        }));
    }
    let configs = describe_configs(client, topic).await?;
    let mut config_table = Table::new(vec!["CONFIG", "VALUE", "SOURCE"]).titled("Configs:");
    for (k, v, source) in &configs {
        config_table.row(vec![
            k.clone(),
            v.clone().unwrap_or_default(),
            source.to_string(),
        ]);
    }
    let json = json!({
        "name": topic,
        "topic_id": t.topic_id.to_string(),
        "internal": t.is_internal,
        "partitions": parts_json,
        "configs": configs.iter().map(|(k, v, s)| (k.clone(), json!({"value": v, "source": s}))).collect::<serde_json::Map<_, _>>(),
    });
    Ok(Report {
        json,
        tables: vec![
            table.titled(format!("Topic {topic} ({})", t.topic_id)),
            config_table,
        ],
        lines: Vec::new(),
    })
}

/// Kafka's names for a config's source (`ConfigSource` in DescribeConfigs).
fn config_source(code: i8) -> &'static str {
    match code {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

/// A topic's configs: name, value (`None` when sensitive), source.
async fn describe_configs(
    client: &mut Client,
    topic: &str,
) -> Result<Vec<(String, Option<String>, &'static str)>> {
    let response = client
        .any()
        .call(|_| {
            DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(StrBytes::from_string(topic.to_string()))
                    .with_configuration_keys(None),
            ])
        })
        .await?;
    let result = response
        .results
        .first()
        .ok_or_else(|| CliError::protocol("DescribeConfigs answered no resource"))?;
    CliError::check(result.error_code, result.error_message.as_deref(), || {
        format!("configs of topic {topic}")
    })?;
    let mut configs: Vec<_> = result
        .configs
        .iter()
        .map(|c| {
            let value = if c.is_sensitive {
                None
            } else {
                c.value.as_ref().map(|v| v.to_string())
            };
            (c.name.to_string(), value, config_source(c.config_source))
        })
        .collect();
    configs.sort();
    Ok(configs)
}

async fn alter_config(
    client: &mut Client,
    topic: &str,
    set: Vec<String>,
    delete: Vec<String>,
) -> Result<Report> {
    if set.is_empty() && delete.is_empty() {
        return Err(CliError::usage(
            "alter-config needs --set key=value or --delete key",
        ));
    }
    let mut configs = Vec::new();
    for item in &set {
        let (k, v) = split_key_value(item, "--set")?;
        configs.push(
            AlterableConfig::default()
                .with_name(StrBytes::from_string(k))
                .with_config_operation(0)
                .with_value(Some(StrBytes::from_string(v))),
        );
    }
    for k in &delete {
        configs.push(
            AlterableConfig::default()
                .with_name(StrBytes::from_string(k.clone()))
                .with_config_operation(1),
        );
    }
    let response = client
        .any()
        .call(|_| {
            IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(StrBytes::from_string(topic.to_string()))
                    .with_configs(configs),
            ])
        })
        .await?;
    for r in &response.responses {
        CliError::check(r.error_code, r.error_message.as_deref(), || {
            format!("alter configs of topic {topic}")
        })?;
    }
    Ok(Report::message(
        json!({"topic": topic, "set": set, "deleted": delete}),
        format!("altered the configs of topic {topic}"),
    ))
}

async fn delete_topics(client: &mut Client, topics: Vec<String>) -> Result<Report> {
    let conn = client.controller().await?;
    let response = conn
        .call(|version| {
            let request = DeleteTopicsRequest::default().with_timeout_ms(30_000);
            if version >= 6 {
                request.with_topics(
                    topics
                        .iter()
                        .map(|t| DeleteTopicState::default().with_name(Some(name(t))))
                        .collect(),
                )
            } else {
                request.with_topic_names(topics.iter().map(|t| name(t)).collect())
            }
        })
        .await?;
    for r in &response.responses {
        let topic = r.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
        CliError::check(r.error_code, r.error_message.as_deref(), || {
            format!("delete topic {topic}")
        })?;
    }
    Ok(Report::message(
        json!({"deleted": topics}),
        format!("deleted {}", topics.join(", ")),
    ))
}
