//! DeleteTopics (key 20), by name (v1-5) or by name or id (v6).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{ApiKey, DeleteTopicsRequest, DeleteTopicsResponse};

use strata_governance::{Operation, Resource};

use super::{text, topic_name, RequestContext};
use crate::quotas::mutation::{MutationQuota, EXCEEDED_MESSAGE};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let cluster = &ctx.broker.cluster;
    let targets: Vec<(Option<String>, uuid::Uuid)> = if ctx.version >= 6 {
        request
            .topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.to_string()), t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|n| (Some(n.to_string()), uuid::Uuid::nil()))
            .collect()
    };
    let mut responses = Vec::with_capacity(targets.len());
    let mut quota = MutationQuota::for_request(ctx, ApiKey::DeleteTopics);
    for (name, id) in targets {
        let result = DeletableTopicResult::default()
            .with_name(name.as_deref().map(topic_name))
            .with_topic_id(id);
        let topic = match &name {
            Some(name) => cluster.topic(name),
            None => cluster.topic_by_id(id),
        };
        let Some(topic) = topic else {
            let code = if name.is_some() {
                ResponseError::UnknownTopicOrPartition
            } else {
                ResponseError::UnknownTopicId
            };
            responses.push(result.with_error_code(code.code()));
            continue;
        };
        let result = result
            .with_name(Some(topic_name(&topic.name)))
            .with_topic_id(topic.id);
        if crate::cluster::is_internal(&topic.name) {
            responses.push(
                result
                    .with_error_code(ResponseError::InvalidTopicException.code())
                    .with_error_message(Some(text(format!(
                        "Cannot delete internal topic {}",
                        topic.name
                    )))),
            );
            continue;
        }
        if !ctx.may_topic(Operation::Delete, &topic.name) {
            responses.push(result.with_error_code(ResponseError::TopicAuthorizationFailed.code()));
            continue;
        }
        if let Err(code) = quota.record(topic.partition_count()) {
            responses.push(
                result
                    .with_error_code(code.code())
                    .with_error_message(Some(text(EXCEEDED_MESSAGE))),
            );
            continue;
        }
        responses.push(match cluster.delete_topic(&topic).await {
            Ok(()) => {
                ctx.broker.groups.remove_topic_offsets(&topic.name);
                ctx.record(ctx.changed(Operation::Delete, Resource::Topic(&topic.name)));
                result
            }
            Err(e) => result
                .with_error_code(e.code.code())
                .with_error_message(Some(text(e.message))),
        });
    }
    DeleteTopicsResponse::default()
        .with_responses(responses)
        .with_throttle_time_ms(quota.throttle_time_ms())
}
