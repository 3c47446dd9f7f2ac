//! `/subjects/...`: listing, registering, looking up and deleting
//! subjects and their versions.

use axum::extract::{Extension, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::authz::Access;
use super::body::{flag, reply, Params, SchemaRequest, SrJson};
use super::errors::ApiResult;
use super::render::{formatted, schema_fields, version_json};
use super::{Shared, CONTENT_TYPE};
use crate::registry::VersionSpec;

pub(super) async fn list_subjects(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    p: Params,
) -> Response {
    let prefix = p.get("subjectPrefix").map_or("", String::as_str);
    let mut subjects = s
        .read()
        .subjects(prefix, flag(&p, "deleted"), flag(&p, "deletedOnly"));
    subjects.retain(|subject| access.reads(subject));
    reply(json!(subjects))
}

pub(super) async fn lookup(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    p: Params,
    SrJson(body): SrJson<SchemaRequest>,
) -> ApiResult {
    let new = body.into_new(flag(&p, "normalize"))?;
    let found = s.read().lookup(&subject, &new, flag(&p, "deleted"))?;
    let text = found.schema.text.clone();
    Ok(reply(version_json(&found, text)))
}

pub(super) async fn list_versions(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    p: Params,
) -> ApiResult {
    let deleted = flag(&p, "deleted") || flag(&p, "deletedOnly");
    let registry = s.read();
    let mut versions = registry.versions(&subject, deleted)?;
    if flag(&p, "deletedOnly") {
        let live = registry.versions(&subject, false).unwrap_or_default();
        versions.retain(|v| !live.contains(v));
    }
    Ok(reply(json!(versions)))
}

/// Confluent answers `{"id": N}`, and its `RegisterSchemaResponse` fields
/// (version, type, references, metadata, rules, schema) when the registered
/// schema has metadata or rules, which may come from the previous version
/// or the config rather than the request.
pub(super) async fn register(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    p: Params,
    SrJson(body): SrJson<SchemaRequest>,
) -> ApiResult {
    let new = body.into_new(flag(&p, "normalize"))?;
    let id = s.write(true, |r| r.plan_register(&subject, &new)).await?;
    let registry = s.read();
    let schema = registry.schema(id)?;
    let mut out = serde_json::Map::new();
    out.insert("id".into(), json!(id));
    if schema.metadata.is_some() || schema.rule_set.is_some() {
        if let Some(version) = registry.version_with_id(&subject, id, false) {
            out.insert("version".into(), json!(version));
        }
        schema_fields(&mut out, schema, schema.text.clone());
    }
    Ok(reply(Value::Object(out)))
}

pub(super) async fn get_version(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    p: Params,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    let registry = s.read();
    let found = registry.version(&subject, spec, flag(&p, "deleted"))?;
    let text = formatted(&registry, &found.schema, &p)?;
    Ok(reply(version_json(&found, text)))
}

pub(super) async fn raw_version_schema(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    p: Params,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    let registry = s.read();
    let found = registry.version(&subject, spec, flag(&p, "deleted"))?;
    let text = formatted(&registry, &found.schema, &p)?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

/// `GET /subjects/{s}/metadata?key=k&value=v...`: the latest version whose
/// metadata properties hold every pair (40401 without the subject, 40403
/// without such a version), as Confluent's `getLatestWithMetadata`.
pub(super) async fn latest_with_metadata(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult {
    let keys = pairs.iter().filter(|(k, _)| k == "key").map(|(_, v)| v);
    let values = pairs.iter().filter(|(k, _)| k == "value").map(|(_, v)| v);
    let wanted: Vec<(&String, &String)> = keys.zip(values).collect();
    let deleted = pairs
        .iter()
        .any(|(k, v)| k == "deleted" && v.eq_ignore_ascii_case("true"));
    let p: Params = Query(
        pairs
            .iter()
            .filter(|(k, _)| k == "format")
            .cloned()
            .collect(),
    );
    let registry = s.read();
    let found = registry.latest_with_metadata(&subject, &wanted, deleted)?;
    let text = formatted(&registry, &found.schema, &p)?;
    Ok(reply(version_json(&found, text)))
}

pub(super) async fn referenced_by(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    let registry = s.read();
    let found = registry.version(&subject, spec, true)?;
    Ok(reply(
        json!(registry.referenced_by(&subject, found.version)),
    ))
}

pub(super) async fn delete_subject(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    p: Params,
) -> ApiResult {
    let permanent = flag(&p, "permanent");
    let versions = s
        .write(false, |r| r.plan_delete_subject(&subject, permanent))
        .await?;
    Ok(reply(json!(versions)))
}

pub(super) async fn delete_version(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    p: Params,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    let permanent = flag(&p, "permanent");
    let version = s
        .write(false, |r| r.plan_delete_version(&subject, spec, permanent))
        .await?;
    Ok(reply(json!(version)))
}
