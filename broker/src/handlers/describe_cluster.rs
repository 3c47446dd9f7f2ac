//! DescribeCluster (key 60): this node, as a cluster of one.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use strata_governance::{Operation, Resource};

use super::{text, RequestContext};

/// `endpoint_type` 1: brokers; 2: controllers, which only a controller listener serves.
const ENDPOINT_BROKERS: i8 = 1;

pub(super) async fn handle(
    ctx: &RequestContext,
    request: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let broker = &ctx.broker;
    let cluster = &broker.cluster;
    let node = BrokerId(cluster.node_id);
    let mut response = DescribeClusterResponse::default()
        .with_endpoint_type(request.endpoint_type)
        .with_cluster_id(text(cluster.cluster_id.clone()))
        .with_controller_id(node);
    if !ctx.may(Operation::Describe, Resource::Cluster) {
        return response.with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    if request.endpoint_type != ENDPOINT_BROKERS {
        return response
            .with_error_code(ResponseError::UnsupportedEndpointType.code())
            .with_error_message(Some(text("The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER")));
    }
    let (host, port) = ctx.advertised();
    response = response.with_brokers(vec![DescribeClusterBroker::default()
        .with_broker_id(node)
        .with_host(text(host.to_string()))
        .with_port(i32::from(port))]);
    if request.include_cluster_authorized_operations {
        response = response
            .with_cluster_authorized_operations(ctx.authorized_operations(Resource::Cluster));
    }
    response
}
