//! The GROUP config resource (type 32) of DescribeConfigs, AlterConfigs and
//! IncrementalAlterConfigs, as Kafka 4.1 serves it: DESCRIBE_CONFIGS or
//! ALTER_CONFIGS on the group (GROUP_AUTHORIZATION_FAILED otherwise), any
//! group name but "" (the group need not exist), configs validated and
//! stored by the cluster (`crate::group_config`).

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use strata_governance::{Operation, Resource};

use super::configs::{denied, ConfigError, Described};
use super::RequestContext;
use crate::group_config::{self, GROUP_CONFIGS};
use crate::topic_config::ConfigSource;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

/// Asks `operation` on the group; a refusal is Kafka's
/// GROUP_AUTHORIZATION_FAILED with `Errors.message()`.
pub(crate) fn may_group(
    ctx: &RequestContext,
    operation: Operation,
    name: &str,
) -> Result<(), ConfigError> {
    if ctx.may(operation, Resource::Group(name)) {
        Ok(())
    } else {
        Err(denied(ResponseError::GroupAuthorizationFailed))
    }
}

/// DescribeConfigs of a group, after its authorization. A group that does
/// not exist is described with the broker defaults, as Kafka describes it
/// (`ConfigHelper` reads the config repository, never the coordinator).
pub(crate) fn describe(ctx: &RequestContext, name: &str) -> Result<Vec<Described>, ConfigError> {
    if name.is_empty() {
        return Err((
            ResponseError::InvalidRequest,
            "Group name must not be empty".into(),
        ));
    }
    let cluster = &ctx.broker.cluster;
    Ok(describe_group(
        &cluster.group_configs().overrides(name),
        group_config::broker_defaults(&cluster.properties),
    ))
}

/// Every group config Strata honours with its effective value. As in
/// Kafka's `createGroupConfigEntry`, a value the group does not set is the
/// broker's `group.consumer.*` value reported as DEFAULT_CONFIG (also when
/// the operator set that property: Kafka looks the group config's own name
/// up among the broker's, finds nothing, and names no broker synonym), and
/// the only synonym is the entry itself.
pub(crate) fn describe_group(
    overrides: &BTreeMap<String, String>,
    defaults: crate::groups::ConsumerSettings,
) -> Vec<Described> {
    let effective = group_config::resolve(overrides, defaults);
    GROUP_CONFIGS
        .iter()
        .map(|def| {
            let value = match def.name {
                group_config::CONSUMER_SESSION_TIMEOUT_MS => effective.session_timeout_ms,
                _ => effective.heartbeat_interval_ms,
            }
            .to_string();
            let source = if overrides.contains_key(def.name) {
                ConfigSource::DynamicGroup
            } else {
                ConfigSource::Default
            };
            Described {
                name: def.name,
                value: value.clone(),
                source,
                read_only: false,
                kind: def.kind,
                doc: def.doc,
                synonyms: vec![(def.name, value, source)],
            }
        })
        .collect()
}

/// The name check Kafka's controller makes after authorization
/// (`ControllerConfigurationValidator.validateGroupName`).
pub(crate) fn check_name_to_alter(name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err((
            ResponseError::InvalidRequest,
            "Default group resources are not allowed.".into(),
        ));
    }
    Ok(())
}

/// Applies IncrementalAlterConfigs operations to a copy of a group's
/// overrides. The configs are integers, so APPEND and SUBTRACT are refused
/// as Kafka refuses them on a non-LIST config; names and values are checked
/// with the whole new set when it is stored.
pub(crate) fn apply_ops(
    current: &BTreeMap<String, String>,
    ops: &[AlterableConfig],
) -> Result<BTreeMap<String, String>, ConfigError> {
    super::configs::refuse_duplicate_keys(ops)?;
    let mut overrides = current.clone();
    for op in ops {
        let name = op.name.as_str();
        match op.config_operation {
            SET => {
                let value = op.value.as_ref().ok_or_else(|| {
                    (
                        ResponseError::InvalidRequest,
                        format!("Null value not supported for : {name}"),
                    )
                })?;
                overrides.insert(name.to_string(), value.to_string());
            }
            DELETE => {
                overrides.remove(name);
            }
            APPEND | SUBTRACT => {
                let verb = if op.config_operation == APPEND {
                    "APPEND"
                } else {
                    "SUBTRACT"
                };
                return Err((
                    ResponseError::InvalidConfig,
                    format!("Can't {verb} to key {name} because its type is not LIST."),
                ));
            }
            other => {
                return Err((
                    ResponseError::InvalidRequest,
                    format!("Unknown config operation {other}"),
                ))
            }
        }
    }
    Ok(overrides)
}

/// Records a group's changed configs (names only) in the audit log.
pub(crate) fn audit<'a>(ctx: &RequestContext, group: &str, names: impl Iterator<Item = &'a str>) {
    let names: Vec<&str> = names.collect();
    ctx.record(
        ctx.changed(Operation::AlterConfigs, Resource::Group(group))
            .with_request("configs", names),
    );
}

#[cfg(test)]
#[path = "group_configs_tests.rs"]
mod tests;
