//! AlterConfigs (key 33): replace a topic's whole set of config overrides.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};

use super::configs::{audit_topic_configs, topic_to_alter, AlterApi};
use super::{text, RequestContext};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let cluster = &ctx.broker.cluster;
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let response = AlterConfigsResourceResponse::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        let name = resource.resource_name.as_str();
        let topic = topic_to_alter(ctx, AlterApi::AlterConfigs, resource.resource_type, name);
        let outcome = match topic {
            Ok(topic) => {
                // A null value removes the override, as an absent one does.
                let overrides: BTreeMap<String, String> = resource
                    .configs
                    .iter()
                    .filter_map(|c| {
                        c.value
                            .as_ref()
                            .map(|v| (c.name.to_string(), v.to_string()))
                    })
                    .collect();
                cluster
                    .replace_topic_configs(&topic, overrides, request.validate_only)
                    .await
                    .map_err(|e| (e.code, e.message))
            }
            Err(e) => Err(e),
        };
        if outcome.is_ok() && !request.validate_only {
            audit_topic_configs(ctx, name, resource.configs.iter().map(|c| c.name.as_str()));
        }
        responses.push(match outcome {
            Ok(()) => response,
            Err((code, message)) => response
                .with_error_code(code.code())
                .with_error_message(Some(text(message))),
        });
    }
    AlterConfigsResponse::default().with_responses(responses)
}
