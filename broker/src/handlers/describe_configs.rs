//! DescribeConfigs (key 32): topic, broker and group configs with sources
//! and synonyms. A BROKER, BROKER_LOGGER or CLIENT_METRICS resource needs
//! DescribeConfigs on the Cluster, a topic DescribeConfigs on the topic, a
//! group DescribeConfigs on the group (Kafka's `ConfigHelper`).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use strata_governance::Operation;

use super::configs::{
    denied, describe_broker, describe_topic, may_cluster, no_client_metrics, no_runtime_loggers,
    ConfigError, Described, RESOURCE_BROKER, RESOURCE_BROKER_LOGGER, RESOURCE_CLIENT_METRICS,
    RESOURCE_GROUP, RESOURCE_TOPIC,
};
use super::{group_configs, text, RequestContext};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let cluster = &ctx.broker.cluster;
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            // Kafka's success carries a null message (kafka-protocol's default is "").
            let result = DescribeConfigsResult::default()
                .with_error_message(None)
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            let name = resource.resource_name.as_str();
            let described: Result<Vec<Described>, ConfigError> = match resource.resource_type {
                RESOURCE_TOPIC if !ctx.may_topic(Operation::DescribeConfigs, name) => {
                    Err(denied(ResponseError::TopicAuthorizationFailed))
                }
                RESOURCE_TOPIC => match cluster.topic(name) {
                    Some(topic) => Ok(describe_topic(
                        &topic.config().overrides,
                        &cluster.properties,
                    )),
                    None => Err((
                        ResponseError::UnknownTopicOrPartition,
                        format!("Topic '{name}' does not exist."),
                    )),
                },
                RESOURCE_BROKER => may_cluster(ctx, Operation::DescribeConfigs).and_then(|()| {
                    if name.is_empty() {
                        // "" names the cluster-wide dynamic defaults, of which Strata has none.
                        Ok(Vec::new())
                    } else if name == cluster.node_id.to_string() {
                        Ok(describe_broker(&cluster.properties))
                    } else {
                        Err((
                            ResponseError::InvalidRequest,
                            format!(
                                "Unexpected broker id, expected {} or empty string, but received {name}",
                                cluster.node_id
                            ),
                        ))
                    }
                }),
                RESOURCE_BROKER_LOGGER => may_cluster(ctx, Operation::DescribeConfigs)
                    .and_then(|()| Err(no_runtime_loggers())),
                RESOURCE_GROUP => {
                    group_configs::may_group(ctx, Operation::DescribeConfigs, name)
                        .and_then(|()| group_configs::describe(ctx, name))
                }
                RESOURCE_CLIENT_METRICS => may_cluster(ctx, Operation::DescribeConfigs)
                    .and_then(|()| Err(no_client_metrics())),
                other => Err((
                    ResponseError::InvalidRequest,
                    format!("Unsupported resource type {other}"),
                )),
            };
            match described {
                Ok(configs) => {
                    // Null or empty asks for every config (Kafka's `createResponseConfig`).
                    let wanted = resource
                        .configuration_keys
                        .as_ref()
                        .filter(|keys| !keys.is_empty());
                    let configs = configs
                        .into_iter()
                        .filter(|d| {
                            wanted.is_none_or(|keys| keys.iter().any(|k| k.as_str() == d.name))
                        })
                        .map(|d| {
                            d.into_result(request.include_synonyms, request.include_documentation)
                        })
                        .collect();
                    result.with_configs(configs)
                }
                Err((code, message)) => result
                    .with_error_code(code.code())
                    .with_error_message(Some(text(message))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}
