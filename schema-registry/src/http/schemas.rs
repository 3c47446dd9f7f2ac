//! `/schemas/...`: schemas by id, and the subjects and versions using them.

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::authz::Access;
use super::body::{flag, parse_id, reply, reply_bytes, Params};
use super::errors::{ApiError, ApiResult};
use super::render::{formatted, schema_fields, version_json};
use super::{Shared, CONTENT_TYPE};
use crate::registry::{Registry, RegistryError, Schema};
use crate::SchemaType;

pub(super) async fn schema_types() -> Response {
    reply(json!(SchemaType::ALL.map(SchemaType::as_str)))
}

pub(super) async fn list_schemas(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    params: Params,
) -> Response {
    let prefix = params.get("subjectPrefix").map_or("", String::as_str);
    let latest_only = flag(&params, "latestOnly");
    let all = s.read().all_versions(flag(&params, "deleted"));
    let mut out: Vec<Value> = Vec::new();
    for (i, v) in all.iter().enumerate() {
        if !v.subject.starts_with(prefix) || !access.reads(&v.subject) {
            continue;
        }
        if latest_only && all.get(i + 1).is_some_and(|n| n.subject == v.subject) {
            continue;
        }
        out.push(version_json(v, v.schema.text.clone()));
    }
    reply(Value::Array(out))
}

/// A `subject` query parameter in the default context (`s` or `:.:s`);
/// `Some("")` names the whole context. `Err` for another context, which
/// holds nothing here.
pub(super) fn subject_param(p: &Params) -> Result<Option<&str>, ()> {
    match p.get("subject").map(String::as_str) {
        None => Ok(None),
        Some(s) => match s.strip_prefix(":.:") {
            Some(rest) => Ok(Some(rest)),
            None if s.starts_with(":.") => Err(()),
            None => Ok(Some(s)),
        },
    }
}

/// With `subject`, the version of that subject holding `id` (soft-deleted
/// ones included): Confluent looks the id up under that subject only.
pub(super) fn version_under(
    registry: &Registry,
    id: u32,
    subject: Result<Option<&str>, ()>,
) -> Result<Option<(String, i32)>, ApiError> {
    let not_found = || RegistryError::SchemaNotFound(format!("Schema {id} not found"));
    match subject {
        Err(()) => Err(not_found().into()),
        Ok(None) | Ok(Some("")) => Ok(None),
        Ok(Some(subject)) => {
            let version = registry
                .version_with_id(subject, id, true)
                .ok_or_else(not_found)?;
            Ok(Some((subject.to_owned(), version)))
        }
    }
}

pub(super) fn schema_by_id_json(schema: &Schema) -> Bytes {
    let mut out = serde_json::Map::new();
    schema_fields(&mut out, schema, schema.text.clone());
    Bytes::from(Value::Object(out).to_string())
}

/// `GET /schemas/ids/{id}` with `subject` (40403 unless the id is
/// registered under it; the answer then names the subject and version, as
/// Confluent 8 does), `format` and `fetchMaxId` (adds `maxId`).
pub(super) async fn schema_by_id(
    State(s): State<Shared>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let id = parse_id(&id)?;
    let registry = s.read();
    let plain = ["subject", "format", "fetchMaxId"]
        .iter()
        .all(|k| !p.contains_key(*k));
    if plain {
        return Ok(reply_bytes(registry.cached_json(id, schema_by_id_json)?));
    }
    let schema = registry.schema(id)?;
    let mut out = serde_json::Map::new();
    if let Some((subject, version)) = version_under(&registry, id, subject_param(&p))? {
        out.insert("subject".into(), json!(subject));
        out.insert("version".into(), json!(version));
    }
    let text = formatted(&registry, schema, &p)?;
    schema_fields(&mut out, schema, text);
    if flag(&p, "fetchMaxId") {
        out.insert("maxId".into(), json!(registry.max_id()));
    }
    Ok(reply(Value::Object(out)))
}

pub(super) async fn raw_schema_by_id(
    State(s): State<Shared>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let id = parse_id(&id)?;
    let registry = s.read();
    let schema = registry.schema(id)?;
    version_under(&registry, id, subject_param(&p))?;
    let text = formatted(&registry, schema, &p)?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

pub(super) async fn subjects_by_id(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let id = parse_id(&id)?;
    let mut subjects: Vec<String> = s
        .read()
        .subject_versions_of(id, flag(&p, "deleted"))?
        .into_iter()
        .map(|(subject, _)| subject)
        .filter(|subject| access.reads(subject))
        .collect();
    subjects.dedup();
    Ok(reply(json!(subjects)))
}

pub(super) async fn versions_by_id(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult {
    let id = parse_id(&id)?;
    let versions: Vec<Value> = s
        .read()
        .subject_versions_of(id, flag(&p, "deleted"))?
        .into_iter()
        .filter(|(subject, _)| access.reads(subject))
        .map(|(subject, version)| json!({"subject": subject, "version": version}))
        .collect();
    Ok(reply(Value::Array(versions)))
}
