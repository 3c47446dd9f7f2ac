//! `GET /v3/clusters` and `GET /v3/clusters/{cluster_id}`: the one cluster
//! this proxy fronts, described by DescribeCluster (its id, controller and
//! the links to everything under it). Every other v3 resource checks its
//! `{cluster_id}` here first, as kafka-rest's managers do.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use kafka_protocol::messages::{DescribeClusterRequest, DescribeClusterResponse};
use serde_json::{json, Value};

use super::errors::{self, cluster_not_found};
use super::links::{ok, Links};
use crate::backend::Caller;
use crate::error::RestError;
use crate::{RestProxy, Shared};

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v3/clusters", get(list_clusters))
        .route("/v3/clusters/{cluster_id}", get(get_cluster))
}

/// The cluster as DescribeCluster reports it (id, controller, brokers).
pub(super) async fn describe(
    proxy: &RestProxy,
    caller: &Caller,
) -> Result<DescribeClusterResponse, RestError> {
    let response = proxy
        .send(caller, DescribeClusterRequest::default())
        .await?;
    errors::check(
        response.error_code,
        response.error_message.as_ref().map(|m| m.as_str()),
    )?;
    Ok(response)
}

/// `Ok` when `cluster_id` names this cluster, else kafka-rest's 404
/// (`Cluster {id} cannot be found.`). The id is the broker's, which the
/// proxy knows without asking.
pub(super) fn check(proxy: &RestProxy, cluster_id: &str) -> Result<(), RestError> {
    if cluster_id == proxy.cluster_id {
        Ok(())
    } else {
        Err(cluster_not_found(cluster_id))
    }
}

async fn list_clusters(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
) -> Result<Response, RestError> {
    let cluster = describe(&proxy, &caller).await?;
    let data = vec![cluster_data(&links, &cluster)];
    Ok(ok(links.collection("KafkaClusterList", &[], data)))
}

async fn get_cluster(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(cluster_id): Path<String>,
) -> Result<Response, RestError> {
    let cluster = describe(&proxy, &caller).await?;
    if cluster.cluster_id.as_str() != cluster_id {
        return Err(errors::not_found());
    }
    Ok(ok(cluster_data(&links, &cluster)))
}

fn cluster_data(links: &Links, cluster: &DescribeClusterResponse) -> Value {
    let c = cluster.cluster_id.as_str();
    let controller_id = cluster.controller_id.0;
    let controller =
        (controller_id >= 0).then(|| links.related(&[c, "brokers", &controller_id.to_string()]));
    links.resource(
        "KafkaCluster",
        &[c],
        &[("kafka", c)],
        json!({
            "cluster_id": c,
            "controller": controller,
            "acls": links.related(&[c, "acls"]),
            "brokers": links.related(&[c, "brokers"]),
            "broker_configs": links.related(&[c, "broker-configs"]),
            "consumer_groups": links.related(&[c, "consumer-groups"]),
            "topics": links.related(&[c, "topics"]),
            "partition_reassignments":
                links.related(&[c, "topics", "-", "partitions", "-", "reassignment"]),
        }),
    )
}
