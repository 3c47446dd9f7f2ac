//! ConsumerGroupHeartbeat (key 68): the KIP-848 consumer group protocol.
//! Joining, leaving, subscriptions and assignments all travel in this one
//! request; the state machine is `groups::consumer`.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_response::{
    Assignment as ResponseAssignment, TopicPartitions,
};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};
use crate::cluster::is_internal;
use crate::groups::{validate_consumer_heartbeat, ConsumerHeartbeat, TopicsView};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    let group_id = request.group_id.0.to_string();
    let heartbeat = ConsumerHeartbeat {
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        instance_id: request.instance_id.as_ref().map(|s| s.to_string()),
        rack_id: request.rack_id.as_ref().map(|s| s.to_string()),
        rebalance_timeout_ms: request.rebalance_timeout_ms,
        subscribed_topic_names: request
            .subscribed_topic_names
            .as_ref()
            .map(|names| names.iter().map(|n| n.0.to_string()).collect()),
        subscribed_topic_regex: request
            .subscribed_topic_regex
            .as_ref()
            .map(|s| s.to_string()),
        server_assignor: request.server_assignor.as_ref().map(|s| s.to_string()),
        owned: request.topic_partitions.as_ref().map(|tps| {
            let mut owned = crate::groups::Assignment::new();
            for tp in tps {
                owned
                    .entry(tp.topic_id)
                    .or_default()
                    .extend(tp.partitions.iter().copied());
            }
            owned
        }),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
    };
    let error = |e: ResponseError, message: Option<String>| {
        ConsumerGroupHeartbeatResponse::default()
            .with_error_code(e.code())
            .with_error_message(message.map(text))
    };
    if let Err(e) = validate_consumer_heartbeat(&group_id, &heartbeat, ctx.version) {
        return error(e.error, e.message);
    }
    if !ctx.may(Operation::Read, Resource::Group(&group_id)) {
        return error(ResponseError::GroupAuthorizationFailed, None);
    }
    if let Some(names) = &heartbeat.subscribed_topic_names {
        if names.iter().any(|n| !ctx.may_topic(Operation::Describe, n)) {
            return error(ResponseError::TopicAuthorizationFailed, None);
        }
    }
    let cluster = &ctx.broker.cluster;
    if ctx
        .broker
        .groups
        .ensure_offsets_topic(cluster)
        .await
        .is_err()
    {
        return error(ResponseError::CoordinatorNotAvailable, None);
    }
    let topics = TopicsView::new(cluster.topics().into_iter().map(|t| {
        (
            t.name.clone(),
            t.id,
            t.partition_count(),
            is_internal(&t.name),
        )
    }));
    match ctx
        .broker
        .groups
        .consumer_heartbeat(&group_id, heartbeat, &topics)
    {
        Ok(result) => {
            let assignment = result.assignment.map(|a| {
                ResponseAssignment::default().with_topic_partitions(
                    a.into_iter()
                        .map(|(topic_id, partitions)| {
                            TopicPartitions::default()
                                .with_topic_id(topic_id)
                                .with_partitions(partitions.into_iter().collect())
                        })
                        .collect(),
                )
            });
            ConsumerGroupHeartbeatResponse::default()
                .with_member_id(Some(text(result.member_id)))
                .with_member_epoch(result.member_epoch)
                .with_heartbeat_interval_ms(result.heartbeat_interval_ms)
                .with_assignment(assignment)
        }
        Err(e) => error(e.error, e.message),
    }
}
