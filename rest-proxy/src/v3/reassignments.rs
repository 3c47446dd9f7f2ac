//! v3 partition reassignments, read-only as in kafka-rest:
//! `topics/-/partitions/-/reassignment` (every ongoing one),
//! `topics/{t}/partitions/-/reassignment` (a topic's; an unknown topic has
//! none, 200 with an empty list) and `topics/{t}/partitions/{p}/reassignment`
//! (404 unless that partition is being reassigned). Each lists every ongoing
//! reassignment with ListPartitionReassignments (topics null) and filters,
//! as kafka-rest's `ReassignmentManagerImpl` does. A single Strata node never
//! has one under way, so the lists are empty and a get is 404.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use kafka_protocol::messages::{BrokerId, ListPartitionReassignmentsRequest};
use serde_json::{json, Value};

use super::brokers::parse_id;
use super::clusters;
use super::errors;
use super::links::{ok, Links};
use crate::backend::Caller;
use crate::error::RestError;
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v3/clusters/{cluster_id}/topics/-/partitions/-/reassignment",
            get(list_all),
        )
        .route(
            "/v3/clusters/{cluster_id}/topics/{topic_name}/partitions/-/reassignment",
            get(search_by_topic),
        )
        .route(
            "/v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}/reassignment",
            get(get_one),
        )
}

/// One partition's ongoing reassignment.
struct Reassignment {
    topic: String,
    partition: i32,
    adding: Vec<i32>,
    removing: Vec<i32>,
}

/// Every ongoing reassignment, sorted by topic and partition.
async fn list(proxy: &Shared, caller: &Caller, c: &str) -> Result<Vec<Reassignment>, RestError> {
    clusters::check(proxy, c)?;
    let response = proxy
        .send(
            caller,
            ListPartitionReassignmentsRequest::default().with_topics(None),
        )
        .await?;
    errors::check(
        response.error_code,
        response.error_message.as_ref().map(|m| m.as_str()),
    )?;
    let ids = |ids: &[BrokerId]| -> Vec<i32> { ids.iter().map(|b| b.0).collect() };
    let mut all: Vec<Reassignment> = response
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| Reassignment {
                topic: t.name.to_string(),
                partition: p.partition_index,
                adding: ids(&p.adding_replicas),
                removing: ids(&p.removing_replicas),
            })
        })
        .collect();
    all.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(all)
}

/// kafka-rest's `ReassignmentData`; `leaf` is the last segment of its
/// `self` (kafka-rest writes `reassignments` in lists, `reassignment` for
/// one).
fn reassignment_data(links: &Links, c: &str, r: &Reassignment, leaf: &str) -> Value {
    let p = r.partition.to_string();
    let t = r.topic.as_str();
    links.resource(
        "KafkaReassignment",
        &[c, "topics", t, "partitions", &p, leaf],
        &[("kafka", c), ("topic", t), ("partition", &p), (leaf, "")],
        json!({
            "cluster_id": c,
            "topic_name": t,
            "partition_id": r.partition,
            "adding_replicas": r.adding,
            "removing_replicas": r.removing,
            "replicas": links.related(&[c, "topics", t, "partitions", &p, "replicas"]),
        }),
    )
}

async fn list_all(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(c): Path<String>,
) -> Result<Response, RestError> {
    let all = list(&proxy, &caller, &c).await?;
    let data = all
        .iter()
        .map(|r| reassignment_data(&links, &c, r, "reassignments"))
        .collect();
    Ok(ok(links.collection(
        "KafkaReassignmentList",
        &[&c, "topics", "-", "partitions", "-", "reassignments"],
        data,
    )))
}

async fn search_by_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, topic)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let all = list(&proxy, &caller, &c).await?;
    let data = all
        .iter()
        .filter(|r| r.topic == topic)
        .map(|r| reassignment_data(&links, &c, r, "reassignments"))
        .collect();
    Ok(ok(links.collection(
        "KafkaReassignmentList",
        &[&c, "topics", &topic, "partitions", "-", "reassignments"],
        data,
    )))
}

async fn get_one(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, topic, partition)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let partition = parse_id(&partition)?;
    let all = list(&proxy, &caller, &c).await?;
    let found = all
        .iter()
        .find(|r| r.topic == topic && r.partition == partition)
        .ok_or_else(errors::not_found)?;
    Ok(ok(reassignment_data(&links, &c, found, "reassignment")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::http::StatusCode;
    use kafka_protocol::messages::list_partition_reassignments_response::{
        OngoingPartitionReassignment, OngoingTopicReassignment,
    };
    use kafka_protocol::messages::{
        BrokerId, ListPartitionReassignmentsResponse, RequestKind, ResponseKind, TopicName,
    };
    use serde_json::json;

    use crate::backend::{BackendError, BoxFuture, Caller, KafkaBackend};
    use crate::v3::test_support::{call, proxy};

    /// A cluster moving partitions 1 and 0 of `b` and partition 3 of `a`
    /// (listed out of order), or refusing with `error`.
    #[derive(Default)]
    struct Moving {
        error: i16,
    }

    fn ongoing(partition: i32) -> OngoingPartitionReassignment {
        OngoingPartitionReassignment::default()
            .with_partition_index(partition)
            .with_replicas(vec![BrokerId(1), BrokerId(2), BrokerId(3)])
            .with_adding_replicas(vec![BrokerId(3)])
            .with_removing_replicas(vec![BrokerId(1)])
    }

    impl KafkaBackend for Moving {
        fn call<'a>(
            &'a self,
            _caller: &'a Caller,
            _version: i16,
            request: RequestKind,
        ) -> BoxFuture<'a, Result<ResponseKind, BackendError>> {
            Box::pin(async move {
                let RequestKind::ListPartitionReassignments(r) = request else {
                    return Err(BackendError {
                        api: "test",
                        reason: "not faked".into(),
                    });
                };
                // kafka-rest asks for every reassignment and filters itself.
                assert!(r.topics.is_none());
                let topic = |name: &str, partitions| {
                    OngoingTopicReassignment::default()
                        .with_name(TopicName(name.to_string().into()))
                        .with_partitions(partitions)
                };
                let response = if self.error != 0 {
                    ListPartitionReassignmentsResponse::default().with_error_code(self.error)
                } else {
                    ListPartitionReassignmentsResponse::default().with_topics(vec![
                        topic("b", vec![ongoing(1), ongoing(0)]),
                        topic("a", vec![ongoing(3)]),
                    ])
                };
                Ok(ResponseKind::ListPartitionReassignments(response))
            })
        }
    }

    #[tokio::test]
    async fn lists_searches_and_gets_as_kafka_rest() {
        let app = proxy(Arc::new(Moving::default()));
        let base = "http://proxy:8082/v3/clusters/c";
        let (status, body, _) = call(
            &app,
            "GET",
            "/v3/clusters/c/topics/-/partitions/-/reassignment",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["kind"], "KafkaReassignmentList");
        assert_eq!(
            body["metadata"]["self"],
            format!("{base}/topics/-/partitions/-/reassignments")
        );
        let listed: Vec<_> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["topic_name"].clone(), d["partition_id"].clone()))
            .collect();
        assert_eq!(
            listed,
            vec![
                (json!("a"), json!(3)),
                (json!("b"), json!(0)),
                (json!("b"), json!(1))
            ]
        );
        let first = &body["data"][0];
        assert_eq!(first["kind"], "KafkaReassignment");
        assert_eq!(
            first["metadata"]["self"],
            format!("{base}/topics/a/partitions/3/reassignments")
        );
        assert_eq!(
            first["metadata"]["resource_name"],
            "crn:///kafka=c/topic=a/partition=3/reassignments"
        );
        assert_eq!(first["adding_replicas"], json!([3]));
        assert_eq!(first["removing_replicas"], json!([1]));
        assert_eq!(
            first["replicas"]["related"],
            format!("{base}/topics/a/partitions/3/replicas")
        );

        let (status, body, _) = call(
            &app,
            "GET",
            "/v3/clusters/c/topics/b/partitions/-/reassignment",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["data"].as_array().unwrap().len(), 2);
        // an unknown topic has no reassignments: 200, empty
        let (status, body, _) = call(
            &app,
            "GET",
            "/v3/clusters/c/topics/nope/partitions/-/reassignment",
            None,
        )
        .await;
        assert_eq!((status, body["data"].clone()), (StatusCode::OK, json!([])));

        let (status, body, _) = call(
            &app,
            "GET",
            "/v3/clusters/c/topics/b/partitions/1/reassignment",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body["metadata"]["self"],
            format!("{base}/topics/b/partitions/1/reassignment")
        );
        for missing in ["b/partitions/2", "nope/partitions/0", "b/partitions/x"] {
            let uri = format!("/v3/clusters/c/topics/{missing}/reassignment");
            let (status, body, _) = call(&app, "GET", &uri, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
            assert_eq!(body["message"], "HTTP 404 Not Found");
        }
        let (status, _, _) = call(
            &app,
            "GET",
            "/v3/clusters/other/topics/-/partitions/-/reassignment",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn a_refusal_is_the_kafka_error() {
        // CLUSTER_AUTHORIZATION_FAILED
        let app = proxy(Arc::new(Moving { error: 31 }));
        let (status, body, _) = call(
            &app,
            "GET",
            "/v3/clusters/c/topics/-/partitions/-/reassignment",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error_code"], 40301);
    }
}
