//! What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share:
//! resource types and the description of a topic's or the broker's configs.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsSynonym,
};

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use strata_governance::{Operation, Resource};

use super::{group_configs, text, RequestContext};
use crate::cluster::Topic;
use crate::properties::{BrokerProperties, BROKER_ONLY};
use crate::topic_config::{
    effective_value, ConfigSource, ConfigType, NO_BROKER_SYNONYM, TOPIC_CONFIGS,
};

/// `ConfigResource.Type` codes Strata serves: topics, the broker, groups
/// (`group_configs.rs`), and (to authorize and refuse) the broker's loggers
/// and client metrics subscriptions.
pub(crate) const RESOURCE_TOPIC: i8 = 2;
pub(crate) const RESOURCE_BROKER: i8 = 4;
pub(crate) const RESOURCE_BROKER_LOGGER: i8 = 8;
pub(crate) const RESOURCE_CLIENT_METRICS: i8 = 16;
pub(crate) const RESOURCE_GROUP: i8 = 32;

/// A refused config change: Kafka error code and message.
pub(crate) type ConfigError = (ResponseError, String);

/// Which API alters configs: only IncrementalAlterConfigs takes
/// BROKER_LOGGER resources (KIP-412); AlterConfigs refuses them as an
/// unknown type before any authorization, as Kafka's
/// `ConfigAdminManager.preprocess` does. Both take TOPIC, BROKER, GROUP and
/// CLIENT_METRICS (Kafka's `ControllerApis.authorizeAlterResource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlterApi {
    AlterConfigs,
    IncrementalAlterConfigs,
}

/// IncrementalAlterConfigs names each config once per resource: Kafka's
/// INVALID_REQUEST for a repeated key, for topics and groups alike.
pub(crate) fn refuse_duplicate_keys(
    ops: &[kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig],
) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    match ops.iter().find(|op| !seen.insert(op.name.as_str())) {
        Some(dup) => Err((
            ResponseError::InvalidRequest,
            format!("Error due to duplicate config keys: {}", dup.name.as_str()),
        )),
        None => Ok(()),
    }
}

/// An authorization refusal with Kafka's message for its code: Kafka
/// answers these with a null `ApiError` message, which the response fills
/// with `Errors.message()` ("Cluster authorization failed."). kafka-protocol's
/// `Display` prints the variant's name instead, so the two texts are here.
pub(crate) fn denied(code: ResponseError) -> ConfigError {
    let message = match code {
        ResponseError::ClusterAuthorizationFailed => "Cluster authorization failed.",
        ResponseError::TopicAuthorizationFailed => "Topic authorization failed.",
        ResponseError::GroupAuthorizationFailed => "Group authorization failed.",
        _ => "Authorization failed.",
    };
    (code, message.to_string())
}

/// BROKER and BROKER_LOGGER resources belong to the cluster: Kafka asks
/// `operation` on the Cluster resource (`authorizeAlterResource`,
/// `ConfigHelper`) and answers CLUSTER_AUTHORIZATION_FAILED for that resource.
pub(crate) fn may_cluster(ctx: &RequestContext, operation: Operation) -> Result<(), ConfigError> {
    if ctx.may(operation, Resource::Cluster) {
        Ok(())
    } else {
        Err(denied(ResponseError::ClusterAuthorizationFailed))
    }
}

/// What an authorized BROKER_LOGGER resource gets: Strata's log filter is
/// the `--log` setting, read once at start, so there are no runtime loggers
/// to describe or change.
pub(crate) fn no_runtime_loggers() -> ConfigError {
    (
        ResponseError::InvalidRequest,
        "Strata has no runtime loggers: its log filter is --log (STRATA_LOG), set at start"
            .to_string(),
    )
}

/// What an authorized CLIENT_METRICS resource gets (KIP-714). Kafka keeps
/// these as client metrics subscriptions that GetTelemetrySubscriptions
/// hands to clients and PushTelemetry feeds; Strata serves neither API, so
/// a subscription would be stored and never used, and describing one would
/// suggest it exists. INVALID_REQUEST, not UNSUPPORTED_VERSION: the request
/// is understood at every version, and what cannot be served is this kind
/// of resource; it is also what Kafka's broker answers for a resource type
/// it does not handle (`ConfigAdminManager.preprocess`) and what Strata
/// answers for BROKER_LOGGER.
pub(crate) fn no_client_metrics() -> ConfigError {
    (
        ResponseError::InvalidRequest,
        "Strata has no client metrics subscriptions: it does not serve GetTelemetrySubscriptions or PushTelemetry (KIP-714)"
            .to_string(),
    )
}

/// What an AlterConfigs or IncrementalAlterConfigs resource changes.
pub(crate) enum AlterTarget {
    Topic(Arc<Topic>),
    /// A group, by name (it need not exist).
    Group(String),
}

/// What an AlterConfigs or IncrementalAlterConfigs resource names, after
/// the checks both share: authorization, resource type, existence. Broker
/// resources are refused after their authorization: Strata takes no dynamic
/// broker configs; CLIENT_METRICS likewise (see [`no_client_metrics`]).
pub(crate) fn alter_target(
    ctx: &RequestContext,
    api: AlterApi,
    resource_type: i8,
    name: &str,
) -> Result<AlterTarget, ConfigError> {
    match resource_type {
        RESOURCE_TOPIC => {
            if !ctx.may_topic(Operation::AlterConfigs, name) {
                return Err(denied(ResponseError::TopicAuthorizationFailed));
            }
            let topic = ctx.broker.cluster.topic(name).ok_or_else(|| {
                (
                    ResponseError::UnknownTopicOrPartition,
                    format!("Topic '{name}' does not exist."),
                )
            })?;
            Ok(AlterTarget::Topic(topic))
        }
        RESOURCE_GROUP => {
            group_configs::may_group(ctx, Operation::AlterConfigs, name)?;
            group_configs::check_name_to_alter(name)?;
            Ok(AlterTarget::Group(name.to_string()))
        }
        RESOURCE_CLIENT_METRICS => {
            may_cluster(ctx, Operation::AlterConfigs)?;
            Err(no_client_metrics())
        }
        RESOURCE_BROKER => {
            may_cluster(ctx, Operation::AlterConfigs)?;
            this_broker(ctx, name)?;
            Err((
                ResponseError::InvalidRequest,
                "Strata takes no dynamic broker configs: set broker properties in the config file or with --override"
                    .into(),
            ))
        }
        RESOURCE_BROKER_LOGGER if api == AlterApi::IncrementalAlterConfigs => {
            may_cluster(ctx, Operation::AlterConfigs)?;
            Err(no_runtime_loggers())
        }
        // Kafka's `ConfigAdminManager.preprocess`, before any authorization.
        other => Err((
            ResponseError::InvalidRequest,
            format!("Unknown resource type {other}"),
        )),
    }
}

/// A BROKER resource to alter names the cluster-wide defaults ("") or this
/// broker; another id is Kafka's INVALID_REQUEST
/// (`validateResourceNameIsCurrentNodeId`).
fn this_broker(ctx: &RequestContext, name: &str) -> Result<(), ConfigError> {
    let node_id = ctx.broker.cluster.node_id;
    match name.parse::<i32>() {
        _ if name.is_empty() => Ok(()),
        Ok(id) if id == node_id => Ok(()),
        Ok(_) => Err((
            ResponseError::InvalidRequest,
            format!("Unexpected broker id, expected {node_id}, but received {name}"),
        )),
        Err(_) => Err((
            ResponseError::InvalidRequest,
            format!("Node id must be an integer, but it is: {name}"),
        )),
    }
}

/// Replaces `target`'s whole set of overrides with `overrides` (or only
/// checks them, with `validate_only`) and records a change in the audit
/// log by the names of the configs the request touched: the one store step
/// of AlterConfigs and IncrementalAlterConfigs, which differ only in how
/// they compute `overrides`.
pub(crate) async fn store<'a>(
    ctx: &RequestContext,
    target: &AlterTarget,
    overrides: BTreeMap<String, String>,
    validate_only: bool,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), ConfigError> {
    let cluster = &ctx.broker.cluster;
    match target {
        AlterTarget::Topic(topic) => {
            cluster
                .replace_topic_configs(topic, overrides, validate_only)
                .await
                .map_err(|e| (e.code, e.message))?;
            if !validate_only {
                audit_topic_configs(ctx, &topic.name, names);
            }
        }
        AlterTarget::Group(group) => {
            cluster
                .replace_group_configs(group, overrides, validate_only)
                .await
                .map_err(|e| (e.code, e.message))?;
            if !validate_only {
                group_configs::audit(ctx, group, names);
            }
        }
    }
    Ok(())
}

/// Records a topic's changed configs (their names: values stay out of the
/// audit log) in the audit log.
pub(crate) fn audit_topic_configs<'a>(
    ctx: &RequestContext,
    topic: &str,
    names: impl Iterator<Item = &'a str>,
) {
    let names: Vec<&str> = names.collect();
    ctx.record(
        ctx.changed(Operation::AlterConfigs, Resource::Topic(topic))
            .with_request("configs", names),
    );
}

/// One described config, before it is shaped for a response version.
pub(crate) struct Described {
    pub(crate) name: &'static str,
    pub(crate) value: String,
    pub(crate) source: ConfigSource,
    pub(crate) read_only: bool,
    pub(crate) kind: ConfigType,
    pub(crate) doc: &'static str,
    /// Most specific first, as Kafka orders them.
    pub(crate) synonyms: Vec<(&'static str, String, ConfigSource)>,
}

impl Described {
    pub(crate) fn into_result(
        self,
        include_synonyms: bool,
        include_documentation: bool,
    ) -> DescribeConfigsResourceResult {
        let synonyms = if include_synonyms {
            self.synonyms
                .into_iter()
                .map(|(name, value, source)| {
                    DescribeConfigsSynonym::default()
                        .with_name(text(name))
                        .with_value(Some(text(value)))
                        .with_source(source as i8)
                })
                .collect()
        } else {
            Vec::new()
        };
        DescribeConfigsResourceResult::default()
            .with_name(text(self.name))
            .with_value(Some(text(self.value)))
            .with_read_only(self.read_only)
            .with_config_source(self.source as i8)
            .with_is_sensitive(false)
            .with_synonyms(synonyms)
            .with_config_type(self.kind as i8)
            .with_documentation(include_documentation.then(|| text(self.doc)))
    }
}

/// Every topic config with its effective value, source and synonyms.
pub(crate) fn describe_topic(
    overrides: &BTreeMap<String, String>,
    broker: &BrokerProperties,
) -> Vec<Described> {
    TOPIC_CONFIGS
        .iter()
        .map(|def| {
            let (value, source) = effective_value(def, overrides, broker);
            let mut synonyms = Vec::new();
            if let Some(v) = overrides.get(def.name) {
                synonyms.push((def.name, v.clone(), ConfigSource::DynamicTopic));
            }
            // Configs without a broker synonym (throttled replicas, the
            // remote.log.* switches) have only their topic value, as in Kafka.
            if def.broker_name != NO_BROKER_SYNONYM {
                if let Some(v) = broker.explicit().get(def.broker_name) {
                    synonyms.push((def.broker_name, v.clone(), ConfigSource::StaticBroker));
                }
                synonyms.push((
                    def.broker_name,
                    def.default.to_string(),
                    ConfigSource::Default,
                ));
            }
            Described {
                name: def.name,
                value,
                source,
                read_only: false,
                kind: def.kind,
                doc: def.doc,
                synonyms,
            }
        })
        .collect()
}

/// Every broker property. All are read-only: Strata takes no dynamic broker configs.
pub(crate) fn describe_broker(broker: &BrokerProperties) -> Vec<Described> {
    let mut out: Vec<Described> = TOPIC_CONFIGS
        .iter()
        .filter(|def| def.broker_name != NO_BROKER_SYNONYM)
        .map(|def| (def.broker_name, def.default, def.kind, def.doc))
        .chain(
            BROKER_ONLY
                .iter()
                .map(|(name, default, doc)| (*name, *default, broker_only_type(name), *doc)),
        )
        .map(|(name, default, kind, doc)| {
            let (value, source) = match broker.explicit().get(name) {
                Some(v) => (v.clone(), ConfigSource::StaticBroker),
                None => (default.to_string(), ConfigSource::Default),
            };
            let mut synonyms = vec![(name, value.clone(), source)];
            if source == ConfigSource::StaticBroker {
                synonyms.push((name, default.to_string(), ConfigSource::Default));
            }
            Described {
                name,
                value,
                source,
                read_only: true,
                kind,
                doc,
                synonyms,
            }
        })
        .collect();
    out.sort_by_key(|d| d.name);
    out
}

fn broker_only_type(name: &str) -> ConfigType {
    match name {
        "auto.create.topics.enable" => ConfigType::Boolean,
        "default.replication.factor"
        | "offsets.topic.replication.factor"
        | "transaction.state.log.replication.factor" => ConfigType::Short,
        "log.cleaner.backoff.ms"
        | "log.retention.check.interval.ms"
        | "offsets.retention.check.interval.ms"
        | "offsets.retention.minutes"
        | "group.initial.rebalance.delay.ms" => ConfigType::Long,
        _ => ConfigType::Int,
    }
}
