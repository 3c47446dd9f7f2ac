//! `/compatibility/...`: checks a schema against a subject's versions
//! without registering it.

use axum::extract::{Path, State};
use serde_json::json;

use super::body::{flag, reply, Params, SchemaRequest, SrJson};
use super::errors::ApiResult;
use super::Shared;
use crate::registry::{RegistryError, VersionSpec};

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

pub(super) async fn compatibility_all(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    p: Params,
    SrJson(body): SrJson<SchemaRequest>,
) -> ApiResult {
    compatibility(s, &subject, None, &p, body).await
}

pub(super) async fn compatibility_one(
    State(s): State<Shared>,
    Path((subject, version)): Path<(String, String)>,
    p: Params,
    SrJson(body): SrJson<SchemaRequest>,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    compatibility(s, &subject, Some(spec), &p, body).await
}
