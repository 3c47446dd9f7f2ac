//! The Schema Registry's HTTP API, Confluent's paths and bodies.
//!
//! Reads answer from the in-memory [`Registry`] under a read lock. A write
//! is planned against the state, appended through the [`SchemaLog`] the
//! broker provides (which returns once the records are durable), applied to
//! the state, and only then answered. Writes are serialized, so each plan is
//! applied to the state it was made against and log order is state order.
//!
//! Hot paths, because serializers call them on every cache miss:
//! `GET /schemas/ids/{id}` answers a body rendered once per state
//! ([`Registry::cached_json`]); registering or looking up a schema the
//! registry already holds plans under the read lock (no write turn, no
//! parse: [`Registry::plan_register`] finds the text's canonical form among
//! the stored ones) and appends nothing.
//!
//! A write the store does not confirm within [`WriteLimits::store_timeout`]
//! is answered 50002 but keeps its turn until it lands (and is applied) or
//! fails, so the state never runs ahead of or behind the log.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{
    DefaultBodyLimit, Extension, FromRequest, MatchedPath, Path, Query, Request, State,
};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::records::{LogRecord, Metadata, RuleSet, SchemaReference};
use crate::registry::{
    NewSchema, Planned, Registry, RegistryError, Schema, SubjectVersion, VersionSpec,
};
use crate::schema::{FormatName, SchemaFormat};
use crate::SchemaType;

mod alias;
mod authz;
mod config;

use authz::Access;

use config::{
    delete_global_config, delete_subject_config, delete_subject_mode, global_config, global_mode,
    put_global_config, put_global_mode, put_subject_config, put_subject_mode, subject_config,
    subject_mode,
};

/// The content type of every answer.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A boxed future, so that [`SchemaLog`] is object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where registry writes go: the broker's `_schemas` topic.
pub trait SchemaLog: Send + Sync + 'static {
    /// Appends the records in order and resolves once they are durable.
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), String>>;
}

/// Limits on registry writes.
#[derive(Debug, Clone, Copy)]
pub struct WriteLimits {
    /// How long a write waits for the store before answering 50002
    /// (Confluent's `kafkastore.timeout.ms`, 500 ms there; longer here
    /// because a write waits for an fsync).
    pub store_timeout: Duration,
    /// The largest record (key and value) a write appends; a larger schema
    /// is 42209, as a record over the producer's `max.request.size` is in
    /// Confluent.
    pub max_record_bytes: usize,
}

impl Default for WriteLimits {
    fn default() -> Self {
        WriteLimits {
            store_timeout: Duration::from_secs(10),
            max_record_bytes: 1 << 20,
        }
    }
}

/// The largest request body read: above [`WriteLimits::max_record_bytes`],
/// so that an oversized schema is answered 42209 rather than cut off.
const MAX_BODY_BYTES: usize = 16 << 20;

/// The router's state: the registry and its log.
pub struct SchemaRegistry {
    registry: RwLock<Registry>,
    writes: Arc<tokio::sync::Mutex<()>>,
    log: Arc<dyn SchemaLog>,
    kafka_cluster_id: String,
    limits: WriteLimits,
}

impl SchemaRegistry {
    /// A registry (usually rebuilt from the log) writing to `log`.
    pub fn new(
        registry: Registry,
        log: Arc<dyn SchemaLog>,
        kafka_cluster_id: impl Into<String>,
    ) -> Arc<Self> {
        Self::with_limits(registry, log, kafka_cluster_id, WriteLimits::default())
    }

    /// [`SchemaRegistry::new`] with other [`WriteLimits`].
    pub fn with_limits(
        registry: Registry,
        log: Arc<dyn SchemaLog>,
        kafka_cluster_id: impl Into<String>,
        limits: WriteLimits,
    ) -> Arc<Self> {
        Arc::new(SchemaRegistry {
            registry: RwLock::new(registry),
            writes: Arc::new(tokio::sync::Mutex::new(())),
            log,
            kafka_cluster_id: kafka_cluster_id.into(),
            limits,
        })
    }

    /// The current state, for readers such as broker-side validation.
    pub fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `schema` under `subject` (or finds it there) and returns
    /// its id, exactly as `POST /subjects/{subject}/versions` does: a schema
    /// the subject already holds answers at once without a write; a new one
    /// is checked for compatibility, appended to the log and applied. For
    /// in-process callers such as the REST Proxy's schema formats.
    pub async fn register(
        self: &Arc<Self>,
        subject: &str,
        schema: NewSchema,
    ) -> Result<u32, RegistryError> {
        self.write(true, |r| r.plan_register(subject, &schema))
            .await
    }

    /// Plans with `plan` on the current state, appends the records, applies
    /// them once durable and answers. A plan with no records answers at
    /// once; with `fast`, such a plan is first tried without waiting for the
    /// write turn (for writes that usually change nothing).
    async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        fast: bool,
        plan: impl Fn(&Registry) -> Result<Planned<T>, RegistryError>,
    ) -> Result<T, RegistryError> {
        if fast {
            let planned = plan(&self.read())?;
            if planned.records.is_empty() {
                return Ok(planned.answer);
            }
        }
        let turn = self.writes.clone().lock_owned().await;
        let planned = plan(&self.read())?;
        if planned.records.is_empty() {
            return Ok(planned.answer);
        }
        let too_large = planned
            .records
            .iter()
            .any(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) > self.limits.max_record_bytes);
        if too_large {
            return Err(RegistryError::SchemaTooLarge);
        }
        let this = self.clone();
        let append = tokio::spawn(async move {
            let _turn = turn;
            this.log
                .append(planned.records.clone())
                .await
                .map_err(RegistryError::Store)?;
            let mut registry = this.registry.write().unwrap_or_else(|e| e.into_inner());
            for (key, value) in &planned.records {
                registry
                    .apply(key, value.as_deref())
                    .map_err(RegistryError::Store)?;
            }
            Ok(planned.answer)
        });
        match tokio::time::timeout(self.limits.store_timeout, append).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(panicked)) => Err(RegistryError::Store(panicked.to_string())),
            Err(_) => Err(RegistryError::Timeout(format!(
                "the store to confirm within {:?}",
                self.limits.store_timeout
            ))),
        }
    }
}

type Shared = Arc<SchemaRegistry>;

/// The Schema Registry's routes, behind the alias rewrite (which must see
/// the request before routing picks the path's subject). Every route is
/// authorized with `authorizer` (see [`authz`]) for the caller named by the
/// request's `Identity` extension.
pub fn router(
    state: Arc<SchemaRegistry>,
    authorizer: Arc<dyn strata_governance::Authorizer>,
) -> Router {
    audited_router(
        state,
        authorizer,
        Arc::new(strata_governance::audit::NoAudit),
    )
}

/// [`router`], recording denials and changes in `audit` (see [`authz`]).
pub fn audited_router(
    state: Arc<SchemaRegistry>,
    authorizer: Arc<dyn strata_governance::Authorizer>,
    audit: Arc<dyn strata_governance::audit::AuditSink>,
) -> Router {
    Router::new()
        .fallback_service(routes(state.clone(), authorizer, audit))
        .layer(axum::middleware::map_request_with_state(
            state,
            alias::rewrite,
        ))
}

fn routes(
    state: Arc<SchemaRegistry>,
    authorizer: Arc<dyn strata_governance::Authorizer>,
    audit: Arc<dyn strata_governance::audit::AuditSink>,
) -> Router {
    let guard = authz::Guard {
        registry: state.clone(),
        authorizer,
        audit,
    };
    Router::new()
        .route("/", get(|| async { reply(json!({})) }))
        .route("/schemas", get(list_schemas))
        .route("/schemas/types", get(schema_types))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/schema", get(raw_schema_by_id))
        .route("/schemas/ids/{id}/subjects", get(subjects_by_id))
        .route("/schemas/ids/{id}/versions", get(versions_by_id))
        .route("/subjects", get(list_subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route(
            "/subjects/{subject}/versions",
            get(list_versions).post(register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(get_version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(raw_version_schema),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(referenced_by),
        )
        .route("/subjects/{subject}/metadata", get(latest_with_metadata))
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compatibility_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compatibility_one),
        )
        .route(
            "/config",
            get(global_config)
                .put(put_global_config)
                .delete(delete_global_config),
        )
        .route(
            "/config/{subject}",
            get(subject_config)
                .put(put_subject_config)
                .delete(delete_subject_config),
        )
        .route("/mode", get(global_mode).put(put_global_mode))
        .route(
            "/mode/{subject}",
            get(subject_mode)
                .put(put_subject_mode)
                .delete(delete_subject_mode),
        )
        .route("/contexts", get(|| async { reply(json!(["."])) }))
        .route("/v1/metadata/id", get(metadata_id))
        .route_layer(axum::middleware::from_fn_with_state(guard, authz::guard))
        .route_layer(axum::middleware::from_fn(expose_matched_path))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, 404, "HTTP 404 Not Found") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                405,
                "HTTP 405 Method Not Allowed",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Copies the matched route template into the response's extensions: the
/// routes sit behind a `fallback_service` (for the alias rewrite), so a layer
/// around [`router`] (the broker's per-route HTTP metrics) cannot see the
/// request's `MatchedPath` otherwise.
async fn expose_matched_path(request: Request, next: axum::middleware::Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(matched);
    }
    response
}

// ----- errors, bodies and parameters -----

/// An error answer: `{"error_code": N, "message": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: u32,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        let (status, code) = e.status_and_code();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, code, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = reply(json!({"error_code": self.code, "message": self.message}));
        *response.status_mut() = self.status;
        response
    }
}

type ApiResult = Result<Response, ApiError>;

fn reply_bytes(body: Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response()
}

fn reply(body: Value) -> Response {
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// The one JSON body extractor: Confluent's content types, unknown fields
/// accepted, and failures answered with the registry's error body.
pub struct SrJson<T>(pub T);

const ACCEPTED_TYPES: [&str; 4] = [
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
];

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for SrJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
            let media = content_type
                .to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if !ACCEPTED_TYPES.contains(&media.as_str()) {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    415,
                    "HTTP 415 Unsupported Media Type",
                ));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                400,
                format!("unreadable body: {e}"),
            )
        })?;
        serde_json::from_slice(&bytes).map(SrJson).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, 422, e.to_string())
                }
                _ => ApiError::new(StatusCode::BAD_REQUEST, 400, e.to_string()),
            }
        })
    }
}

type Params = Query<HashMap<String, String>>;

fn flag(params: &Params, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn parse_id(id: &str) -> Result<u32, ApiError> {
    id.parse::<u32>()
        .map_err(|_| RegistryError::SchemaNotFound(format!("Schema {id} not found")).into())
}

fn schema_fields(out: &mut serde_json::Map<String, Value>, schema: &Schema, text: String) {
    if schema.schema_type != SchemaType::Avro {
        out.insert("schemaType".into(), json!(schema.schema_type.as_str()));
    }
    if !schema.references.is_empty() {
        out.insert("references".into(), json!(schema.references));
    }
    if let Some(metadata) = &schema.metadata {
        out.insert("metadata".into(), json!(metadata));
    }
    if let Some(rule_set) = &schema.rule_set {
        out.insert("ruleSet".into(), json!(rule_set));
    }
    out.insert("schema".into(), Value::String(text));
}

fn version_json(v: &SubjectVersion, text: String) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("subject".into(), json!(v.subject));
    out.insert("version".into(), json!(v.version));
    out.insert("id".into(), json!(v.schema.id));
    schema_fields(&mut out, &v.schema, text);
    Value::Object(out)
}

/// The `format` query parameter: absent or empty is the text as stored; a
/// name the schema's type does not know is the default form, as Confluent's
/// `formattedString` answers it ("for forward compatibility of formats");
/// a format Confluent renders and this registry does not (PROTOBUF
/// `ignore_extensions`) is 400 rather than a form it did not ask for.
fn formatted(registry: &Registry, schema: &Schema, p: &Params) -> Result<String, ApiError> {
    let name = match p.get("format").map(|f| f.trim()) {
        None | Some("") => return Ok(schema.text.clone()),
        Some(name) => name,
    };
    let format = match SchemaFormat::for_type(schema.schema_type, name) {
        FormatName::Rendered(format) => format,
        FormatName::Unknown => SchemaFormat::Default,
        FormatName::NotRendered => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                400,
                format!(
                    "Unsupported format '{name}' for {} schemas (supported: {})",
                    schema.schema_type,
                    SchemaFormat::names(schema.schema_type)
                ),
            ))
        }
    };
    let parsed = registry.parse(schema.schema_type, &schema.text, &schema.references)?;
    Ok(parsed.formatted(format))
}

/// A schema in a request body. `metadata` and `ruleSet` are Confluent's
/// entities (`null` reads as absent); other fields are accepted and unused.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaRequest {
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Option<Vec<SchemaReference>>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    rule_set: Option<RuleSet>,
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    version: Option<i64>,
}

impl SchemaRequest {
    fn into_new(self, normalize: bool) -> Result<NewSchema, ApiError> {
        let text = self
            .schema
            .ok_or_else(|| RegistryError::InvalidSchema("Empty schema".into()))?;
        let schema_type = SchemaType::from_optional(self.schema_type.as_deref())
            .map_err(|e| RegistryError::InvalidSchema(e.to_string()))?;
        let id = match self.id {
            None => None,
            Some(id) if id < 0 => None,
            Some(id) => Some(
                u32::try_from(id)
                    .map_err(|_| RegistryError::InvalidSchema(format!("Invalid schema id {id}")))?,
            ),
        };
        let version = match self.version {
            None => None,
            Some(v) if v <= 0 => None,
            Some(v) => {
                Some(i32::try_from(v).map_err(|_| RegistryError::InvalidVersion(v.to_string()))?)
            }
        };
        Ok(NewSchema {
            schema_type,
            text,
            references: self.references.unwrap_or_default(),
            id,
            version,
            metadata: self.metadata,
            rule_set: self.rule_set,
            normalize,
        })
    }
}

// ----- schemas -----

async fn schema_types() -> Response {
    reply(json!(SchemaType::ALL.map(SchemaType::as_str)))
}

async fn list_schemas(
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
fn subject_param(p: &Params) -> Result<Option<&str>, ()> {
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
fn version_under(
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

fn schema_by_id_json(schema: &Schema) -> Bytes {
    let mut out = serde_json::Map::new();
    schema_fields(&mut out, schema, schema.text.clone());
    Bytes::from(Value::Object(out).to_string())
}

/// `GET /schemas/ids/{id}` with `subject` (40403 unless the id is
/// registered under it; the answer then names the subject and version, as
/// Confluent 8 does), `format` and `fetchMaxId` (adds `maxId`).
async fn schema_by_id(State(s): State<Shared>, Path(id): Path<String>, p: Params) -> ApiResult {
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

async fn raw_schema_by_id(State(s): State<Shared>, Path(id): Path<String>, p: Params) -> ApiResult {
    let id = parse_id(&id)?;
    let registry = s.read();
    let schema = registry.schema(id)?;
    version_under(&registry, id, subject_param(&p))?;
    let text = formatted(&registry, schema, &p)?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

async fn subjects_by_id(
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

async fn versions_by_id(
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

// ----- subjects -----

async fn list_subjects(
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

async fn lookup(
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

async fn list_versions(
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
async fn register(
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

async fn get_version(
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

async fn raw_version_schema(
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
async fn latest_with_metadata(
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

async fn referenced_by(
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

async fn delete_subject(
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

async fn delete_version(
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

// ----- compatibility -----

async fn compatibility(
    s: Shared,
    subject: &str,
    version: Option<VersionSpec>,
    p: &Params,
    body: SchemaRequest,
) -> ApiResult {
    let verbose = flag(p, "verbose");
    let new = body.into_new(flag(p, "normalize"))?;
    // With `verbose`, a schema that does not parse is an answer, not an
    // error (Confluent's `CompatibilityResource`).
    let messages = match s.read().check_compatibility(subject, version, &new) {
        Err(RegistryError::InvalidSchema(message)) if verbose => vec![message],
        checked => checked?,
    };
    let mut out = json!({"is_compatible": messages.is_empty()});
    if verbose {
        out["messages"] = json!(messages);
    }
    Ok(reply(out))
}

async fn compatibility_all(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    p: Params,
    SrJson(body): SrJson<SchemaRequest>,
) -> ApiResult {
    compatibility(s, &subject, None, &p, body).await
}

async fn compatibility_one(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    p: Params,
    SrJson(body): SrJson<SchemaRequest>,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    compatibility(s, &subject, Some(spec), &p, body).await
}

async fn metadata_id(State(s): State<Shared>) -> Response {
    reply(json!({
        "scope": {
            "path": [],
            "clusters": {
                "kafka-cluster": s.kafka_cluster_id,
                "schema-registry-cluster": "schema-registry",
            }
        }
    }))
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "http_confluent_tests.rs"]
mod confluent_tests;
