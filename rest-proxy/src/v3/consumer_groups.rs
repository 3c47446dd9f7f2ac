//! v3 consumer groups, their consumers and the consumers' assignments:
//! `/consumer-groups[/{g}]`, `/consumers[/{m}]`,
//! `/consumers/{m}/assignments[/{t}/partitions/{p}]`, for classic and
//! KIP-848 groups alike ([`super::groups`]).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::brokers::parse_id;
use super::errors;
use super::groups::{self, Group, Member};
use super::links::{ok, Links};
use crate::backend::Caller;
use crate::error::RestError;
use crate::{RestProxy, Shared};

pub(crate) fn routes() -> Router<Shared> {
    let group = "/v3/clusters/{cluster_id}/consumer-groups/{group_id}";
    Router::new()
        .route("/v3/clusters/{cluster_id}/consumer-groups", get(list_groups))
        .route(group, get(get_group))
        .route(&format!("{group}/consumers"), get(list_consumers))
        .route(&format!("{group}/consumers/{{consumer_id}}"), get(get_consumer))
        .route(
            &format!("{group}/consumers/{{consumer_id}}/assignments"),
            get(list_assignments),
        )
        .route(
            &format!("{group}/consumers/{{consumer_id}}/assignments/{{topic_name}}/partitions/{{partition_id}}"),
            get(get_assignment),
        )
}

/// kafka-rest's consumer-group managers word the cluster check this way.
pub(super) fn check_cluster(proxy: &RestProxy, cluster_id: &str) -> Result<(), RestError> {
    if cluster_id == proxy.cluster_id {
        Ok(())
    } else {
        Err(errors::not_found_msg(format!(
            "Cluster {cluster_id} could not be found."
        )))
    }
}

async fn list_groups(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(c): Path<String>,
) -> Result<Response, RestError> {
    check_cluster(&proxy, &c)?;
    let ids = groups::list_ids(&proxy, &caller).await?;
    let described = groups::describe(&proxy, &caller, &ids).await?;
    let data = described
        .iter()
        .map(|g| group_data(&links, &c, g))
        .collect();
    Ok(ok(links.collection(
        "KafkaConsumerGroupList",
        &[&c, "consumer-groups"],
        data,
    )))
}

async fn get_group(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, g)): Path<(String, String)>,
) -> Result<Response, RestError> {
    check_cluster(&proxy, &c)?;
    let group = groups::describe(&proxy, &caller, &[g])
        .await?
        .into_iter()
        .next()
        .ok_or_else(errors::not_found)?;
    Ok(ok(group_data(&links, &c, &group)))
}

fn group_data(links: &Links, c: &str, g: &Group) -> Value {
    let id = g.id.as_str();
    links.resource(
        "KafkaConsumerGroup",
        &[c, "consumer-groups", id],
        &[("kafka", c), ("consumer-group", id)],
        json!({
            "cluster_id": c,
            "consumer_group_id": id,
            "is_simple": g.is_simple,
            "partition_assignor": g.assignor,
            "state": g.state,
            "type": g.kind,
            "is_mixed_consumer_group": g.is_mixed,
            "coordinator": links.related(&[c, "brokers", &g.coordinator.to_string()]),
            "consumers": links.related(&[c, "consumer-groups", id, "consumers"]),
            "lag_summary": links.related(&[c, "consumer-groups", id, "lag-summary"]),
        }),
    )
}

/// The group's members, or kafka-rest's 404 for a group that does not exist.
async fn members(
    proxy: &Shared,
    caller: &Caller,
    c: &str,
    g: &str,
) -> Result<Vec<Member>, RestError> {
    check_cluster(proxy, c)?;
    let group = groups::one(proxy, caller, g, "Consumer Group {} does not exist.").await?;
    let mut members = group.members;
    members.sort_by(|a, b| a.consumer_id.cmp(&b.consumer_id));
    Ok(members)
}

async fn list_consumers(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, g)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let members = members(&proxy, &caller, &c, &g).await?;
    let data = members
        .iter()
        .map(|m| consumer_data(&links, &c, &g, m))
        .collect();
    Ok(ok(links.collection(
        "KafkaConsumerList",
        &[&c, "consumer-groups", &g, "consumers"],
        data,
    )))
}

async fn get_consumer(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, g, m)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let members = members(&proxy, &caller, &c, &g).await?;
    let member = members
        .iter()
        .find(|x| x.consumer_id == m)
        .ok_or_else(errors::not_found)?;
    Ok(ok(consumer_data(&links, &c, &g, member)))
}

fn consumer_data(links: &Links, c: &str, g: &str, m: &Member) -> Value {
    let id = m.consumer_id.as_str();
    links.resource(
        "KafkaConsumer",
        &[c, "consumer-groups", g, "consumers", id],
        &[("kafka", c), ("consumer-group", g), ("consumer", id)],
        json!({
            "cluster_id": c,
            "consumer_group_id": g,
            "consumer_id": id,
            "instance_id": m.instance_id,
            "client_id": m.client_id,
            "assignments": links.related(&[c, "consumer-groups", g, "consumers", id, "assignments"]),
        }),
    )
}

/// The member `m`'s assignments, or kafka-rest's 404 for an unknown member.
async fn assignments(
    proxy: &Shared,
    caller: &Caller,
    c: &str,
    g: &str,
    m: &str,
) -> Result<Vec<(String, i32)>, RestError> {
    let members = members(proxy, caller, c, g).await?;
    members
        .into_iter()
        .find(|x| x.consumer_id == m)
        .map(|x| x.assignments)
        .ok_or_else(|| errors::not_found_msg(format!("Consumer {m} does not exist.")))
}

async fn list_assignments(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, g, m)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let assigned = assignments(&proxy, &caller, &c, &g, &m).await?;
    let data = assigned
        .iter()
        .map(|(t, p)| assignment_data(&links, &c, &g, &m, t, *p))
        .collect();
    Ok(ok(links.collection(
        "KafkaConsumerAssignmentList",
        &[&c, "consumer-groups", &g, "consumers", &m, "assignments"],
        data,
    )))
}

async fn get_assignment(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, g, m, t, p)): Path<(String, String, String, String, String)>,
) -> Result<Response, RestError> {
    let p = parse_id(&p)?;
    let assigned = assignments(&proxy, &caller, &c, &g, &m).await?;
    if !assigned.iter().any(|(at, ap)| *at == t && *ap == p) {
        return Err(errors::not_found());
    }
    Ok(ok(assignment_data(&links, &c, &g, &m, &t, p)))
}

fn assignment_data(links: &Links, c: &str, g: &str, m: &str, t: &str, p: i32) -> Value {
    let ps = p.to_string();
    links.resource(
        "KafkaConsumerAssignment",
        &[
            c,
            "consumer-groups",
            g,
            "consumers",
            m,
            "assignments",
            t,
            "partitions",
            &ps,
        ],
        &[
            ("kafka", c),
            ("consumer-group", g),
            ("consumer", m),
            ("assignment", t),
            ("partition", &ps),
        ],
        json!({
            "cluster_id": c,
            "consumer_group_id": g,
            "consumer_id": m,
            "topic_name": t,
            "partition_id": p,
            "partition": links.related(&[c, "topics", t, "partitions", &ps]),
            "lag": links.related(&[c, "consumer-groups", g, "lags", t, "partitions", &ps]),
        }),
    )
}
