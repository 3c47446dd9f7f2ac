//! AlterConfigs (key 33): replace a topic's or a group's whole set of
//! config overrides.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};

use super::configs::{alter_target, audit_topic_configs, AlterApi, AlterTarget};
use super::{group_configs, text, RequestContext};

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
        let names = || resource.configs.iter().map(|c| c.name.as_str());
        let target = alter_target(ctx, AlterApi::AlterConfigs, resource.resource_type, name);
        let outcome = match target {
            Ok(AlterTarget::Topic(topic)) => {
                let done = cluster
                    .replace_topic_configs(&topic, overrides, request.validate_only)
                    .await
                    .map_err(|e| (e.code, e.message));
                if done.is_ok() && !request.validate_only {
                    audit_topic_configs(ctx, name, names());
                }
                done
            }
            Ok(AlterTarget::Group(group)) => {
                let done = cluster
                    .replace_group_configs(&group, overrides, request.validate_only)
                    .await
                    .map_err(|e| (e.code, e.message));
                if done.is_ok() && !request.validate_only {
                    group_configs::audit(ctx, &group, names());
                }
                done
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
    AlterConfigsResponse::default().with_responses(responses)
}
