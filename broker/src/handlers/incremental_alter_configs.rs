//! IncrementalAlterConfigs (key 44): SET, DELETE, APPEND and SUBTRACT on
//! individual topic or group configs.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};

use super::configs::{alter_target, store, AlterApi, AlterTarget};
use super::{group_configs, text, RequestContext};
use crate::properties::BrokerProperties;
use crate::topic_config::{self, ConfigType};

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let cluster = &ctx.broker.cluster;
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let response = AlterConfigsResourceResponse::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        let name = resource.resource_name.as_str();
        let names = resource.configs.iter().map(|c| c.name.as_str());
        let target = alter_target(
            ctx,
            AlterApi::IncrementalAlterConfigs,
            resource.resource_type,
            name,
        );
        let overrides = target.and_then(|target| {
            let overrides = match &target {
                AlterTarget::Topic(topic) => apply_ops(
                    &topic.config().overrides,
                    &resource.configs,
                    &cluster.properties,
                ),
                AlterTarget::Group(group) => group_configs::apply_ops(
                    &cluster.group_configs().overrides(group),
                    &resource.configs,
                ),
            }?;
            Ok((target, overrides))
        });
        let outcome = match overrides {
            Ok((target, overrides)) => {
                store(ctx, &target, overrides, request.validate_only, names).await
            }
            Err(e) => Err(e),
        };
        responses.push(match outcome {
            // Kafka's success carries a null message (kafka-protocol's default is "").
            Ok(()) => response.with_error_message(None),
            Err((code, message)) => response
                .with_error_code(code.code())
                .with_error_message(Some(text(message))),
        });
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// Applies the operations to a copy of the overrides.
fn apply_ops(
    current: &BTreeMap<String, String>,
    ops: &[AlterableConfig],
    broker: &BrokerProperties,
) -> Result<BTreeMap<String, String>, (ResponseError, String)> {
    super::configs::refuse_duplicate_keys(ops)?;
    let mut overrides = current.clone();
    for op in ops {
        let name = op.name.as_str();
        let def = topic_config::find(name).ok_or_else(|| {
            (
                ResponseError::InvalidConfig,
                format!("Unknown topic config name: {name}"),
            )
        })?;
        let value = op.value.as_ref().map(|v| v.to_string());
        match op.config_operation {
            SET => {
                let value = value.ok_or_else(|| {
                    (
                        ResponseError::InvalidRequest,
                        format!("Null value not supported for : {name}"),
                    )
                })?;
                overrides.insert(name.to_string(), value);
            }
            DELETE => {
                overrides.remove(name);
            }
            APPEND | SUBTRACT => {
                if def.kind != ConfigType::List {
                    return Err((
                        ResponseError::InvalidConfig,
                        format!("Config value append is not allowed for config key: {name}"),
                    ));
                }
                let (existing, _) = topic_config::effective_value(def, &overrides, broker);
                let mut items: Vec<String> = existing
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                let given: Vec<String> = value
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                if op.config_operation == APPEND {
                    for item in given {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    }
                } else {
                    items.retain(|i| !given.contains(i));
                }
                overrides.insert(name.to_string(), items.join(","));
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
