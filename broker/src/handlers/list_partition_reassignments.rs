//! ListPartitionReassignments (key 46): the ongoing replica reassignments,
//! which the Admin client's `listPartitionReassignments` and the REST
//! Proxy's v3 reassignment resources read.
//!
//! A single node never has one under way: every partition has one replica
//! on this node, and Strata serves no AlterPartitionReassignments to start
//! one. So, as Kafka's controller answers when nothing is moving, the answer
//! lists nothing, whether every reassignment was asked for (`topics` null)
//! or named topics and partitions (an unknown topic or partition is left
//! out, as Kafka leaves it out). Kafka authorizes Describe on the cluster
//! first and answers a refusal as the request's top-level error.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};
use strata_governance::{Operation, Resource};

use super::{text, RequestContext};

pub(super) async fn handle(
    ctx: &RequestContext,
    _request: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    if !ctx.may(Operation::Describe, Resource::Cluster) {
        return ListPartitionReassignmentsResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
            .with_error_message(Some(text("Cluster authorization failed.")));
    }
    // Nothing is being reassigned: no topic, named or not, has an entry.
    // Kafka's answer carries a null message.
    ListPartitionReassignmentsResponse::default().with_error_message(None)
}
