//! The Kafka requests several v3 resources share: topic metadata and
//! DescribeConfigs, with the conversions to `kafka-protocol` names.

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::{
    DescribeConfigsRequest, GroupId, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::errors;
use crate::backend::Caller;
use crate::error::RestError;
use crate::RestProxy;

/// Kafka's config resource types.
pub(super) const RESOURCE_TOPIC: i8 = 2;
pub(super) const RESOURCE_BROKER: i8 = 4;

pub(super) fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

pub(super) fn topic_name(s: &str) -> TopicName {
    TopicName(str_bytes(s))
}

pub(super) fn group_id(s: &str) -> GroupId {
    GroupId(str_bytes(s))
}

/// Metadata for every topic (`None`) or the ones named, never creating one.
pub(super) async fn metadata(
    proxy: &RestProxy,
    caller: &Caller,
    topics: Option<&[&str]>,
) -> Result<MetadataResponse, RestError> {
    let topics = topics.map(|names| {
        names
            .iter()
            .map(|n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
            .collect()
    });
    let request = MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(false);
    proxy.send(caller, request).await
}

/// The metadata of one topic; an unknown one is Kafka's
/// UNKNOWN_TOPIC_OR_PARTITION, 404/40403 as Confluent answers it.
pub(super) async fn topic(
    proxy: &RestProxy,
    caller: &Caller,
    name: &str,
) -> Result<MetadataResponseTopic, RestError> {
    let response = metadata(proxy, caller, Some(&[name])).await?;
    let topic = response
        .topics
        .into_iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.as_str() == name))
        .ok_or_else(errors::unknown_topic_or_partition)?;
    errors::check(topic.error_code, None)?;
    Ok(topic)
}

/// DescribeConfigs (with synonyms) of each resource, in order; a failed
/// resource is its error.
pub(super) async fn describe_configs(
    proxy: &RestProxy,
    caller: &Caller,
    resources: &[(i8, &str)],
) -> Result<Vec<Result<DescribeConfigsResult, RestError>>, RestError> {
    let request = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(
            resources
                .iter()
                .map(|(kind, name)| {
                    DescribeConfigsResource::default()
                        .with_resource_type(*kind)
                        .with_resource_name(str_bytes(name))
                        .with_configuration_keys(None)
                })
                .collect(),
        );
    let response = proxy.send(caller, request).await?;
    Ok(response
        .results
        .into_iter()
        .map(|r| {
            errors::check(r.error_code, r.error_message.as_ref().map(|m| m.as_str()))?;
            Ok(r)
        })
        .collect())
}

/// The names of the topics the Admin client's `listTopics()` lists (the
/// internal ones only when asked), sorted.
pub(super) fn topic_names(response: &MetadataResponse, include_internal: bool) -> Vec<String> {
    let mut names: Vec<String> = response
        .topics
        .iter()
        .filter(|t| t.error_code == 0 && (include_internal || !t.is_internal))
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect();
    names.sort();
    names
}
