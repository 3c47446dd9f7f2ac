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
//! fails, so the state never runs ahead of or behind the log.//!
//! Rooms: [`state`] (the registry, its log and the write turn), [`body`]
//! (extractors and answer bodies), [`errors`] (the one error table),
//! [`render`] (schemas in answers), and the handlers by resource:
//! [`schemas`], [`subjects`], [`compatibility`], [`config`] (config and
//! mode); [`authz`] authorizes every route and [`alias`] rewrites aliased
//! subjects before routing.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

mod alias;
mod authz;
mod body;
mod compatibility;
mod config;
mod errors;
mod render;
mod schemas;
mod state;
mod subjects;

pub use body::SrJson;
pub use errors::ApiError;
pub use state::{BoxFuture, SchemaLog, SchemaLogError, SchemaRegistry, WriteLimits};

use body::reply;
use compatibility::{compatibility_all, compatibility_one};
use config::{
    delete_global_config, delete_subject_config, delete_subject_mode, global_config, global_mode,
    put_global_config, put_global_mode, put_subject_config, put_subject_mode, subject_config,
    subject_mode,
};
use schemas::{
    list_schemas, raw_schema_by_id, schema_by_id, schema_types, subjects_by_id, versions_by_id,
};
use subjects::{
    delete_subject, delete_version, get_version, latest_with_metadata, list_subjects,
    list_versions, lookup, raw_version_schema, referenced_by, register,
};

/// The content type of every answer.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// The largest request body read: above [`WriteLimits::max_record_bytes`],
/// so that an oversized schema is answered 42209 rather than cut off.
const MAX_BODY_BYTES: usize = 16 << 20;

/// The state every handler gets.
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
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
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

/// `GET /v1/metadata/id`: the Kafka cluster the registry belongs to.
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
