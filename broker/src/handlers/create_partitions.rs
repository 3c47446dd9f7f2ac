//! CreatePartitions (key 37): grow a topic's partition count.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{ApiKey, CreatePartitionsRequest, CreatePartitionsResponse};

use strata_governance::{Operation, Resource};

use super::{text, RequestContext};
use crate::quotas::mutation::{MutationQuota, EXCEEDED_MESSAGE};

pub(super) async fn handle(
    ctx: &RequestContext,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let cluster = &ctx.broker.cluster;
    let node = cluster.node_id;
    let mut results = Vec::with_capacity(request.topics.len());
    let mut quota = MutationQuota::for_request(ctx, ApiKey::CreatePartitions);
    for t in request.topics {
        let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
        let outcome = match cluster.topic(&t.name) {
            _ if !ctx.may_topic(Operation::Alter, &t.name) => Err((
                ResponseError::TopicAuthorizationFailed,
                "Authorization failed.".to_string(),
            )),
            None => Err((
                ResponseError::UnknownTopicOrPartition,
                format!("The topic '{}' does not exist.", t.name.as_str()),
            )),
            Some(topic) => {
                let added = t.count - topic.partition_count();
                match &t.assignments {
                    Some(a) if added > 0 && a.len() as i32 != added => Err((
                        ResponseError::InvalidReplicaAssignment,
                        format!("Increasing the number of partitions by {added} but {} assignments provided.", a.len()),
                    )),
                    Some(a) if a.iter().any(|x| x.broker_ids.len() != 1 || x.broker_ids[0].0 != node) => Err((
                        ResponseError::InvalidReplicaAssignment,
                        format!("Replica assignments may only name broker {node}, the only broker"),
                    )),
                    _ if added > 0 && !request.validate_only && quota.record(added).is_err() => Err((
                        ResponseError::ThrottlingQuotaExceeded,
                        EXCEEDED_MESSAGE.to_string(),
                    )),
                    _ => cluster
                        .create_partitions(&topic, t.count, request.validate_only)
                        .await
                        .map_err(|e| (e.code, e.message)),
                }
            }
        };
        if outcome.is_ok() && !request.validate_only {
            ctx.record(
                ctx.changed(Operation::Alter, Resource::Topic(&t.name))
                    .with_request("partitions", t.count),
            );
        }
        results.push(match outcome {
            Ok(()) => result,
            Err((code, message)) => result
                .with_error_code(code.code())
                .with_error_message(Some(text(message))),
        });
    }
    CreatePartitionsResponse::default()
        .with_results(results)
        .with_throttle_time_ms(quota.throttle_time_ms())
}
