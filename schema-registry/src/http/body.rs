//! Request bodies and parameters, and the registry's answer bodies: every
//! answer carries Confluent's content type, and every JSON body is read by
//! one extractor ([`SrJson`]) so that failures answer with the registry's
//! error body.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::errors::ApiError;
use super::CONTENT_TYPE;
use crate::records::{Metadata, RuleSet, SchemaReference};
use crate::registry::{NewSchema, RegistryError};
use crate::SchemaType;

pub(super) fn reply_bytes(body: Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response()
}

pub(super) fn reply(body: Value) -> Response {
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
                return Err(ApiError::UnsupportedMediaType);
            }
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("unreadable body: {e}")))?;
        serde_json::from_slice(&bytes).map(SrJson).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => ApiError::UnprocessableBody(e.to_string()),
                _ => ApiError::BadRequest(e.to_string()),
            }
        })
    }
}

pub(super) type Params = Query<HashMap<String, String>>;

pub(super) fn flag(params: &Params, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

pub(super) fn parse_id(id: &str) -> Result<u32, ApiError> {
    id.parse::<u32>()
        .map_err(|_| RegistryError::SchemaNotFound(format!("Schema {id} not found")).into())
}

/// A schema in a request body. `metadata` and `ruleSet` are Confluent's
/// entities (`null` reads as absent); other fields are accepted and unused.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SchemaRequest {
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
    pub(super) fn into_new(self, normalize: bool) -> Result<NewSchema, ApiError> {
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
