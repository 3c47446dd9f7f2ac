//! One audit event and its CloudEvents 1.0 JSON form, shaped like
//! Confluent's audit log records (`io.confluent.kafka.server/authorization`
//! and `/authentication`, with `data.serviceName`, `methodName`,
//! `resourceName`, `authenticationInfo`, `authorizationInfo`,
//! `requestMetadata` and `result`), so tools written for Confluent's audit
//! topic read Strata's. Changes Strata records that Confluent logs as plain
//! authorizations (a topic created, an ACL deleted, a schema registered) get
//! their own type, `io.strata.server/management`.

use std::time::SystemTime;

use serde_json::{json, Map, Value};

use crate::acl::{PatternType, Resource, ResourceType};
use crate::authorizer::Identity;
use crate::principal::Principal;
use crate::Operation;

/// What happened, and so the CloudEvents `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A login was refused.
    Authentication,
    /// A request was refused by the authorizer.
    Authorization,
    /// A security-relevant change succeeded (topics, configs, ACLs,
    /// credentials, schemas).
    Management,
}

impl EventKind {
    /// The CloudEvents `type`.
    pub fn cloud_event_type(self) -> &'static str {
        match self {
            EventKind::Authentication => "io.confluent.kafka.server/authentication",
            EventKind::Authorization => "io.confluent.kafka.server/authorization",
            EventKind::Management => "io.strata.server/management",
        }
    }

    /// A short name, for metric labels.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Authentication => "authentication",
            EventKind::Authorization => "authorization",
            EventKind::Management => "management",
        }
    }
}

/// The face a request came in on: the prefix of `methodName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Face {
    Kafka,
    SchemaRegistry,
    RestProxy,
    Admin,
}

impl Face {
    pub fn name(self) -> &'static str {
        match self {
            Face::Kafka => "kafka",
            Face::SchemaRegistry => "schema-registry",
            Face::RestProxy => "rest-proxy",
            Face::Admin => "admin",
        }
    }
}

/// The authorizer's question and answer (Confluent's `authorizationInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationInfo {
    pub granted: bool,
    pub operation: Operation,
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
}

/// One audit event. Build it with [`AuditEvent::login_failed`],
/// [`AuditEvent::denied`] or [`AuditEvent::changed`].
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub kind: EventKind,
    pub face: Face,
    /// The API or route, without the face: `Produce`, `RegisterSchema`.
    pub method: String,
    /// Who acted; `None` for a refused login (see `identifier`).
    pub principal: Option<Principal>,
    /// The client's IP address.
    pub client_address: String,
    pub authorization: Option<AuthorizationInfo>,
    /// Refused logins: how the client tried (`SASL_PLAINTEXT/PLAIN`,
    /// `HTTP/BASIC`) and the name it claimed, if it named one.
    pub mechanism: Option<String>,
    pub identifier: Option<String>,
    /// `SUCCESS`, `DENIED` or `UNAUTHENTICATED`.
    pub status: &'static str,
    pub message: Option<String>,
    /// What the request asked for (partition counts, config names, the ACL).
    pub request: Map<String, Value>,
    /// Denials of the same key left out since the previous record of it
    /// (see [`crate::audit::DenialLimiter`]).
    pub suppressed: u64,
    pub time: SystemTime,
}

impl AuditEvent {
    fn new(kind: EventKind, face: Face, method: impl Into<String>, client: &str) -> Self {
        AuditEvent {
            kind,
            face,
            method: method.into(),
            principal: None,
            client_address: client.to_owned(),
            authorization: None,
            mechanism: None,
            identifier: None,
            status: "SUCCESS",
            message: None,
            request: Map::new(),
            suppressed: 0,
            time: SystemTime::now(),
        }
    }

    /// A refused login. `mechanism` as Confluent writes it
    /// (`SASL_PLAINTEXT/SCRAM-SHA-256`); `identifier` the user the client
    /// claimed, when it got as far as naming one.
    pub fn login_failed(
        face: Face,
        mechanism: impl Into<String>,
        identifier: Option<String>,
        client_address: &str,
        message: impl Into<String>,
    ) -> Self {
        AuditEvent {
            mechanism: Some(mechanism.into()),
            identifier,
            status: "UNAUTHENTICATED",
            message: Some(message.into()),
            ..Self::new(
                EventKind::Authentication,
                face,
                "Authentication",
                client_address,
            )
        }
    }

    /// `who` was refused `operation` on `resource` by `method`.
    pub fn denied(
        face: Face,
        method: impl Into<String>,
        who: &Identity,
        operation: Operation,
        resource: &Resource<'_>,
    ) -> Self {
        Self::decided(
            EventKind::Authorization,
            face,
            method,
            who,
            operation,
            resource,
        )
    }

    /// `who` changed `resource` through `method`, authorized for `operation`.
    pub fn changed(
        face: Face,
        method: impl Into<String>,
        who: &Identity,
        operation: Operation,
        resource: &Resource<'_>,
    ) -> Self {
        Self::decided(
            EventKind::Management,
            face,
            method,
            who,
            operation,
            resource,
        )
    }

    fn decided(
        kind: EventKind,
        face: Face,
        method: impl Into<String>,
        who: &Identity,
        operation: Operation,
        resource: &Resource<'_>,
    ) -> Self {
        let granted = kind != EventKind::Authorization;
        AuditEvent {
            principal: Some(who.principal.clone()),
            authorization: Some(AuthorizationInfo {
                granted,
                operation,
                resource_type: resource.resource_type(),
                resource_name: resource.name().to_owned(),
                pattern_type: PatternType::Literal,
            }),
            status: if granted { "SUCCESS" } else { "DENIED" },
            ..Self::new(kind, face, method, &who.host)
        }
    }

    /// Adds a field to `data.request`.
    pub fn with_request(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.request.insert(key.to_owned(), value.into());
        self
    }

    /// Overrides when it happened (tests).
    pub fn at(mut self, time: SystemTime) -> Self {
        self.time = time;
        self
    }

    /// The record key: the principal, or for a refused login the name it
    /// claimed, or its address.
    pub fn key(&self) -> String {
        match (&self.principal, &self.identifier) {
            (Some(p), _) => p.to_string(),
            (None, Some(name)) => format!("User:{name}"),
            (None, None) => self.client_address.clone(),
        }
    }

    /// The CloudEvents 1.0 structured JSON of this event in cluster
    /// `cluster_id`, with event id `id` (a UUID).
    pub fn to_cloud_event(&self, cluster_id: &str, id: &str) -> Value {
        let cluster = format!("crn:///kafka={cluster_id}");
        let service = match self.face {
            Face::Kafka => cluster.clone(),
            other => format!("{cluster}/{}={cluster_id}", other.name()),
        };
        let resource = match &self.authorization {
            Some(info) => crn(&cluster, info.resource_type, &info.resource_name),
            None => cluster.clone(),
        };
        let mut data = Map::new();
        data.insert("serviceName".into(), json!(service));
        data.insert(
            "methodName".into(),
            json!(format!("{}.{}", self.face.name(), self.method)),
        );
        data.insert("resourceName".into(), json!(resource));
        let mut authentication = Map::new();
        if let Some(p) = &self.principal {
            authentication.insert("principal".into(), json!(p.to_string()));
        }
        if self.mechanism.is_some() || self.identifier.is_some() {
            authentication.insert(
                "metadata".into(),
                json!({"mechanism": self.mechanism, "identifier": self.identifier}),
            );
        }
        data.insert("authenticationInfo".into(), Value::Object(authentication));
        if let Some(info) = &self.authorization {
            data.insert(
                "authorizationInfo".into(),
                json!({
                    "granted": info.granted,
                    "operation": format!("{:?}", info.operation),
                    "resourceType": format!("{:?}", info.resource_type),
                    "resourceName": info.resource_name,
                    "patternType": crate::acl::codes::pattern_type_name(info.pattern_type),
                }),
            );
        }
        if !self.request.is_empty() {
            data.insert("request".into(), Value::Object(self.request.clone()));
        }
        data.insert(
            "requestMetadata".into(),
            json!({"client_address": self.client_address}),
        );
        let mut result = Map::new();
        result.insert("status".into(), json!(self.status));
        if let Some(message) = &self.message {
            result.insert("message".into(), json!(message));
        }
        data.insert("result".into(), Value::Object(result));
        if self.kind == EventKind::Authorization {
            data.insert("suppressed".into(), json!(self.suppressed));
        }
        json!({
            "specversion": "1.0",
            "id": id,
            "source": cluster,
            "type": self.kind.cloud_event_type(),
            "time": humantime::format_rfc3339_millis(self.time).to_string(),
            "datacontenttype": "application/json",
            "subject": resource,
            "data": data,
        })
    }
}

/// `crn:///kafka=<id>/topic=<name>`; the cluster itself is the bare crn.
fn crn(cluster: &str, resource_type: ResourceType, name: &str) -> String {
    let segment = match resource_type {
        ResourceType::Cluster | ResourceType::Any => return cluster.to_owned(),
        ResourceType::Topic => "topic",
        ResourceType::Group => "group",
        ResourceType::TransactionalId => "transactional-id",
        ResourceType::DelegationToken => "delegation-token",
        ResourceType::User => "user",
        ResourceType::Subject => "subject",
    };
    format!("{cluster}/{segment}={name}")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn alice() -> Identity {
        Identity::new(Principal::user("alice"), "10.0.0.7")
    }

    fn noon() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_609_504_496_789)
    }

    #[test]
    fn a_denied_produce_is_a_confluent_authorization_record() {
        let event = AuditEvent::denied(
            Face::Kafka,
            "Produce",
            &alice(),
            Operation::Write,
            &Resource::Topic("orders"),
        )
        .with_request("client_id", "app-1")
        .at(noon());
        let json = event.to_cloud_event("c1", "fc0f727d-899a-4a22-ad8b-a866871a9d37");
        assert_eq!(
            json,
            json!({
                "specversion": "1.0",
                "id": "fc0f727d-899a-4a22-ad8b-a866871a9d37",
                "source": "crn:///kafka=c1",
                "type": "io.confluent.kafka.server/authorization",
                "time": "2021-01-01T12:34:56.789Z",
                "datacontenttype": "application/json",
                "subject": "crn:///kafka=c1/topic=orders",
                "data": {
                    "serviceName": "crn:///kafka=c1",
                    "methodName": "kafka.Produce",
                    "resourceName": "crn:///kafka=c1/topic=orders",
                    "authenticationInfo": {"principal": "User:alice"},
                    "authorizationInfo": {
                        "granted": false,
                        "operation": "Write",
                        "resourceType": "Topic",
                        "resourceName": "orders",
                        "patternType": "LITERAL",
                    },
                    "request": {"client_id": "app-1"},
                    "requestMetadata": {"client_address": "10.0.0.7"},
                    "result": {"status": "DENIED"},
                    "suppressed": 0,
                },
            })
        );
        assert_eq!(event.key(), "User:alice");
    }

    #[test]
    fn a_refused_login_names_the_claimed_user_and_mechanism() {
        let event = AuditEvent::login_failed(
            Face::Kafka,
            "SASL_PLAINTEXT/PLAIN",
            Some("mallory".into()),
            "10.0.0.9",
            "Invalid username or password",
        );
        let json = event.to_cloud_event("c1", "id");
        assert_eq!(json["type"], "io.confluent.kafka.server/authentication");
        assert_eq!(json["data"]["methodName"], "kafka.Authentication");
        assert_eq!(
            json["data"]["authenticationInfo"],
            json!({"metadata": {"mechanism": "SASL_PLAINTEXT/PLAIN", "identifier": "mallory"}})
        );
        assert_eq!(json["data"]["result"]["status"], "UNAUTHENTICATED");
        assert!(json["data"].get("authorizationInfo").is_none());
        assert_eq!(event.key(), "User:mallory");
    }

    #[test]
    fn a_schema_registration_is_a_management_record_of_the_registry() {
        let event = AuditEvent::changed(
            Face::SchemaRegistry,
            "RegisterSchema",
            &alice(),
            Operation::Write,
            &Resource::Subject("orders-value"),
        )
        .with_request("version", 3);
        let json = event.to_cloud_event("c1", "id");
        assert_eq!(json["type"], "io.strata.server/management");
        assert_eq!(
            json["data"]["serviceName"],
            "crn:///kafka=c1/schema-registry=c1"
        );
        assert_eq!(json["data"]["methodName"], "schema-registry.RegisterSchema");
        assert_eq!(json["subject"], "crn:///kafka=c1/subject=orders-value");
        assert_eq!(json["data"]["authorizationInfo"]["granted"], true);
        assert_eq!(json["data"]["request"]["version"], 3);
        assert!(json["data"].get("suppressed").is_none());
    }
}
