//! Who may do what in the registry: every route is checked against the
//! broker's [`Authorizer`] before its handler runs, with subjects as
//! [`Resource::Subject`]:
//!
//! | route | operation | resource |
//! |---|---|---|
//! | read a subject's versions, schemas, metadata; lookup; compatibility checks | Read | subject |
//! | `POST /subjects/{s}/versions` (register) | Write | subject |
//! | `DELETE /subjects/{s}[/versions/{v}]` | Delete | subject |
//! | `GET /config/{s}`, `GET /mode/{s}` | DescribeConfigs | subject |
//! | `PUT`/`DELETE /config/{s}`, `/mode/{s}` | AlterConfigs | subject |
//! | `GET /config`, `GET /mode` | DescribeConfigs | cluster |
//! | `PUT`/`DELETE /config`, `PUT /mode` | AlterConfigs | cluster |
//! | `/schemas/ids/{id}...` | Read | some subject holding the id |
//!
//! Listings (`GET /subjects`, `GET /schemas`, the subjects and versions of
//! an id) answer only what the caller may read; the handlers filter them
//! with the [`Access`] this layer puts into the request. A refusal is 403
//! 40301. The caller is the request's [`Identity`] extension, which the
//! broker's login layer sets; without it (tests, an embedding without
//! login) the caller is `User:ANONYMOUS` on 127.0.0.1.
//!
//! Audit: a refusal of a named subject (or the cluster) is recorded as a
//! denial; the filtering of listings is not (Kafka's `logIfDenied = false`).
//! A change that succeeded (register, delete, config and mode changes) is
//! recorded once its handler answered 2xx, with the request body of config
//! and mode changes (the compatibility level) in `data.request.body`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use strata_governance::audit::{AuditEvent, AuditSink, Face};
use strata_governance::{Authorizer, Identity, Operation, Principal, Resource};

use super::errors::ApiError;
use super::Shared;

/// The caller and the authorizer, for handlers that filter what they list.
#[derive(Clone)]
pub(super) struct Access {
    authorizer: Arc<dyn Authorizer>,
    identity: Identity,
    audit: Arc<dyn AuditSink>,
    /// The route's method name for audit records (`RegisterSchema`).
    method: &'static str,
}

impl Access {
    /// Whether the caller may read `subject`.
    pub(super) fn reads(&self, subject: &str) -> bool {
        self.authorizer
            .authorize(&self.identity, Operation::Read, &Resource::Subject(subject))
    }

    fn check(&self, operation: Operation, resource: &Resource<'_>) -> Result<(), ApiError> {
        if self
            .authorizer
            .authorize(&self.identity, operation, resource)
        {
            return Ok(());
        }
        self.audit_denied(operation, resource);
        Err(denied(operation, resource))
    }

    fn audit_denied(&self, operation: Operation, resource: &Resource<'_>) {
        self.audit.record(AuditEvent::denied(
            Face::SchemaRegistry,
            self.method,
            &self.identity,
            operation,
            resource,
        ));
    }
}

fn denied(operation: Operation, resource: &Resource<'_>) -> ApiError {
    let what = match resource {
        Resource::Subject(name) => format!("Subject: {name}"),
        Resource::Cluster => "Cluster: kafka-cluster".to_owned(),
        other => format!("{:?}: {}", other.resource_type(), other.name()),
    };
    ApiError::Denied(format!("User is denied operation {operation:?} on {what}"))
}

/// The layer's state: the registry (to find the subjects of an id) and the
/// authorizer.
#[derive(Clone)]
pub(super) struct Guard {
    pub(super) registry: Shared,
    pub(super) authorizer: Arc<dyn Authorizer>,
    pub(super) audit: Arc<dyn AuditSink>,
}

/// Config and mode bodies are a few fields; a larger one is left to the
/// handler to refuse, unread here.
const AUDITED_BODY_MAX: usize = 64 * 1024;

/// The audit method name of a route, and for a change the operation and
/// whether its body is recorded.
fn method_name(method: &Method, route: &str) -> (&'static str, Option<(Operation, bool)>) {
    let m = method.as_str();
    match (m, route) {
        ("POST", "/subjects/{subject}/versions") => {
            ("RegisterSchema", Some((Operation::Write, false)))
        }
        ("POST", "/subjects/{subject}") => ("LookupSchema", None),
        ("DELETE", "/subjects/{subject}") => ("DeleteSubject", Some((Operation::Delete, false))),
        ("DELETE", "/subjects/{subject}/versions/{version}") => {
            ("DeleteSchemaVersion", Some((Operation::Delete, false)))
        }
        ("PUT", "/config" | "/config/{subject}") => {
            ("UpdateConfig", Some((Operation::AlterConfigs, true)))
        }
        ("DELETE", "/config" | "/config/{subject}") => {
            ("DeleteConfig", Some((Operation::AlterConfigs, false)))
        }
        ("PUT", "/mode" | "/mode/{subject}") => {
            ("UpdateMode", Some((Operation::AlterConfigs, true)))
        }
        ("DELETE", "/mode/{subject}") => ("DeleteMode", Some((Operation::AlterConfigs, false))),
        (_, "/config" | "/config/{subject}") => ("GetConfig", None),
        (_, "/mode" | "/mode/{subject}") => ("GetMode", None),
        (_, r) if r.starts_with("/compatibility/") => ("TestCompatibility", None),
        (_, r) if r.starts_with("/schemas/ids/") => ("GetSchemaById", None),
        (_, r) if r.starts_with("/subjects/{subject}") => ("GetSubject", None),
        _ => ("Request", None),
    }
}

/// Checks the route's operation (see the module table) and puts the
/// [`Access`] into the request for the handler.
pub(super) async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let identity = parts
        .extensions
        .get::<Identity>()
        .cloned()
        .unwrap_or_else(|| Identity::new(Principal::anonymous(), "127.0.0.1"));
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let (method, change) = method_name(&parts.method, &route);
    let access = Access {
        authorizer: guard.authorizer.clone(),
        identity,
        audit: guard.audit.clone(),
        method,
    };
    let params: HashMap<String, String> = Path::from_request_parts(&mut parts, &())
        .await
        .map(|Path(p)| p)
        .unwrap_or_default();
    if let Err(refused) = check_route(&guard, &access, &parts.method, &route, &params) {
        return refused.into_response();
    }
    let Some((operation, with_body)) = change else {
        parts.extensions.insert(access);
        return next.run(Request::from_parts(parts, body)).await;
    };
    let (body, recorded) = if with_body {
        match axum::body::to_bytes(body, AUDITED_BODY_MAX).await {
            Ok(bytes) => {
                let recorded = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
                (Body::from(bytes), recorded)
            }
            Err(_) => (Body::empty(), None),
        }
    } else {
        (body, None)
    };
    let subject = params.get("subject").map(String::as_str);
    let mut event = AuditEvent::changed(
        Face::SchemaRegistry,
        method,
        &access.identity,
        operation,
        &subject.map_or(Resource::Cluster, Resource::Subject),
    );
    if let Some(version) = params.get("version") {
        event = event.with_request("version", version.as_str());
    }
    if let Some(query) = parts.uri.query() {
        event = event.with_request("query", query);
    }
    if let Some(body) = recorded {
        event = event.with_request("body", body);
    }
    let audit = access.audit.clone();
    parts.extensions.insert(access);
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status().is_success() {
        audit.record(event);
    }
    response
}

fn check_route(
    guard: &Guard,
    access: &Access,
    method: &Method,
    route: &str,
    params: &HashMap<String, String>,
) -> Result<(), ApiError> {
    let reading = method == Method::GET || method == Method::HEAD;
    let config_op = if reading {
        Operation::DescribeConfigs
    } else {
        Operation::AlterConfigs
    };
    let subject = params.get("subject").map(String::as_str).unwrap_or("");
    let on_subject = Resource::Subject(subject);
    match route {
        "/subjects/{subject}" if method == Method::DELETE => {
            access.check(Operation::Delete, &on_subject)
        }
        "/subjects/{subject}/versions" if method == Method::POST => {
            access.check(Operation::Write, &on_subject)
        }
        "/subjects/{subject}/versions/{version}" if method == Method::DELETE => {
            access.check(Operation::Delete, &on_subject)
        }
        "/subjects/{subject}"
        | "/subjects/{subject}/versions"
        | "/subjects/{subject}/versions/{version}"
        | "/subjects/{subject}/versions/{version}/schema"
        | "/subjects/{subject}/versions/{version}/referencedby"
        | "/subjects/{subject}/metadata"
        | "/compatibility/subjects/{subject}/versions"
        | "/compatibility/subjects/{subject}/versions/{version}" => {
            access.check(Operation::Read, &on_subject)
        }
        "/config/{subject}" | "/mode/{subject}" => access.check(config_op, &on_subject),
        "/config" | "/mode" => access.check(config_op, &Resource::Cluster),
        "/schemas/ids/{id}"
        | "/schemas/ids/{id}/schema"
        | "/schemas/ids/{id}/subjects"
        | "/schemas/ids/{id}/versions" => {
            let Some(id) = params.get("id").and_then(|id| id.parse::<u32>().ok()) else {
                return Ok(()); // the handler answers 404
            };
            let Ok(holders) = guard.registry.read().subject_versions_of(id, true) else {
                return Ok(()); // unknown id: the handler answers 404
            };
            if holders.iter().any(|(subject, _)| access.reads(subject)) {
                return Ok(());
            }
            if let Some((subject, _)) = holders.first() {
                access.audit_denied(Operation::Read, &Resource::Subject(subject));
            }
            Err(ApiError::Denied(format!(
                "User is denied operation Read on the subjects of schema {id}"
            )))
        }
        // Listings are filtered by their handlers; the rest (`/`,
        // `/schemas/types`, `/contexts`, `/v1/metadata/id`) is open to any
        // caller who logged in.
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "authz_tests.rs"]
mod tests;
