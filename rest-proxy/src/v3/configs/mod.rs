//! v3 configs of three scopes: a topic's, a broker's, and the cluster-wide
//! broker defaults (`/broker-configs`, KIP-226's dynamic defaults: resource
//! BROKER with the empty name, as kafka-rest's `ClusterConfigManagerImpl`
//! reads and writes them). Each serves list, get, `PUT` (set), `DELETE`
//! (back to the default) and `configs:alter` (several SET/DELETE at once,
//! `validate_only`); topics and brokers also `-/configs` across every topic
//! or broker. Reads are DescribeConfigs with synonyms; writes are
//! IncrementalAlterConfigs. Before a write kafka-rest checks that each name
//! exists (404 otherwise), except for the cluster-wide `PUT` and
//! `configs:alter`: those defaults list only what is set, so any name may be
//! new. The broker takes no dynamic broker configs, so a broker or
//! cluster-wide write gets its INVALID_REQUEST answer (400/40002 with the
//! broker's message).

mod broker;
mod cluster;
mod named;
mod topic;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::IncrementalAlterConfigsRequest;
use serde::Deserialize;
use serde_json::{json, Value};

use super::clusters;
use super::errors::{self, invalid_payload};
use super::kafka::{self, str_bytes, RESOURCE_BROKER, RESOURCE_TOPIC};
use super::links::{ok, Links};
use crate::backend::Caller;
use crate::error::RestError;
use crate::Shared;

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const NULL_PAYLOAD: &str = "Null input provided. Data is required.";

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .merge(topic::routes())
        .merge(broker::routes())
        .merge(cluster::routes())
}

/// Whose configs: a topic, a broker, or the cluster-wide broker defaults.
#[derive(Clone)]
enum Scope {
    Topic(String),
    Broker(i32),
    Cluster,
}

impl Scope {
    fn resource_type(&self) -> i8 {
        match self {
            Scope::Topic(_) => RESOURCE_TOPIC,
            Scope::Broker(_) | Scope::Cluster => RESOURCE_BROKER,
        }
    }
    /// The topic, the broker id, or `""` (Kafka's name for the defaults).
    fn resource_name(&self) -> String {
        match self {
            Scope::Topic(t) => t.clone(),
            Scope::Broker(b) => b.to_string(),
            Scope::Cluster => String::new(),
        }
    }
    /// `TOPIC`/`BROKER`, as Kafka's `ConfigResource.Type` prints in
    /// kafka-rest's messages.
    fn type_name(&self) -> &'static str {
        match self {
            Scope::Topic(_) => "TOPIC",
            Scope::Broker(_) | Scope::Cluster => "BROKER",
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Scope::Topic(_) => "KafkaTopicConfig",
            Scope::Broker(_) => "KafkaBrokerConfig",
            Scope::Cluster => "KafkaClusterConfig",
        }
    }
    fn list_kind(&self) -> &'static str {
        match self {
            Scope::Topic(_) => "KafkaTopicConfigList",
            Scope::Broker(_) => "KafkaBrokerConfigList",
            Scope::Cluster => "KafkaClusterConfigList",
        }
    }
    /// The path of the scope's config list under `/v3/clusters`.
    fn collection(&self, c: &str) -> Vec<String> {
        match self {
            Scope::Topic(t) => vec![c.into(), "topics".into(), t.clone(), "configs".into()],
            Scope::Broker(b) => vec![c.into(), "brokers".into(), b.to_string(), "configs".into()],
            Scope::Cluster => vec![c.into(), "broker-configs".into()],
        }
    }
    /// The CRN of config `name`: `kafka=c/topic=t/config=name`,
    /// `kafka=c/broker=b/config=name` or `kafka=c/broker-config=name`.
    fn crn_parts<'a>(&'a self, c: &'a str, id: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
        match self {
            Scope::Topic(_) => vec![("kafka", c), ("topic", id), ("config", name)],
            Scope::Broker(_) => vec![("kafka", c), ("broker", id), ("config", name)],
            Scope::Cluster => vec![("kafka", c), ("broker-config", name)],
        }
    }
}

/// Kafka's `ConfigEntry.ConfigSource` names for the wire's source codes.
fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "DYNAMIC_CLIENT_METRICS_CONFIG",
        8 => "DYNAMIC_GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

fn config_data(
    links: &Links,
    c: &str,
    scope: &Scope,
    entry: &DescribeConfigsResourceResult,
) -> Value {
    let name = entry.name.as_str();
    let synonyms: Vec<Value> = entry
        .synonyms
        .iter()
        .map(|s| {
            json!({
                "name": s.name.as_str(),
                "value": s.value.as_ref().map(|v| v.as_str()),
                "source": source_name(s.source),
            })
        })
        .collect();
    let mut fields = json!({
        "cluster_id": c,
        "name": name,
        "value": entry.value.as_ref().map(|v| v.as_str()),
        "is_default": entry.config_source == 5,
        "is_read_only": entry.read_only,
        "is_sensitive": entry.is_sensitive,
        "source": source_name(entry.config_source),
        "synonyms": synonyms,
    });
    match scope {
        Scope::Topic(t) => fields["topic_name"] = json!(t),
        Scope::Broker(b) => fields["broker_id"] = json!(b),
        Scope::Cluster => fields["config_type"] = json!("BROKER"),
    }
    let id = scope.resource_name();
    let mut path = scope.collection(c);
    path.push(name.to_owned());
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    links.resource(scope.kind(), &path, &scope.crn_parts(c, &id, name), fields)
}

/// Every config of `scope`, sorted by name.
async fn describe(
    proxy: &Shared,
    caller: &Caller,
    scope: &Scope,
) -> Result<Vec<DescribeConfigsResourceResult>, RestError> {
    let name = scope.resource_name();
    let result = kafka::describe_configs(proxy, caller, &[(scope.resource_type(), &name)])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| RestError::kafka("DescribeConfigs answered no resource"))??;
    let mut configs = result.configs;
    configs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(configs)
}

fn missing(c: &str, scope: &Scope, name: &str) -> RestError {
    errors::not_found_msg(format!(
        "Config {name} cannot be found for {} {} in cluster {c}.",
        scope.type_name(),
        scope.resource_name()
    ))
}

async fn list(
    proxy: Shared,
    caller: Caller,
    links: Links,
    c: String,
    scope: Scope,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &c)?;
    let configs = describe(&proxy, &caller, &scope).await?;
    let data = configs
        .iter()
        .map(|e| config_data(&links, &c, &scope, e))
        .collect();
    let path = scope.collection(&c);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    Ok(ok(links.collection(scope.list_kind(), &path, data)))
}

async fn get_one(
    proxy: Shared,
    caller: Caller,
    links: Links,
    c: String,
    scope: Scope,
    name: String,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &c)?;
    let configs = describe(&proxy, &caller, &scope).await?;
    let entry = configs
        .iter()
        .find(|e| e.name.as_str() == name)
        .ok_or_else(errors::not_found)?;
    Ok(ok(config_data(&links, &c, &scope, entry)))
}

/// One alteration of a `configs:alter` body or a `PUT`/`DELETE`.
struct Command {
    name: String,
    op: i8,
    value: Option<String>,
}

/// Checks every name exists, then applies the commands in one
/// IncrementalAlterConfigs; 204 on success.
async fn alter(
    proxy: &Shared,
    caller: &Caller,
    c: &str,
    scope: &Scope,
    commands: Vec<Command>,
    validate_only: bool,
) -> Result<Response, RestError> {
    clusters::check(proxy, c)?;
    let configs = describe(proxy, caller, scope).await?;
    if let Some(unknown) = commands
        .iter()
        .find(|cmd| !configs.iter().any(|e| e.name.as_str() == cmd.name))
    {
        return Err(missing(c, scope, &unknown.name));
    }
    apply(proxy, caller, scope, &commands, validate_only).await
}

/// Applies the commands in one IncrementalAlterConfigs, without checking
/// the names first (the caller has checked the cluster id); 204 on success.
async fn apply(
    proxy: &Shared,
    caller: &Caller,
    scope: &Scope,
    commands: &[Command],
    validate_only: bool,
) -> Result<Response, RestError> {
    let resource = AlterConfigsResource::default()
        .with_resource_type(scope.resource_type())
        .with_resource_name(str_bytes(&scope.resource_name()))
        .with_configs(
            commands
                .iter()
                .map(|cmd| {
                    AlterableConfig::default()
                        .with_name(str_bytes(&cmd.name))
                        .with_config_operation(cmd.op)
                        .with_value(cmd.value.as_deref().map(str_bytes))
                })
                .collect(),
        );
    let response = proxy
        .send(
            caller,
            IncrementalAlterConfigsRequest::default()
                .with_resources(vec![resource])
                .with_validate_only(validate_only),
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

/// kafka-rest's `UpdateTopicConfigRequest`/`UpdateBrokerConfigRequest`/
/// `UpdateClusterConfigRequest`.
#[derive(Deserialize)]
struct Update {
    value: Option<String>,
}

/// kafka-rest's `AlterConfigBatchRequestData`.
#[derive(Deserialize)]
struct AlterBatch {
    data: Option<Vec<AlterEntry>>,
    validate_only: Option<bool>,
}

#[derive(Deserialize)]
struct AlterEntry {
    name: String,
    value: Option<String>,
    operation: Operation,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "UPPERCASE")]
enum Operation {
    Set,
    Delete,
}

fn batch_commands(body: Option<AlterBatch>) -> Result<(Vec<Command>, bool), RestError> {
    let body = body.ok_or_else(|| invalid_payload(NULL_PAYLOAD))?;
    let data = body.data.ok_or_else(|| errors::bad_body("Null data"))?;
    let commands = data
        .into_iter()
        .map(|e| match e.operation {
            Operation::Set => Command {
                name: e.name,
                op: OP_SET,
                value: e.value,
            },
            Operation::Delete => Command {
                name: e.name,
                op: OP_DELETE,
                value: None,
            },
        })
        .collect();
    Ok((commands, body.validate_only.unwrap_or(false)))
}

fn set_command(name: String, body: Option<Update>) -> Result<Vec<Command>, RestError> {
    let body = body.ok_or_else(|| invalid_payload(NULL_PAYLOAD))?;
    Ok(vec![Command {
        name,
        op: OP_SET,
        value: body.value,
    }])
}

fn delete_command(name: String) -> Vec<Command> {
    vec![Command {
        name,
        op: OP_DELETE,
        value: None,
    }]
}
