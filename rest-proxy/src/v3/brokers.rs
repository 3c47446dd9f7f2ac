//! `GET /v3/clusters/{c}/brokers` and `/brokers/{broker_id}`: the brokers
//! DescribeCluster lists, with links to their configs and replicas.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use serde_json::{json, Value};

use super::clusters;
use super::errors;
use super::links::{ok, Links};
use crate::backend::Caller;
use crate::error::RestError;
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v3/clusters/{cluster_id}/brokers", get(list_brokers))
        .route(
            "/v3/clusters/{cluster_id}/brokers/{broker_id}",
            get(get_broker),
        )
}

/// A path's broker id; Jersey answers a plain 404 for one that is not an
/// integer.
pub(super) fn parse_id(text: &str) -> Result<i32, RestError> {
    text.parse().map_err(|_| errors::not_found())
}

async fn list_brokers(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(cluster_id): Path<String>,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &cluster_id)?;
    let cluster = clusters::describe(&proxy, &caller).await?;
    let mut brokers: Vec<&DescribeClusterBroker> = cluster.brokers.iter().collect();
    brokers.sort_by_key(|b| b.broker_id.0);
    let data = brokers
        .into_iter()
        .map(|b| broker_data(&links, &cluster_id, b))
        .collect();
    Ok(ok(links.collection(
        "KafkaBrokerList",
        &[&cluster_id, "brokers"],
        data,
    )))
}

async fn get_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((cluster_id, broker_id)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let broker_id = parse_id(&broker_id)?;
    clusters::check(&proxy, &cluster_id)?;
    let cluster = clusters::describe(&proxy, &caller).await?;
    let broker = cluster
        .brokers
        .iter()
        .find(|b| b.broker_id.0 == broker_id)
        .ok_or_else(errors::not_found)?;
    Ok(ok(broker_data(&links, &cluster_id, broker)))
}

fn broker_data(links: &Links, c: &str, broker: &DescribeClusterBroker) -> Value {
    let id = broker.broker_id.0.to_string();
    links.resource(
        "KafkaBroker",
        &[c, "brokers", &id],
        &[("kafka", c), ("broker", &id)],
        json!({
            "cluster_id": c,
            "broker_id": broker.broker_id.0,
            "host": broker.host.as_str(),
            "port": broker.port,
            "rack": broker.rack.as_ref().map(|r| r.as_str()),
            "configs": links.related(&[c, "brokers", &id, "configs"]),
            "partition_replicas": links.related(&[c, "brokers", &id, "partition-replicas"]),
        }),
    )
}
