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

/// The routes under test, so each test says who asks for what rather than
/// how a request is built.
struct Api(axum::Router);

impl Api {
    async fn get(&self, who: &str, uri: &str) -> (u16, Value) {
        self.call(who, Method::GET, uri, None).await
    }

    async fn post(&self, who: &str, uri: &str, body: Value) -> (u16, Value) {
        self.call(who, Method::POST, uri, Some(body)).await
    }

    async fn put(&self, who: &str, uri: &str, body: Value) -> (u16, Value) {
        self.call(who, Method::PUT, uri, Some(body)).await
    }

    async fn delete(&self, who: &str, uri: &str) -> (u16, Value) {
        self.call(who, Method::DELETE, uri, None).await
    }

    /// Registers an empty record schema called `name` under `subject`.
    async fn register(&self, who: &str, subject: &str, name: &str) -> (u16, Value) {
        let uri = format!("/subjects/{subject}/versions");
        self.post(who, &uri, schema(name)).await
    }

    async fn call(
        &self,
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
        let response = self.0.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn schema(name: &str) -> Value {
    json!({"schema": format!(r#"{{"type":"record","name":"{name}","fields":[]}}"#)})
}

#[tokio::test]
async fn subjects_follow_their_acls() {
    let api = Api(app());
    let (status, _) = api.register("alice", "a-value", "A").await;
    assert_eq!(status, 200);
    let (status, body) = api.register("alice", "b-value", "B").await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"error_code": 40301, "message": "User is denied operation Write on Subject: b-value"})
    );
    let (status, _) = api.register("admin", "b-value", "B").await;
    assert_eq!(status, 200, "super users may do anything");
    let (status, _) = api.register("admin", "shared", "S").await;
    assert_eq!(status, 200);

    let (status, _) = api.get("alice", "/subjects/a-value/versions/latest").await;
    assert_eq!(status, 200);
    let (status, _) = api.get("alice", "/subjects/b-value/versions/latest").await;
    assert_eq!(status, 403);
    let (status, _) = api.post("alice", "/subjects/shared", schema("S")).await;
    assert_eq!(status, 200, "lookup is a read");
    let (status, _) = api.delete("alice", "/subjects/a-value").await;
    assert_eq!(status, 403, "delete needs Delete");

    let (_, subjects) = api.get("alice", "/subjects").await;
    assert_eq!(
        subjects,
        json!(["a-value", "shared"]),
        "only readable subjects are listed"
    );
    let (_, subjects) = api.get("admin", "/subjects").await;
    assert_eq!(subjects, json!(["a-value", "b-value", "shared"]));
    let (_, schemas) = api.get("alice", "/schemas").await;
    assert_eq!(schemas.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn schema_ids_need_a_readable_subject() {
    let api = Api(app());
    api.register("admin", "a-value", "A").await;
    api.register("admin", "b-value", "B").await;
    let (status, _) = api.get("alice", "/schemas/ids/1").await;
    assert_eq!(status, 200);
    let (status, body) = api.get("alice", "/schemas/ids/2").await;
    assert_eq!((status, body["error_code"].clone()), (403, json!(40301)));
    let (status, _) = api.get("alice", "/schemas/ids/99").await;
    assert_eq!(status, 404, "an unknown id is still 404");
    let (_, subjects) = api.get("alice", "/schemas/ids/1/subjects").await;
    assert_eq!(subjects, json!(["a-value"]));
}

#[tokio::test]
async fn config_and_mode_need_configs_operations() {
    let api = Api(app());
    let compat = json!({"compatibility": "NONE"});
    let (status, _) = api.get("alice", "/config").await;
    assert_eq!(status, 200);
    let (status, body) = api.put("alice", "/config", compat.clone()).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "User is denied operation AlterConfigs on Cluster: kafka-cluster"
    );
    let (status, _) = api
        .put("alice", "/mode/a-value", json!({"mode": "READONLY"}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = api.get("alice", "/config/a-value").await;
    assert_eq!(
        status, 403,
        "Read on a subject does not imply DescribeConfigs"
    );
    let (status, _) = api.put("admin", "/config/a-value", compat).await;
    assert_eq!(status, 200);
    let (status, _) = api.get("nobody", "/schemas/types").await;
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
    let api = Api(app_audited(audit.clone()));
    assert_eq!(api.register("alice", "a-value", "A").await.0, 200);
    assert_eq!(api.register("alice", "b-value", "B").await.0, 403);
    let compat = json!({"compatibility": "NONE"});
    assert_eq!(api.put("admin", "/config/a-value", compat).await.0, 200);
    // a listing filters silently; a failed change is not a change
    assert_eq!(api.get("alice", "/subjects").await.0, 200);
    let bad = json!({"schema": "not a schema"});
    assert_eq!(
        api.post("alice", "/subjects/a-bad/versions", bad).await.0,
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
