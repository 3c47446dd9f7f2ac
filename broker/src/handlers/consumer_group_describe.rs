//! ConsumerGroupDescribe (key 69): KIP-848 groups with their epochs,
//! assignor, members, and each member's current and target assignment.
//!
//! Authorization is Kafka 4.1's (`KafkaApis.handleConsumerGroupDescribe`,
//! KAFKA-18813): Describe on the group, then Describe on every topic in a
//! member's current or target assignment (not the subscribed names or
//! regex, which Kafka does not check here either). A group with an assigned
//! topic the caller may not describe comes back as TOPIC_AUTHORIZATION_FAILED
//! with Kafka's message and nothing else: no members, so no topic names.

use std::collections::HashMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as DescribedAssignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse};
use strata_governance::{Operation, Resource};

use super::{text, topic_name, RequestContext};
use crate::groups::{Assignment, ConsumerGroupDescription};

/// Member type (v1): 1 for a member speaking the consumer protocol.
const CONSUMER_MEMBER_TYPE: i8 = 1;

/// Kafka's message for a group assigned a topic the caller may not describe.
const TOPIC_DENIED_MESSAGE: &str =
    "The group has described topic(s) that the client is not authorized to describe.";

pub(super) async fn handle(
    ctx: &RequestContext,
    request: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let mut topics = TopicAccess::default();
    let groups = request
        .group_ids
        .iter()
        .map(|id| {
            let base = DescribedGroup::default().with_group_id(id.clone());
            let group_id = id.0.as_str();
            if !ctx.may(Operation::Describe, Resource::Group(group_id)) {
                return base.with_error_code(ResponseError::GroupAuthorizationFailed.code());
            }
            let not_found = |message: String| {
                base.clone()
                    .with_error_code(ResponseError::GroupIdNotFound.code())
                    .with_error_message(Some(text(message)))
            };
            match ctx.broker.groups.describe_consumer(group_id) {
                None => not_found(format!("Group {group_id} not found.")),
                Some(Err(())) => not_found(format!("Group {group_id} is not a consumer group.")),
                Some(Ok(group)) => {
                    let described = describe(ctx, base.clone(), group);
                    if !topics.may_describe_all(ctx, &described) {
                        return base
                            .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                            .with_error_message(Some(text(TOPIC_DENIED_MESSAGE)));
                    }
                    if request.include_authorized_operations {
                        described.with_authorized_operations(
                            ctx.authorized_operations(Resource::Group(group_id)),
                        )
                    } else {
                        described
                    }
                }
            }
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}

/// Topic: Describe decisions for one request, asked once per topic name
/// however many groups and members name it (Kafka's `filterByAuthorized`
/// over the whole response: one check, and one audit record, per topic).
#[derive(Default)]
struct TopicAccess {
    decided: HashMap<String, bool>,
}

impl TopicAccess {
    /// Whether the caller may describe every topic in the members' current
    /// and target assignments.
    fn may_describe_all(&mut self, ctx: &RequestContext, group: &DescribedGroup) -> bool {
        group
            .members
            .iter()
            .flat_map(|m| [&m.assignment, &m.target_assignment])
            .flat_map(|a| &a.topic_partitions)
            .all(|t| {
                let name = t.topic_name.0.as_str();
                if let Some(&allowed) = self.decided.get(name) {
                    return allowed;
                }
                let allowed = ctx.may_topic(Operation::Describe, name);
                self.decided.insert(name.to_string(), allowed);
                allowed
            })
    }
}

fn describe(
    ctx: &RequestContext,
    base: DescribedGroup,
    group: ConsumerGroupDescription,
) -> DescribedGroup {
    let name_of = |id: &uuid::Uuid| -> Option<String> {
        group
            .topic_names
            .get(id)
            .cloned()
            .or_else(|| ctx.broker.cluster.topic_by_id(*id).map(|t| t.name.clone()))
    };
    // A topic id that names no topic (deleted since it was assigned) is left
    // out, as Kafka's `topicPartitionsFromMap` leaves it out: an empty name
    // would also be checked, and refused, as a topic called "".
    let assignment = |a: &Assignment| {
        DescribedAssignment::default().with_topic_partitions(
            a.iter()
                .filter_map(|(id, partitions)| {
                    let name = name_of(id)?;
                    Some(
                        TopicPartitions::default()
                            .with_topic_id(*id)
                            .with_topic_name(topic_name(&name))
                            .with_partitions(partitions.iter().copied().collect()),
                    )
                })
                .collect(),
        )
    };
    let members = group
        .members
        .iter()
        .map(|(m, target)| {
            let member = Member::default()
                .with_member_id(text(m.member_id.clone()))
                .with_instance_id(m.meta.instance_id.clone().map(text))
                .with_rack_id(m.meta.rack_id.clone().map(text))
                .with_member_epoch(m.member_epoch)
                .with_client_id(text(m.meta.client_id.clone()))
                .with_client_host(text(m.meta.client_host.clone()))
                .with_subscribed_topic_names(
                    m.meta
                        .subscribed_topic_names
                        .iter()
                        .map(|n| topic_name(n))
                        .collect(),
                )
                .with_subscribed_topic_regex(m.meta.subscribed_topic_regex.clone().map(text))
                .with_assignment(assignment(&m.assigned))
                .with_target_assignment(assignment(target));
            if ctx.version >= 1 {
                member.with_member_type(CONSUMER_MEMBER_TYPE)
            } else {
                member
            }
        })
        .collect();
    base.with_group_state(text(group.state.name()))
        .with_group_epoch(group.group_epoch)
        .with_assignment_epoch(group.assignment_epoch)
        .with_assignor_name(text(group.assignor))
        .with_members(members)
}
