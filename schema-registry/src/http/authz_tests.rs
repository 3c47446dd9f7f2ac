//! The route table against a real ACL authorizer: `alice` may read and
//! write subjects starting with `a-`, read `shared`, and read the global
//! config; `admin` is a super user.

use std::sync::Mutex;

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{json, Value};
use strata_governance::acl::{
    AclAuthorizer, AclBinding, AclSettings, Operation, PatternType, Permission, ResourceType,
};
use strata_governance::audit::{AuditEvent, AuditSink, EventKind, NoAudit};
use strata_governance::{Identity, Principal};
use tower::ServiceExt;

use crate::http::{audited_router, BoxFuture, SchemaLog, SchemaLogError, SchemaRegistry};
use crate::records::LogRecord;
use crate::registry::Registry;

#[derive(Default)]
struct MemoryLog(Mutex<Vec<LogRecord>>);

impl SchemaLog for MemoryLog {
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), SchemaLogError>> {
        self.0.lock().unwrap().extend(records);
        Box::pin(async { Ok(()) })
    }
}

fn allow(
    resource_type: ResourceType,
    name: &str,
    pattern: PatternType,
    op: Operation,
) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.into(),
        pattern_type: pattern,
        principal: "User:alice".into(),
        host: "*".into(),
        operation: op,
        permission: Permission::Allow,
    }
}

fn app() -> axum::Router {
    app_audited(std::sync::Arc::new(NoAudit))
}

fn app_audited(audit: std::sync::Arc<dyn AuditSink>) -> axum::Router {
    let authorizer = AclAuthorizer::new(AclSettings {
        super_users: vec!["User:admin".into()],
        allow_everyone_if_no_acl_found: false,
    });
    authorizer.add(&[
        allow(
            ResourceType::Subject,
            "a-",
            PatternType::Prefixed,
            Operation::Write,
        ),
        allow(
            ResourceType::Subject,
            "a-",
            PatternType::Prefixed,
            Operation::Read,
        ),
        allow(
            ResourceType::Subject,
            "shared",
            PatternType::Literal,
            Operation::Read,
        ),
        allow(
            ResourceType::Cluster,
            "kafka-cluster",
            PatternType::Literal,
            Operation::DescribeConfigs,
        ),
    ]);
    audited_router(
        SchemaRegistry::new(
            Registry::new(),
            std::sync::Arc::new(MemoryLog::default()),
            "c",
        ),
        std::sync::Arc::new(authorizer),
        audit,
    )
}

async fn call(
    app: &axum::Router,
    who: &str,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let mut request = request
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
        .unwrap();
    request
        .extensions_mut()
        .insert(Identity::new(Principal::user(who), "10.0.0.1"));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn schema(name: &str) -> Option<Value> {
    Some(json!({"schema": format!(r#"{{"type":"record","name":"{name}","fields":[]}}"#)}))
}

#[tokio::test]
async fn subjects_follow_their_acls() {
    let app = app();
    let (status, _) = call(
        &app,
        "alice",
        Method::POST,
        "/subjects/a-value/versions",
        schema("A"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        &app,
        "alice",
        Method::POST,
        "/subjects/b-value/versions",
        schema("B"),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"error_code": 40301, "message": "User is denied operation Write on Subject: b-value"})
    );
    let (status, _) = call(
        &app,
        "admin",
        Method::POST,
        "/subjects/b-value/versions",
        schema("B"),
    )
    .await;
    assert_eq!(status, 200, "super users may do anything");
    let (status, _) = call(
        &app,
        "admin",
        Method::POST,
        "/subjects/shared/versions",
        schema("S"),
    )
    .await;
    assert_eq!(status, 200);

    let (status, _) = call(
        &app,
        "alice",
        Method::GET,
        "/subjects/a-value/versions/latest",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        "alice",
        Method::GET,
        "/subjects/b-value/versions/latest",
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, "alice", Method::POST, "/subjects/shared", schema("S")).await;
    assert_eq!(status, 200, "lookup is a read");
    let (status, _) = call(&app, "alice", Method::DELETE, "/subjects/a-value", None).await;
    assert_eq!(status, 403, "delete needs Delete");

    let (_, subjects) = call(&app, "alice", Method::GET, "/subjects", None).await;
    assert_eq!(
        subjects,
        json!(["a-value", "shared"]),
        "only readable subjects are listed"
    );
    let (_, subjects) = call(&app, "admin", Method::GET, "/subjects", None).await;
    assert_eq!(subjects, json!(["a-value", "b-value", "shared"]));
    let (_, schemas) = call(&app, "alice", Method::GET, "/schemas", None).await;
    assert_eq!(schemas.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn schema_ids_need_a_readable_subject() {
    let app = app();
    call(
        &app,
        "admin",
        Method::POST,
        "/subjects/a-value/versions",
        schema("A"),
    )
    .await;
    call(
        &app,
        "admin",
        Method::POST,
        "/subjects/b-value/versions",
        schema("B"),
    )
    .await;
    let (status, _) = call(&app, "alice", Method::GET, "/schemas/ids/1", None).await;
    assert_eq!(status, 200);
    let (status, body) = call(&app, "alice", Method::GET, "/schemas/ids/2", None).await;
    assert_eq!((status, body["error_code"].clone()), (403, json!(40301)));
    let (status, _) = call(&app, "alice", Method::GET, "/schemas/ids/99", None).await;
    assert_eq!(status, 404, "an unknown id is still 404");
    let (_, subjects) = call(&app, "alice", Method::GET, "/schemas/ids/1/subjects", None).await;
    assert_eq!(subjects, json!(["a-value"]));
}

#[tokio::test]
async fn config_and_mode_need_configs_operations() {
    let app = app();
    let (status, _) = call(&app, "alice", Method::GET, "/config", None).await;
    assert_eq!(status, 200);
    let (status, body) = call(
        &app,
        "alice",
        Method::PUT,
        "/config",
        Some(json!({"compatibility": "NONE"})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "User is denied operation AlterConfigs on Cluster: kafka-cluster"
    );
    let (status, _) = call(
        &app,
        "alice",
        Method::PUT,
        "/mode/a-value",
        Some(json!({"mode": "READONLY"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, "alice", Method::GET, "/config/a-value", None).await;
    assert_eq!(
        status, 403,
        "Read on a subject does not imply DescribeConfigs"
    );
    let (status, _) = call(
        &app,
        "admin",
        Method::PUT,
        "/config/a-value",
        Some(json!({"compatibility": "NONE"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(&app, "nobody", Method::GET, "/schemas/types", None).await;
    assert_eq!(status, 200, "routes without a resource are open");
}

#[derive(Default)]
struct Collect(Mutex<Vec<AuditEvent>>);

impl AuditSink for Collect {
    fn record(&self, event: AuditEvent) {
        self.0.lock().unwrap().push(event);
    }
}

#[tokio::test]
async fn changes_and_refusals_are_audited_and_listings_are_not() {
    let audit = std::sync::Arc::new(Collect::default());
    let app = app_audited(audit.clone());
    let post = |subject: &str| format!("/subjects/{subject}/versions");
    assert_eq!(
        call(&app, "alice", Method::POST, &post("a-value"), schema("A"))
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, "alice", Method::POST, &post("b-value"), schema("B"))
            .await
            .0,
        403
    );
    let compat = Some(json!({"compatibility": "NONE"}));
    assert_eq!(
        call(&app, "admin", Method::PUT, "/config/a-value", compat)
            .await
            .0,
        200
    );
    // a listing filters silently; a failed change is not a change
    assert_eq!(
        call(&app, "alice", Method::GET, "/subjects", None).await.0,
        200
    );
    let bad = Some(json!({"schema": "not a schema"}));
    assert_eq!(
        call(&app, "alice", Method::POST, &post("a-bad"), bad)
            .await
            .0,
        422
    );
    let events = audit.0.lock().unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|e| {
            let info = e.authorization.as_ref().unwrap();
            (
                e.kind,
                e.method.as_str(),
                info.resource_name.as_str(),
                e.principal.clone().unwrap().name,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                EventKind::Management,
                "RegisterSchema",
                "a-value",
                "alice".to_string()
            ),
            (
                EventKind::Authorization,
                "RegisterSchema",
                "b-value",
                "alice".to_string()
            ),
            (
                EventKind::Management,
                "UpdateConfig",
                "a-value",
                "admin".to_string()
            ),
        ]
    );
    assert_eq!(events[2].request["body"], json!({"compatibility": "NONE"}));
}
