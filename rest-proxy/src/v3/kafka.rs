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

use strata_governance::acl::{codes, supported_operations, ResourceType};

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
    metadata_with_operations(proxy, caller, topics, false).await
}

/// [`metadata`], with each topic's `topic_authorized_operations` bit field
/// filled by the broker's authorizer for the caller when `operations` is set
/// (what the Admin client's `includeAuthorizedOperations` asks for).
pub(super) async fn metadata_with_operations(
    proxy: &RestProxy,
    caller: &Caller,
    topics: Option<&[&str]>,
    operations: bool,
) -> Result<MetadataResponse, RestError> {
    let topics = topics.map(|names| {
        names
            .iter()
            .map(|n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
            .collect()
    });
    let request = MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(false)
        .with_include_topic_authorized_operations(operations);
    proxy.send(caller, request).await
}

/// The metadata of one topic; an unknown one is Kafka's
/// UNKNOWN_TOPIC_OR_PARTITION, 404/40403 as Confluent answers it.
pub(super) async fn topic(
    proxy: &RestProxy,
    caller: &Caller,
    name: &str,
) -> Result<MetadataResponseTopic, RestError> {
    topic_with_operations(proxy, caller, name, false).await
}

/// [`topic`], with its authorized-operations bit field when `operations`.
pub(super) async fn topic_with_operations(
    proxy: &RestProxy,
    caller: &Caller,
    name: &str,
    operations: bool,
) -> Result<MetadataResponseTopic, RestError> {
    let response = metadata_with_operations(proxy, caller, Some(&[name]), operations).await?;
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

/// The names (`READ`, `DESCRIBE_CONFIGS`, ...) of the operations set in a
/// Kafka `authorized_operations` bit field for a resource of `resource_type`,
/// in Kafka's code order, as kafka-rest lists them in `authorized_operations`.
/// Kafka's "not asked" value (`i32::MIN`) and any bit for an operation the
/// resource type does not support list nothing.
pub(super) fn authorized_operation_names(
    resource_type: ResourceType,
    bits: i32,
) -> Vec<&'static str> {
    if bits == i32::MIN {
        return Vec::new();
    }
    let mut ops: Vec<_> = supported_operations(resource_type)
        .iter()
        .copied()
        .filter(|op| {
            let code = codes::operation_code(*op);
            (0..32).contains(&code) && bits & (1 << code) != 0
        })
        .collect();
    ops.sort_by_key(|op| codes::operation_code(*op));
    ops.into_iter().map(codes::operation_name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_fields_become_kafka_operation_names() {
        // READ (3), WRITE (4) and DESCRIBE (8)
        let bits = (1 << 3) | (1 << 4) | (1 << 8);
        assert_eq!(
            authorized_operation_names(ResourceType::Topic, bits),
            vec!["READ", "WRITE", "DESCRIBE"]
        );
        assert!(authorized_operation_names(ResourceType::Topic, i32::MIN).is_empty());
        // CLUSTER_ACTION (9) is not a topic operation
        assert!(authorized_operation_names(ResourceType::Topic, 1 << 9).is_empty());
    }
}
