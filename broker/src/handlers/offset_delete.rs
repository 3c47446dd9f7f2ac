//! OffsetDelete (key 47): removes committed offsets of topics the group no
//! longer reads.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use strata_governance::{Operation, Resource};

use super::RequestContext;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let group_id = request.group_id.0.as_str();
    if group_id.is_empty() {
        return OffsetDeleteResponse::default()
            .with_error_code(ResponseError::InvalidGroupId.code());
    }
    if !ctx.may(Operation::Delete, Resource::Group(group_id)) {
        return OffsetDeleteResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    // Kafka: READ on each topic; the others answer TOPIC_AUTHORIZATION_FAILED.
    let readable: Vec<bool> = request
        .topics
        .iter()
        .map(|t| ctx.may_topic(Operation::Read, &t.name))
        .collect();
    let partitions: Vec<(String, i32)> = request
        .topics
        .iter()
        .zip(&readable)
        .filter(|(_, readable)| **readable)
        .flat_map(|(t, _)| {
            t.partitions
                .iter()
                .map(move |p| (t.name.to_string(), p.partition_index))
        })
        .collect();
    let results = match ctx.broker.groups.delete_offsets(group_id, &partitions) {
        Ok(results) => results,
        Err(code) => return OffsetDeleteResponse::default().with_error_code(code.code()),
    };
    let mut results = results.into_iter();
    let topics = request
        .topics
        .iter()
        .zip(readable)
        .map(|(t, readable)| {
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            let code = if readable {
                                results.next().and_then(|r| r.err()).map_or(0, |e| e.code())
                            } else {
                                ResponseError::TopicAuthorizationFailed.code()
                            };
                            OffsetDeleteResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}
