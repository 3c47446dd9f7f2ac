//! The v3 ACL routes against a fake backend that keeps bindings as a broker
//! with an authorizer would (or answers SECURITY_DISABLED without one), and
//! records the principal each request ran under.

use std::sync::Arc;

use axum::http::StatusCode;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{
    CreateAclsResponse, DeleteAclsResponse, DescribeAclsResponse, RequestKind, ResponseKind,
};
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::*;
use crate::backend::{BackendError, BoxFuture, KafkaBackend};
use crate::v3::test_support::{call, proxy};

/// (resource_type, name, pattern, principal, host, op, permission) as wire codes.
type AclRow = (i8, String, i8, String, String, i8, i8);

/// The ACLs a fake broker holds; `disabled` answers SECURITY_DISABLED.
#[derive(Default)]
struct Fake {
    acls: Mutex<Vec<AclRow>>,
    callers: Mutex<Vec<String>>,
    disabled: bool,
}

impl KafkaBackend for Fake {
    fn call<'a>(
        &'a self,
        caller: &'a Caller,
        _version: i16,
        request: RequestKind,
    ) -> BoxFuture<'a, Result<ResponseKind, BackendError>> {
        self.callers.lock().push(caller.principal.to_string());
        let disabled = if self.disabled { 54 } else { 0 };
        Box::pin(async move {
            Ok(match request {
                RequestKind::CreateAcls(r) => {
                    let mut acls = self.acls.lock();
                    let results = r
                        .creations
                        .iter()
                        .map(|c| {
                            if !self.disabled {
                                acls.push((
                                    c.resource_type,
                                    c.resource_name.to_string(),
                                    c.resource_pattern_type,
                                    c.principal.to_string(),
                                    c.host.to_string(),
                                    c.operation,
                                    c.permission_type,
                                ));
                            }
                            AclCreationResult::default().with_error_code(disabled)
                        })
                        .collect();
                    ResponseKind::CreateAcls(CreateAclsResponse::default().with_results(results))
                }
                RequestKind::DescribeAcls(_) => {
                    let resources = self
                        .acls
                        .lock()
                        .iter()
                        .map(|(t, n, p, who, host, op, perm)| {
                            DescribeAclsResource::default()
                                .with_resource_type(*t)
                                .with_resource_name(n.clone().into())
                                .with_pattern_type(*p)
                                .with_acls(vec![AclDescription::default()
                                    .with_principal(who.clone().into())
                                    .with_host(host.clone().into())
                                    .with_operation(*op)
                                    .with_permission_type(*perm)])
                        })
                        .collect();
                    ResponseKind::DescribeAcls(
                        DescribeAclsResponse::default()
                            .with_error_code(disabled)
                            .with_resources(resources),
                    )
                }
                RequestKind::DeleteAcls(r) => {
                    // Matches on the resource name only: enough for the routes.
                    let name = r.filters[0].resource_name_filter.clone();
                    let mut acls = self.acls.lock();
                    let (gone, kept): (Vec<_>, Vec<_>) = acls
                        .drain(..)
                        .partition(|a| name.as_ref().is_none_or(|n| n.as_str() == a.1));
                    *acls = kept;
                    let matching = gone
                        .into_iter()
                        .map(|(t, n, p, who, host, op, perm)| {
                            DeleteAclsMatchingAcl::default()
                                .with_resource_type(t)
                                .with_resource_name(n.into())
                                .with_pattern_type(p)
                                .with_principal(who.into())
                                .with_host(host.into())
                                .with_operation(op)
                                .with_permission_type(perm)
                        })
                        .collect();
                    ResponseKind::DeleteAcls(DeleteAclsResponse::default().with_filter_results(
                        vec![DeleteAclsFilterResult::default()
                            .with_error_code(disabled)
                            .with_matching_acls(matching)],
                    ))
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

fn acl(resource_type: &str, name: &str) -> Value {
    json!({
        "resource_type": resource_type,
        "resource_name": name,
        "pattern_type": "LITERAL",
        "principal": "User:alice",
        "host": "*",
        "operation": "READ",
        "permission": "ALLOW",
    })
}

#[tokio::test]
async fn create_search_and_delete() {
    let fake = Arc::new(Fake::default());
    let app = proxy(fake.clone());
    let (status, _, location) =
        call(&app, "POST", "/v3/clusters/c/acls", Some(acl("TOPIC", "t"))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        location.as_deref(),
        Some("http://proxy:8082/v3/clusters/c/acls?resource_type=TOPIC&resource_name=t&pattern_type=LITERAL&principal=User:alice&host=*&operation=READ&permission=ALLOW")
    );
    let batch = json!({"data": [acl("SUBJECT", "s-value"), acl("GROUP", "g")]});
    let (status, _, _) = call(&app, "POST", "/v3/clusters/c/acls:batch", Some(batch)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(fake.acls.lock()[1].0, strata_governance::acl::SUBJECT_CODE);

    let (status, body, _) = call(
        &app,
        "GET",
        "/v3/clusters/c/acls?principal=User:alice",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "KafkaAclList");
    let types: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["resource_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["TOPIC", "GROUP", "SUBJECT"],
        "sorted as kafka-rest sorts"
    );
    let first = &body["data"][0];
    assert_eq!(first["kind"], "KafkaAcl");
    assert_eq!(first["cluster_id"], "c");
    assert_eq!(first["operation"], "READ");
    assert_eq!(first["permission"], "ALLOW");
    assert_eq!(first["pattern_type"], "LITERAL");
    assert_eq!(first["principal"], "User:alice");
    assert!(first["metadata"]["self"]
        .as_str()
        .unwrap()
        .starts_with("http://proxy:8082/v3/clusters/c/acls?resource_type=TOPIC&resource_name=t"));

    let (status, body, _) = call(
        &app,
        "DELETE",
        "/v3/clusters/c/acls?resource_type=ANY&resource_name=g&pattern_type=ANY&operation=ANY&permission=ANY",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"][0]["resource_name"], "g");
    assert_eq!(fake.acls.lock().len(), 2);
    assert!(fake.callers.lock().iter().all(|c| c == "User:admin"));
}

#[tokio::test]
async fn invalid_requests_are_400() {
    let app = proxy(Arc::new(Fake::default()));
    let mut bad = acl("ANY", "t");
    let (status, body, _) = call(&app, "POST", "/v3/clusters/c/acls", Some(bad.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "resource_type cannot be ANY");
    bad = acl("TOPIC", "t");
    bad["pattern_type"] = json!("MATCH");
    let (status, body, _) = call(&app, "POST", "/v3/clusters/c/acls", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "pattern_type cannot be MATCH");
    let (status, body, _) = call(&app, "DELETE", "/v3/clusters/c/acls", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "resource_type cannot be unspecified or UNKNOWN"
    );
    let (status, _, _) = call(&app, "GET", "/v3/clusters/other/acls", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_an_authorizer_the_answers_stay_kafka_rests() {
    let app = proxy(Arc::new(Fake {
        disabled: true,
        ..Fake::default()
    }));
    let (status, body, _) = call(&app, "GET", "/v3/clusters/c/acls", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error_code": 40002, "message": DESCRIBE_DISABLED})
    );
    let (status, body, _) =
        call(&app, "POST", "/v3/clusters/c/acls", Some(acl("TOPIC", "t"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error_code": 40002, "message": ALTER_DISABLED})
    );
}
