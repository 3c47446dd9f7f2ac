//! v3 ACLs, as kafka-rest's `AclsResource` and `CreateAclBatchAction`
//! serve them, sent to the broker as DescribeAcls, CreateAcls and
//! DeleteAcls under the HTTP caller's principal (so managing ACLs needs
//! Describe/Alter on the cluster, as with any Kafka admin client):
//!
//! - `GET /v3/clusters/{c}/acls?resource_type=&resource_name=&pattern_type=&principal=&host=&operation=&permission=`
//!   (every filter optional, ANY by default): a `KafkaAclList`;
//! - `POST /v3/clusters/{c}/acls` with one ACL: 201 with a `Location` naming it;
//! - `POST /v3/clusters/{c}/acls:batch` with `{"data": [ACL, ...]}`: 204;
//! - `DELETE /v3/clusters/{c}/acls?...` (resource_type, pattern_type,
//!   operation and permission required): `{"data": [the deleted ACLs]}`.
//!
//! An ACL is `{"kind": "KafkaAcl", "metadata": {"self": ...}, "cluster_id",
//! "resource_type", "resource_name", "pattern_type", "principal", "host",
//! "operation", "permission"}` with Kafka's enum names (`TOPIC`, `LITERAL`,
//! `READ`, `ALLOW`). Strata's `SUBJECT` resource type (Schema Registry
//! subjects) is accepted too. Lists are sorted as kafka-rest sorts them
//! (by each field in that order, enums by declaration order).
//!
//! Without an authorizer the broker answers SECURITY_DISABLED, which
//! kafka-rest answers 400 40002 ("No Authorizer is configured on the
//! broker" for searches, "No Authorizer is configured." for changes).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use serde::Deserialize;
use serde_json::{json, Value};
use strata_governance::acl::{codes, AclBinding, Operation, PatternType, Permission, ResourceType};

use super::body::Body;
use super::clusters;
use super::errors::{self, invalid_payload};
use super::links::{ok, Links};
use crate::backend::Caller;
use crate::error::RestError;
use crate::Shared;

const DESCRIBE_DISABLED: &str = "No Authorizer is configured on the broker";
const ALTER_DISABLED: &str = "No Authorizer is configured.";

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v3/clusters/{cluster_id}/acls",
            get(search).post(create).delete(delete),
        )
        .route("/v3/clusters/{cluster_id}/acls:batch", post(create_batch))
}

/// One ACL in a create request (`CreateAclRequest`).
#[derive(Debug, Deserialize)]
struct AclRequest {
    resource_type: String,
    resource_name: String,
    pattern_type: String,
    principal: String,
    host: String,
    operation: String,
    permission: String,
}

#[derive(Debug, Deserialize)]
struct BatchRequest {
    data: Option<Vec<AclRequest>>,
}

/// What a search or delete selects; `None` fields match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Filter {
    resource_type: ResourceType,
    resource_name: Option<String>,
    pattern_type: PatternType,
    principal: Option<String>,
    host: Option<String>,
    operation: Operation,
    permission: Permission,
}

type Params = Query<HashMap<String, String>>;

fn parse<T>(
    params: &HashMap<String, String>,
    name: &str,
    parse: fn(&str) -> Option<T>,
    default: Option<T>,
    unset: &str,
) -> Result<T, RestError> {
    match params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => default.ok_or_else(|| RestError::bad_request(format!("{name} {unset}"))),
        Some(value) => parse(&value.to_ascii_uppercase())
            .ok_or_else(|| RestError::bad_request(format!("{name} {unset}"))),
    }
}

/// The query's filter; `required` (DELETE): the enums must be given.
fn filter(params: &HashMap<String, String>, required: bool) -> Result<Filter, RestError> {
    let (unset, any) = if required {
        ("cannot be unspecified or UNKNOWN", false)
    } else {
        ("cannot be UNKNOWN", true)
    };
    let text = |name: &str| params.get(name).filter(|v| !v.is_empty()).cloned();
    Ok(Filter {
        resource_type: parse(
            params,
            "resource_type",
            codes::parse_resource_type_name,
            any.then_some(ResourceType::Any),
            unset,
        )?,
        resource_name: text("resource_name"),
        pattern_type: parse(
            params,
            "pattern_type",
            codes::parse_pattern_type_name,
            any.then_some(PatternType::Any),
            unset,
        )?,
        principal: text("principal"),
        host: text("host"),
        operation: parse(
            params,
            "operation",
            codes::parse_operation_name,
            any.then_some(Operation::Any),
            unset,
        )?,
        permission: parse(
            params,
            "permission",
            codes::parse_permission_name,
            any.then_some(Permission::Any),
            unset,
        )?,
    })
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

/// A refusal from the broker, SECURITY_DISABLED with kafka-rest's words.
fn check(code: i16, message: Option<&StrBytes>, disabled: &str) -> Result<(), RestError> {
    if code == ResponseError::SecurityDisabled.code() {
        return Err(RestError::new(40002, disabled));
    }
    errors::check(code, message.map(|m| m.as_str()))
}

async fn search(
    State(proxy): State<Shared>,
    Path(c): Path<String>,
    caller: Caller,
    links: Links,
    Query(params): Params,
) -> Result<Response, RestError> {
    let f = filter(&params, false)?;
    clusters::check(&proxy, &c)?;
    let request = DescribeAclsRequest::default()
        .with_resource_type_filter(codes::resource_type_code(f.resource_type))
        .with_resource_name_filter(f.resource_name.as_deref().map(str_bytes))
        .with_pattern_type_filter(codes::pattern_type_code(f.pattern_type))
        .with_principal_filter(f.principal.as_deref().map(str_bytes))
        .with_host_filter(f.host.as_deref().map(str_bytes))
        .with_operation(codes::operation_code(f.operation))
        .with_permission_type(codes::permission_code(f.permission));
    let response = proxy.send(&caller, request).await?;
    check(
        response.error_code,
        response.error_message.as_ref(),
        DESCRIBE_DISABLED,
    )?;
    let mut bindings = Vec::new();
    for resource in &response.resources {
        for acl in &resource.acls {
            bindings.extend(binding(
                resource.resource_type,
                resource.resource_name.as_str(),
                resource.pattern_type,
                acl.principal.as_str(),
                acl.host.as_str(),
                acl.operation,
                acl.permission_type,
            ));
        }
    }
    bindings.sort();
    let query = query(&[
        ("resource_type", codes::resource_type_name(f.resource_type)),
        ("resource_name", f.resource_name.as_deref().unwrap_or("")),
        ("pattern_type", codes::pattern_type_name(f.pattern_type)),
        ("principal", f.principal.as_deref().unwrap_or("")),
        ("host", f.host.as_deref().unwrap_or("")),
        ("operation", codes::operation_name(f.operation)),
        ("permission", codes::permission_name(f.permission)),
    ]);
    let data: Vec<Value> = bindings.iter().map(|b| acl_data(&links, &c, b)).collect();
    Ok(ok(json!({
        "kind": "KafkaAclList",
        "metadata": {"self": format!("{}{query}", links.url(&[&c, "acls"])), "next": null},
        "data": data,
    })))
}

/// A binding from the wire's codes; `None` for codes this side does not
/// know (a newer broker's), which are left out rather than misnamed.
fn binding(
    resource_type: i8,
    resource_name: &str,
    pattern_type: i8,
    principal: &str,
    host: &str,
    operation: i8,
    permission: i8,
) -> Option<AclBinding> {
    Some(AclBinding {
        resource_type: codes::resource_type(resource_type)?,
        resource_name: resource_name.to_owned(),
        pattern_type: codes::pattern_type(pattern_type)?,
        principal: principal.to_owned(),
        host: host.to_owned(),
        operation: codes::operation(operation)?,
        permission: codes::permission(permission)?,
    })
}

fn binding_query(b: &AclBinding) -> String {
    query(&[
        ("resource_type", codes::resource_type_name(b.resource_type)),
        ("resource_name", &b.resource_name),
        ("pattern_type", codes::pattern_type_name(b.pattern_type)),
        ("principal", &b.principal),
        ("host", &b.host),
        ("operation", codes::operation_name(b.operation)),
        ("permission", codes::permission_name(b.permission)),
    ])
}

/// kafka-rest's `AclData`.
fn acl_data(links: &Links, cluster_id: &str, b: &AclBinding) -> Value {
    json!({
        "kind": "KafkaAcl",
        "metadata": {"self": format!("{}{}", links.url(&[cluster_id, "acls"]), binding_query(b))},
        "cluster_id": cluster_id,
        "resource_type": codes::resource_type_name(b.resource_type),
        "resource_name": b.resource_name,
        "pattern_type": codes::pattern_type_name(b.pattern_type),
        "principal": b.principal,
        "host": b.host,
        "operation": codes::operation_name(b.operation),
        "permission": codes::permission_name(b.permission),
    })
}

/// `?k=v&...`, values percent-encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(key);
        out.push('=');
        for byte in value.bytes() {
            let plain = byte.is_ascii_alphanumeric()
                || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'*' | b':' | b'@' | b'/');
            if plain {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// Checks a create request as kafka-rest's `validateAclCreateParameters`.
fn new_binding(r: &AclRequest) -> Result<AclBinding, RestError> {
    let name = |v: &str| v.trim().to_ascii_uppercase();
    let resource_type = codes::parse_resource_type_name(&name(&r.resource_type))
        .filter(|t| *t != ResourceType::Any)
        .ok_or_else(|| RestError::bad_request("resource_type cannot be ANY"))?;
    let pattern_type = codes::parse_pattern_type_name(&name(&r.pattern_type))
        .filter(|p| !matches!(p, PatternType::Any | PatternType::Match))
        .ok_or_else(|| {
            RestError::bad_request(format!("pattern_type cannot be {}", name(&r.pattern_type)))
        })?;
    let operation = codes::parse_operation_name(&name(&r.operation))
        .filter(|o| *o != Operation::Any)
        .ok_or_else(|| RestError::bad_request("operation cannot be ANY"))?;
    let permission = codes::parse_permission_name(&name(&r.permission))
        .filter(|p| *p != Permission::Any)
        .ok_or_else(|| RestError::bad_request("permission cannot be ANY"))?;
    Ok(AclBinding {
        resource_type,
        resource_name: r.resource_name.clone(),
        pattern_type,
        principal: r.principal.clone(),
        host: r.host.clone(),
        operation,
        permission,
    })
}

async fn create_bindings(
    proxy: &Shared,
    caller: &Caller,
    bindings: &[AclBinding],
) -> Result<(), RestError> {
    let creations = bindings
        .iter()
        .map(|b| {
            AclCreation::default()
                .with_resource_type(codes::resource_type_code(b.resource_type))
                .with_resource_name(str_bytes(&b.resource_name))
                .with_resource_pattern_type(codes::pattern_type_code(b.pattern_type))
                .with_principal(str_bytes(&b.principal))
                .with_host(str_bytes(&b.host))
                .with_operation(codes::operation_code(b.operation))
                .with_permission_type(codes::permission_code(b.permission))
        })
        .collect();
    let response = proxy
        .send(
            caller,
            CreateAclsRequest::default().with_creations(creations),
        )
        .await?;
    for result in &response.results {
        check(
            result.error_code,
            result.error_message.as_ref(),
            ALTER_DISABLED,
        )?;
    }
    Ok(())
}

async fn create(
    State(proxy): State<Shared>,
    Path(c): Path<String>,
    caller: Caller,
    links: Links,
    Body(body): Body<AclRequest>,
) -> Result<Response, RestError> {
    let request = body.ok_or_else(|| invalid_payload("Null input provided. Data is required."))?;
    let binding = new_binding(&request)?;
    clusters::check(&proxy, &c)?;
    create_bindings(&proxy, &caller, std::slice::from_ref(&binding)).await?;
    let location = format!("{}{}", links.url(&[&c, "acls"]), binding_query(&binding));
    Ok((StatusCode::CREATED, [(header::LOCATION, location)]).into_response())
}

async fn create_batch(
    State(proxy): State<Shared>,
    Path(c): Path<String>,
    caller: Caller,
    Body(body): Body<BatchRequest>,
) -> Result<Response, RestError> {
    let requests = body
        .and_then(|b| b.data)
        .ok_or_else(|| invalid_payload("Null input provided. Data is required."))?;
    let bindings = requests
        .iter()
        .map(new_binding)
        .collect::<Result<Vec<_>, _>>()?;
    clusters::check(&proxy, &c)?;
    create_bindings(&proxy, &caller, &bindings).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete(
    State(proxy): State<Shared>,
    Path(c): Path<String>,
    caller: Caller,
    links: Links,
    Query(params): Params,
) -> Result<Response, RestError> {
    let f = filter(&params, true)?;
    clusters::check(&proxy, &c)?;
    let request = DeleteAclsRequest::default().with_filters(vec![DeleteAclsFilter::default()
        .with_resource_type_filter(codes::resource_type_code(f.resource_type))
        .with_resource_name_filter(f.resource_name.as_deref().map(str_bytes))
        .with_pattern_type_filter(codes::pattern_type_code(f.pattern_type))
        .with_principal_filter(f.principal.as_deref().map(str_bytes))
        .with_host_filter(f.host.as_deref().map(str_bytes))
        .with_operation(codes::operation_code(f.operation))
        .with_permission_type(codes::permission_code(f.permission))]);
    let response = proxy.send(&caller, request).await?;
    let mut deleted = Vec::new();
    for result in &response.filter_results {
        check(
            result.error_code,
            result.error_message.as_ref(),
            ALTER_DISABLED,
        )?;
        for acl in &result.matching_acls {
            check(acl.error_code, acl.error_message.as_ref(), ALTER_DISABLED)?;
            deleted.extend(binding(
                acl.resource_type,
                acl.resource_name.as_str(),
                acl.pattern_type,
                acl.principal.as_str(),
                acl.host.as_str(),
                acl.operation,
                acl.permission_type,
            ));
        }
    }
    deleted.sort();
    let data: Vec<Value> = deleted.iter().map(|b| acl_data(&links, &c, b)).collect();
    Ok(ok(json!({ "data": data })))
}

#[cfg(test)]
#[path = "acls_tests.rs"]
mod tests;
