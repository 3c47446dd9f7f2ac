//! AlterConfigs (key 33): replace a topic's or a group's whole set of
//! config overrides.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};

use super::configs::{alter_target, store, AlterApi};
use super::{text, RequestContext};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: AlterConfigsRequest,
) -> AlterConfigsResponse {
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
        let names = resource.configs.iter().map(|c| c.name.as_str());
        let outcome = match alter_target(ctx, AlterApi::AlterConfigs, resource.resource_type, name)
        {
            Ok(target) => store(ctx, &target, overrides, request.validate_only, names).await,
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
