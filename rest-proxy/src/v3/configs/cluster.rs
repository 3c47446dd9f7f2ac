//! The cluster-wide broker defaults, `/broker-configs` (kafka-rest's
//! `ClusterConfigsResource` and `AlterClusterConfigBatchAction` with
//! `config_type` BROKER): the configs DescribeConfigs lists for BROKER `""`,
//! which are only those set dynamically (none on Strata, so the list is
//! empty and a get is 404).
//!
//! As kafka-rest: a `PUT` and `broker-configs:alter` send the change without
//! checking the names (any name may be a new default), a `DELETE` checks
//! that the name is set first (404 `Config {name} cannot be found for BROKER
//! in cluster {c}.`, with the empty resource name between). Strata's broker
//! refuses the write itself: 400/40002 with its message.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::{
    alter, apply, batch_commands, delete_command, get_one, list, set_command, AlterBatch, Scope,
    Update,
};
use crate::backend::Caller;
use crate::error::RestError;
use crate::v3::body::Body;
use crate::v3::clusters;
use crate::v3::links::Links;
use crate::Shared;

pub(super) fn routes() -> Router<Shared> {
    let base = "/v3/clusters/{cluster_id}/broker-configs";
    Router::new()
        .route(base, get(list_defaults))
        .route(
            &format!("{base}/{{name}}"),
            get(get_default).put(put_default).delete(delete_default),
        )
        .route(&format!("{base}:alter"), post(alter_defaults))
}

async fn list_defaults(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(c): Path<String>,
) -> Result<Response, RestError> {
    list(proxy, caller, links, c, Scope::Cluster).await
}

async fn get_default(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, name)): Path<(String, String)>,
) -> Result<Response, RestError> {
    get_one(proxy, caller, links, c, Scope::Cluster, name).await
}

/// kafka-rest's `upsertClusterConfig`: no existence check.
async fn put_default(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, name)): Path<(String, String)>,
    Body(body): Body<Update>,
) -> Result<Response, RestError> {
    let commands = set_command(name, body)?;
    clusters::check(&proxy, &c)?;
    apply(&proxy, &caller, &Scope::Cluster, &commands, false).await
}

/// kafka-rest's `deleteClusterConfig`: the name must be set.
async fn delete_default(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, name)): Path<(String, String)>,
) -> Result<Response, RestError> {
    alter(
        &proxy,
        &caller,
        &c,
        &Scope::Cluster,
        delete_command(name),
        false,
    )
    .await
}

/// kafka-rest's `alterClusterConfigs`: no existence check. kafka-rest
/// leaves `validate_only` out of this one call; it is honoured here, so a
/// dry run never changes anything.
async fn alter_defaults(
    State(proxy): State<Shared>,
    caller: Caller,
    Path(c): Path<String>,
    Body(body): Body<AlterBatch>,
) -> Result<Response, RestError> {
    let (commands, validate_only) = batch_commands(body)?;
    clusters::check(&proxy, &c)?;
    apply(&proxy, &caller, &Scope::Cluster, &commands, validate_only).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::http::StatusCode;
    use kafka_protocol::messages::describe_configs_response::{
        DescribeConfigsResourceResult, DescribeConfigsResult,
    };
    use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
    use kafka_protocol::messages::{
        DescribeConfigsResponse, IncrementalAlterConfigsResponse, RequestKind, ResponseKind,
    };
    use parking_lot::Mutex;
    use serde_json::json;

    use crate::backend::{BackendError, BoxFuture, Caller, KafkaBackend};
    use crate::v3::test_support::{call, proxy};

    const REFUSAL: &str = "no dynamic broker configs";

    /// A broker whose cluster-wide defaults hold `log.retention.ms` and
    /// that refuses every write to them, recording each write's
    /// (resource name, config names, validate_only).
    #[derive(Default)]
    struct Defaults {
        writes: Mutex<Vec<(String, Vec<String>, bool)>>,
    }

    impl KafkaBackend for Defaults {
        fn call<'a>(
            &'a self,
            _caller: &'a Caller,
            _version: i16,
            request: RequestKind,
        ) -> BoxFuture<'a, Result<ResponseKind, BackendError>> {
            Box::pin(async move {
                Ok(match request {
                    RequestKind::DescribeConfigs(r) => {
                        let resource = &r.resources[0];
                        assert_eq!(
                            (resource.resource_type, resource.resource_name.as_str()),
                            (4, "")
                        );
                        let entry = DescribeConfigsResourceResult::default()
                            .with_name("log.retention.ms".to_string().into())
                            .with_value(Some("1000".to_string().into()))
                            .with_config_source(3);
                        ResponseKind::DescribeConfigs(
                            DescribeConfigsResponse::default().with_results(vec![
                                DescribeConfigsResult::default()
                                    .with_resource_type(4)
                                    .with_configs(vec![entry]),
                            ]),
                        )
                    }
                    RequestKind::IncrementalAlterConfigs(r) => {
                        let resource = &r.resources[0];
                        self.writes.lock().push((
                            resource.resource_name.to_string(),
                            resource
                                .configs
                                .iter()
                                .map(|c| c.name.to_string())
                                .collect(),
                            r.validate_only,
                        ));
                        ResponseKind::IncrementalAlterConfigs(
                            IncrementalAlterConfigsResponse::default().with_responses(vec![
                                AlterConfigsResourceResponse::default()
                                    .with_error_code(42)
                                    .with_error_message(Some(REFUSAL.to_string().into())),
                            ]),
                        )
                    }
                    _ => {
                        return Err(BackendError {
                            api: "test",
                            reason: "not faked".into(),
                        })
                    }
                })
            })
        }
    }

    #[tokio::test]
    async fn reads_the_defaults_as_kafka_cluster_configs() {
        let app = proxy(Arc::new(Defaults::default()));
        let base = "http://proxy:8082/v3/clusters/c";
        let (status, body, _) = call(&app, "GET", "/v3/clusters/c/broker-configs", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["kind"], "KafkaClusterConfigList");
        assert_eq!(body["metadata"]["self"], format!("{base}/broker-configs"));
        let config = &body["data"][0];
        assert_eq!(config["kind"], "KafkaClusterConfig");
        assert_eq!(
            config["metadata"]["self"],
            format!("{base}/broker-configs/log.retention.ms")
        );
        assert_eq!(
            config["metadata"]["resource_name"],
            "crn:///kafka=c/broker-config=log.retention.ms"
        );
        assert_eq!(config["config_type"], "BROKER");
        assert_eq!(config["value"], "1000");
        assert_eq!(config["source"], "DYNAMIC_DEFAULT_BROKER_CONFIG");

        let uri = "/v3/clusters/c/broker-configs/log.retention.ms";
        let (status, body, _) = call(&app, "GET", uri, None).await;
        assert_eq!(
            (status, body["name"].clone()),
            (StatusCode::OK, json!("log.retention.ms"))
        );
        let (status, body, _) = call(&app, "GET", "/v3/clusters/c/broker-configs/x", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["message"], "HTTP 404 Not Found");
        let (status, _, _) = call(&app, "GET", "/v3/clusters/other/broker-configs", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn writes_go_to_the_broker_which_refuses_them() {
        let fake = Arc::new(Defaults::default());
        let app = proxy(fake.clone());
        // PUT: any name (a new default), no existence check.
        let (status, body, _) = call(
            &app,
            "PUT",
            "/v3/clusters/c/broker-configs/num.io.threads",
            Some(json!({"value": "8"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            (body["error_code"].clone(), body["message"].clone()),
            (json!(40002), json!(REFUSAL))
        );
        // DELETE: only a name that is set; else 404 before any write.
        let (status, body, _) = call(
            &app,
            "DELETE",
            "/v3/clusters/c/broker-configs/num.io.threads",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body["message"],
            "Config num.io.threads cannot be found for BROKER  in cluster c."
        );
        let (status, _, _) = call(
            &app,
            "DELETE",
            "/v3/clusters/c/broker-configs/log.retention.ms",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // alter: no existence check, validate_only passed on.
        let batch = json!({"data": [{"name": "a.b", "value": "1", "operation": "SET"},
                                    {"name": "log.retention.ms", "operation": "DELETE"}],
                           "validate_only": true});
        let (status, _, _) = call(
            &app,
            "POST",
            "/v3/clusters/c/broker-configs:alter",
            Some(batch),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            *fake.writes.lock(),
            vec![
                (String::new(), names(&["num.io.threads"]), false),
                (String::new(), names(&["log.retention.ms"]), false),
                (String::new(), names(&["a.b", "log.retention.ms"]), true),
            ]
        );
    }
}
