//! v3 topic and broker configs: list, get, `PUT` (set), `DELETE` (back to
//! the default) and `configs:alter` (several SET/DELETE at once,
//! `validate_only`), plus `topics/-/configs` and `brokers/-/configs` across
//! every topic or broker. Reads are DescribeConfigs with synonyms; writes
//! are IncrementalAlterConfigs after checking, as kafka-rest's
//! `safeUpdateConfig` does, that each name exists (404 otherwise). The
//! broker takes no dynamic broker configs, so a broker config write gets
//! its INVALID_REQUEST answer (400/40002 with the broker's message).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::IncrementalAlterConfigsRequest;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::Body;
use super::brokers::parse_id;
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
    let topic = "/v3/clusters/{cluster_id}/topics/{topic_name}";
    let broker = "/v3/clusters/{cluster_id}/brokers/{broker_id}";
    Router::new()
        .route(
            "/v3/clusters/{cluster_id}/topics/-/configs",
            get(all_topic_configs),
        )
        .route(
            "/v3/clusters/{cluster_id}/brokers/-/configs",
            get(all_broker_configs),
        )
        .route(&format!("{topic}/configs"), get(list_topic))
        .route(
            &format!("{topic}/configs/{{name}}"),
            get(get_topic).put(put_topic).delete(delete_topic),
        )
        .route(&format!("{topic}/configs:alter"), post(alter_topic))
        .route(&format!("{broker}/configs"), get(list_broker))
        .route(
            &format!("{broker}/configs/{{name}}"),
            get(get_broker).put(put_broker).delete(delete_broker),
        )
        .route(&format!("{broker}/configs:alter"), post(alter_broker))
}

/// Whose configs: a topic or a broker.
#[derive(Clone)]
enum Scope {
    Topic(String),
    Broker(i32),
}

impl Scope {
    fn resource_type(&self) -> i8 {
        match self {
            Scope::Topic(_) => RESOURCE_TOPIC,
            Scope::Broker(_) => RESOURCE_BROKER,
        }
    }
    fn resource_name(&self) -> String {
        match self {
            Scope::Topic(t) => t.clone(),
            Scope::Broker(b) => b.to_string(),
        }
    }
    /// `TOPIC`/`BROKER`, as Kafka's `ConfigResource.Type` prints in
    /// kafka-rest's messages.
    fn type_name(&self) -> &'static str {
        match self {
            Scope::Topic(_) => "TOPIC",
            Scope::Broker(_) => "BROKER",
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Scope::Topic(_) => "KafkaTopicConfig",
            Scope::Broker(_) => "KafkaBrokerConfig",
        }
    }
    fn list_kind(&self) -> &'static str {
        match self {
            Scope::Topic(_) => "KafkaTopicConfigList",
            Scope::Broker(_) => "KafkaBrokerConfigList",
        }
    }
    /// `topics/{t}` or `brokers/{b}` under the cluster.
    fn segments(&self) -> [String; 2] {
        match self {
            Scope::Topic(t) => ["topics".into(), t.clone()],
            Scope::Broker(b) => ["brokers".into(), b.to_string()],
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
    let [kind, id] = scope.segments();
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
    let crn_kind = match scope {
        Scope::Topic(_) => "topic",
        Scope::Broker(_) => "broker",
    };
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
    }
    links.resource(
        scope.kind(),
        &[c, &kind, &id, "configs", name],
        &[("kafka", c), (crn_kind, &id), ("config", name)],
        fields,
    )
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
    let [kind, id] = scope.segments();
    let data = configs
        .iter()
        .map(|e| config_data(&links, &c, &scope, e))
        .collect();
    Ok(ok(links.collection(
        scope.list_kind(),
        &[&c, &kind, &id, "configs"],
        data,
    )))
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

/// kafka-rest's `UpdateTopicConfigRequest`/`UpdateBrokerConfigRequest`.
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

// Topic routes.

async fn list_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, t)): Path<(String, String)>,
) -> Result<Response, RestError> {
    list(proxy, caller, links, c, Scope::Topic(t)).await
}

async fn get_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, t, name)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    get_one(proxy, caller, links, c, Scope::Topic(t), name).await
}

async fn put_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, t, name)): Path<(String, String, String)>,
    Body(body): Body<Update>,
) -> Result<Response, RestError> {
    let commands = set_command(name, body)?;
    alter(&proxy, &caller, &c, &Scope::Topic(t), commands, false).await
}

async fn delete_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, t, name)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    alter(
        &proxy,
        &caller,
        &c,
        &Scope::Topic(t),
        delete_command(name),
        false,
    )
    .await
}

async fn alter_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, t)): Path<(String, String)>,
    Body(body): Body<AlterBatch>,
) -> Result<Response, RestError> {
    let (commands, validate_only) = batch_commands(body)?;
    alter(
        &proxy,
        &caller,
        &c,
        &Scope::Topic(t),
        commands,
        validate_only,
    )
    .await
}

async fn all_topic_configs(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(c): Path<String>,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &c)?;
    let metadata = kafka::metadata(&proxy, &caller, None).await?;
    let names = kafka::topic_names(&metadata, false);
    let resources: Vec<(i8, &str)> = names.iter().map(|n| (RESOURCE_TOPIC, n.as_str())).collect();
    let results = kafka::describe_configs(&proxy, &caller, &resources).await?;
    let mut data = Vec::new();
    for (name, result) in names.iter().zip(results) {
        let mut configs = result?.configs;
        configs.sort_by(|a, b| a.name.cmp(&b.name));
        let scope = Scope::Topic(name.clone());
        data.extend(configs.iter().map(|e| config_data(&links, &c, &scope, e)));
    }
    Ok(ok(links.collection(
        "KafkaTopicConfigList",
        &[&c, "topics", "-", "configs"],
        data,
    )))
}

// Broker routes.

async fn list_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, b)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let b = parse_id(&b)?;
    list(proxy, caller, links, c, Scope::Broker(b)).await
}

async fn get_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, b, name)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let b = parse_id(&b)?;
    get_one(proxy, caller, links, c, Scope::Broker(b), name).await
}

async fn put_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, b, name)): Path<(String, String, String)>,
    Body(body): Body<Update>,
) -> Result<Response, RestError> {
    let b = parse_id(&b)?;
    let commands = set_command(name, body)?;
    alter(&proxy, &caller, &c, &Scope::Broker(b), commands, false).await
}

async fn delete_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, b, name)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let b = parse_id(&b)?;
    alter(
        &proxy,
        &caller,
        &c,
        &Scope::Broker(b),
        delete_command(name),
        false,
    )
    .await
}

async fn alter_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, b)): Path<(String, String)>,
    Body(body): Body<AlterBatch>,
) -> Result<Response, RestError> {
    let b = parse_id(&b)?;
    let (commands, validate_only) = batch_commands(body)?;
    alter(
        &proxy,
        &caller,
        &c,
        &Scope::Broker(b),
        commands,
        validate_only,
    )
    .await
}

async fn all_broker_configs(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(c): Path<String>,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &c)?;
    let cluster = clusters::describe(&proxy, &caller).await?;
    let mut ids: Vec<String> = cluster
        .brokers
        .iter()
        .map(|b| b.broker_id.0.to_string())
        .collect();
    ids.sort();
    let resources: Vec<(i8, &str)> = ids.iter().map(|n| (RESOURCE_BROKER, n.as_str())).collect();
    let results = kafka::describe_configs(&proxy, &caller, &resources).await?;
    let mut data = Vec::new();
    for (id, result) in ids.iter().zip(results) {
        let mut configs = result?.configs;
        configs.sort_by(|a, b| a.name.cmp(&b.name));
        let scope = Scope::Broker(id.parse().unwrap_or_default());
        data.extend(configs.iter().map(|e| config_data(&links, &c, &scope, e)));
    }
    Ok(ok(links.collection(
        "KafkaBrokerConfigList",
        &[&c, "brokers", "-", "configs"],
        data,
    )))
}
