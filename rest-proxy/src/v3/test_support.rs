//! The v3 route tests' harness: the proxy's router over a fake
//! [`KafkaBackend`] (each test fakes the Kafka answers it needs) and one
//! call through it, without a socket.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use strata_governance::{Identity, Principal};
use strata_schema_registry::http::{
    BoxFuture as SrFuture, SchemaLog, SchemaLogError, SchemaRegistry,
};
use strata_schema_registry::records::LogRecord;
use strata_schema_registry::registry::Registry;
use tower::ServiceExt;

use crate::backend::KafkaBackend;
use crate::{router, RestProxy, RestProxyConfig};

/// A schema log that keeps nothing: the v3 routes tested never register.
struct MemoryLog;

impl SchemaLog for MemoryLog {
    fn append(&self, _records: Vec<LogRecord>) -> SrFuture<'_, Result<(), SchemaLogError>> {
        Box::pin(async { Ok(()) })
    }
}

/// The proxy's router for cluster `c` over `backend`.
pub(super) fn proxy(backend: Arc<dyn KafkaBackend>) -> axum::Router {
    let registry = SchemaRegistry::new(Registry::new(), Arc::new(MemoryLog), "c");
    router(RestProxy::new(
        backend,
        registry,
        "c",
        RestProxyConfig::default(),
    ))
}

/// One request as `User:admin` from `Host: proxy:8082`: its status, JSON
/// body (null when none) and `Location`.
pub(super) async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "proxy:8082");
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let mut request = request
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
        .unwrap();
    request
        .extensions_mut()
        .insert(Identity::new(Principal::user("admin"), "10.1.2.3"));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value, location)
}
