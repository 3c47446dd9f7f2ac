//! Metadata (key 3): brokers, topics and partitions, with auto-creation.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};

use strata_governance::{Operation, Resource};

use super::{acl_operations, text, topic_name, RequestContext};
use crate::cluster::{is_internal, validate_topic_name, Topic};

pub(super) async fn handle(ctx: &RequestContext, request: MetadataRequest) -> MetadataResponse {
    let broker = &ctx.broker;
    let cluster = &broker.cluster;
    let node = BrokerId(cluster.node_id);
    // Kafka fills the bit fields from v8 (cluster operations only up to v10).
    let include_ops = ctx.version >= 8 && request.include_topic_authorized_operations;
    // v0 sends an empty list for "all topics"; v1+ sends null.
    let all = match &request.topics {
        None => true,
        Some(list) => list.is_empty() && ctx.version == 0,
    };
    let auto_create = cluster.properties.auto_create_topics_enable
        && (ctx.version < 4 || request.allow_auto_topic_creation);
    let mut topics = Vec::new();
    if all {
        let visible = cluster.topics().into_iter();
        for topic in visible.filter(|t| ctx.may_topic_quietly(Operation::Describe, &t.name)) {
            topics.push(describe(ctx, &topic, node, include_ops));
        }
    } else {
        for requested in request.topics.unwrap_or_default() {
            let entry = match &requested.name {
                Some(name) => by_name(ctx, name, auto_create, node, include_ops).await,
                None => match cluster.topic_by_id(requested.topic_id) {
                    Some(topic) if !ctx.may_topic(Operation::Describe, &topic.name) => {
                        MetadataResponseTopic::default()
                            .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                            .with_topic_id(requested.topic_id)
                    }
                    Some(topic) => describe(ctx, &topic, node, include_ops),
                    None => MetadataResponseTopic::default()
                        .with_error_code(ResponseError::UnknownTopicId.code())
                        .with_topic_id(requested.topic_id),
                },
            };
            topics.push(entry);
        }
    }
    let (host, port) = ctx.advertised();
    let mut response = MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(node)
            .with_host(text(host.to_string()))
            .with_port(i32::from(port))])
        .with_cluster_id(Some(text(cluster.cluster_id.clone())))
        .with_controller_id(node)
        .with_topics(topics);
    if (8..=10).contains(&ctx.version) && request.include_cluster_authorized_operations {
        let ops = if ctx.may_quietly(Operation::Describe, Resource::Cluster) {
            ctx.authorized_operations(Resource::Cluster)
        } else {
            0
        };
        response = response.with_cluster_authorized_operations(ops);
    }
    response
}

async fn by_name(
    ctx: &RequestContext,
    name: &kafka_protocol::messages::TopicName,
    auto_create: bool,
    node: BrokerId,
    include_ops: bool,
) -> MetadataResponseTopic {
    let cluster = &ctx.broker.cluster;
    if !ctx.may_topic(Operation::Describe, name) {
        return MetadataResponseTopic::default()
            .with_name(Some(name.clone()))
            .with_error_code(ResponseError::TopicAuthorizationFailed.code());
    }
    if let Some(topic) = cluster.topic(name) {
        return describe(ctx, &topic, node, include_ops);
    }
    let unknown = |code: ResponseError| {
        MetadataResponseTopic::default()
            .with_name(Some(name.clone()))
            .with_error_code(code.code())
    };
    if validate_topic_name(name).is_err() {
        return unknown(ResponseError::InvalidTopicException);
    }
    if !auto_create {
        return unknown(ResponseError::UnknownTopicOrPartition);
    }
    // Kafka: CREATE on the cluster, or else on the topic; refused, the
    // topic is TOPIC_AUTHORIZATION_FAILED.
    if !ctx.may_quietly(Operation::Create, Resource::Cluster)
        && !ctx.may_topic(Operation::Create, name)
    {
        return unknown(ResponseError::TopicAuthorizationFailed);
    }
    match cluster.create_topic(name, -1, -1, Default::default()).await {
        Ok(topic) => describe(ctx, &topic, node, include_ops),
        // Another request created it in between: describe that one.
        Err(_) if cluster.topic(name).is_some() => describe(
            ctx,
            &cluster.topic(name).expect("checked"),
            node,
            include_ops,
        ),
        Err(e) => unknown(e.code),
    }
}

fn describe(
    ctx: &RequestContext,
    topic: &Arc<Topic>,
    node: BrokerId,
    include_ops: bool,
) -> MetadataResponseTopic {
    let partitions = (0..topic.partition_count())
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p)
                .with_leader_id(node)
                .with_leader_epoch(0)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(topic_name(&topic.name)))
        .with_topic_id(topic.id)
        .with_is_internal(is_internal(&topic.name))
        .with_partitions(partitions)
        .with_topic_authorized_operations(if include_ops {
            ctx.authorized_operations(Resource::Topic(&topic.name))
        } else {
            acl_operations::NOT_REQUESTED
        })
}
