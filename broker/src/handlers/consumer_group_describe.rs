//! ConsumerGroupDescribe (key 69): KIP-848 groups with their epochs,
//! assignor, members, and each member's current and target assignment.

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

pub(super) async fn handle(
    ctx: &RequestContext,
    request: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
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

fn describe(
    ctx: &RequestContext,
    base: DescribedGroup,
    group: ConsumerGroupDescription,
) -> DescribedGroup {
    let name_of = |id: &uuid::Uuid| -> String {
        group
            .topic_names
            .get(id)
            .cloned()
            .or_else(|| ctx.broker.cluster.topic_by_id(*id).map(|t| t.name.clone()))
            .unwrap_or_default()
    };
    let assignment = |a: &Assignment| {
        DescribedAssignment::default().with_topic_partitions(
            a.iter()
                .map(|(id, partitions)| {
                    TopicPartitions::default()
                        .with_topic_id(*id)
                        .with_topic_name(topic_name(&name_of(id)))
                        .with_partitions(partitions.iter().copied().collect())
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
