//! `/config` and `/mode`: Confluent's `ConfigResource` and `ModeResource`.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::{flag, reply, Params, SrJson};
use super::errors::ApiResult;
use super::Shared;
use crate::records::{Metadata, RuleSet};
use crate::registry::{Config, ConfigUpdate};

/// A `PUT /config` body (Confluent's `ConfigUpdateRequest`): the fields
/// given replace the stored ones (`alias`, `normalize`, `validateFields`
/// and `compatibilityGroup` given as `null` clear theirs).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConfigRequest {
    #[serde(default, alias = "compatibilityLevel")]
    compatibility: Option<String>,
    #[serde(default)]
    default_metadata: Option<Metadata>,
    #[serde(default)]
    override_metadata: Option<Metadata>,
    #[serde(default)]
    default_rule_set: Option<RuleSet>,
    #[serde(default)]
    override_rule_set: Option<RuleSet>,
    #[serde(default, deserialize_with = "present")]
    alias: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    normalize: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    validate_fields: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    compatibility_group: Option<Option<String>>,
}

/// A field that is present (`Some`), possibly as `null` (`Some(None)`);
/// `#[serde(default)]` makes an absent one `None`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
pub(super) struct ModeRequest {
    #[serde(default)]
    mode: Option<String>,
}

/// A config as Confluent writes it: `level_key` is `compatibilityLevel` in
/// GET answers and `compatibility` in PUT answers.
fn config_json(config: &Config, level_key: &str) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(level) = config.compatibility {
        out.insert(level_key.into(), json!(level.as_str()));
    }
    let contracts = [
        (
            "defaultMetadata",
            config.default_metadata.as_ref().map(|m| json!(m)),
        ),
        (
            "overrideMetadata",
            config.override_metadata.as_ref().map(|m| json!(m)),
        ),
        (
            "defaultRuleSet",
            config.default_rule_set.as_ref().map(|r| json!(r)),
        ),
        (
            "overrideRuleSet",
            config.override_rule_set.as_ref().map(|r| json!(r)),
        ),
    ];
    let options = [
        ("alias", config.alias.as_ref().map(|a| json!(a))),
        ("normalize", config.normalize.map(|n| json!(n))),
        ("validateFields", config.validate_fields.map(|v| json!(v))),
        (
            "compatibilityGroup",
            config.compatibility_group.as_ref().map(|g| json!(g)),
        ),
    ];
    for (key, value) in contracts.into_iter().chain(options) {
        if let Some(value) = value {
            out.insert(key.into(), value);
        }
    }
    Value::Object(out)
}

pub(super) async fn global_config(State(s): State<Shared>) -> ApiResult {
    let config = s.read().config(None, false)?;
    Ok(reply(config_json(&config, "compatibilityLevel")))
}

pub(super) async fn subject_config(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    p: Params,
) -> ApiResult {
    let config = s
        .read()
        .config(Some(&subject), flag(&p, "defaultToGlobal"))?;
    Ok(reply(config_json(&config, "compatibilityLevel")))
}

async fn put_config(s: Shared, subject: Option<String>, body: ConfigRequest) -> ApiResult {
    let update = ConfigUpdate {
        compatibility: body.compatibility,
        default_metadata: body.default_metadata,
        override_metadata: body.override_metadata,
        default_rule_set: body.default_rule_set,
        override_rule_set: body.override_rule_set,
        alias: body.alias,
        normalize: body.normalize,
        validate_fields: body.validate_fields,
        compatibility_group: body.compatibility_group,
    };
    let config = s
        .write(false, |r| r.plan_config_update(subject.as_deref(), &update))
        .await?;
    Ok(reply(config_json(&config, "compatibility")))
}

pub(super) async fn put_global_config(
    State(s): State<Shared>,
    SrJson(body): SrJson<ConfigRequest>,
) -> ApiResult {
    put_config(s, None, body).await
}

pub(super) async fn put_subject_config(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    SrJson(body): SrJson<ConfigRequest>,
) -> ApiResult {
    put_config(s, Some(subject), body).await
}

pub(super) async fn delete_global_config(State(s): State<Shared>) -> ApiResult {
    let before = s.write(false, |r| r.plan_config(None, None)).await?;
    Ok(reply(json!({"compatibilityLevel": before.as_str()})))
}

pub(super) async fn delete_subject_config(
    State(s): State<Shared>,
    Path(subject): Path<String>,
) -> ApiResult {
    let before = s
        .write(false, |r| r.plan_config(Some(&subject), None))
        .await?;
    Ok(reply(json!({"compatibilityLevel": before.as_str()})))
}

pub(super) async fn global_mode(State(s): State<Shared>) -> Response {
    reply(json!({"mode": s.read().global_mode().as_str()}))
}

pub(super) async fn subject_mode(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    p: Params,
) -> ApiResult {
    let mode = s
        .read()
        .subject_mode(&subject, flag(&p, "defaultToGlobal"))?;
    Ok(reply(json!({"mode": mode.as_str()})))
}

async fn put_mode(s: Shared, subject: Option<String>, p: &Params, body: ModeRequest) -> ApiResult {
    let mode = body.mode.unwrap_or_default();
    let force = flag(p, "force");
    let mode = s
        .write(false, |r| {
            r.plan_mode(subject.as_deref(), Some(&mode), force)
        })
        .await?;
    Ok(reply(json!({"mode": mode.as_str()})))
}

pub(super) async fn put_global_mode(
    State(s): State<Shared>,
    p: Params,
    SrJson(body): SrJson<ModeRequest>,
) -> ApiResult {
    put_mode(s, None, &p, body).await
}

pub(super) async fn put_subject_mode(
    State(s): State<Shared>,
    Path(subject): Path<String>,
    p: Params,
    SrJson(body): SrJson<ModeRequest>,
) -> ApiResult {
    put_mode(s, Some(subject), &p, body).await
}

pub(super) async fn delete_subject_mode(
    State(s): State<Shared>,
    Path(subject): Path<String>,
) -> ApiResult {
    let before = s
        .write(false, |r| r.plan_mode(Some(&subject), None, false))
        .await?;
    Ok(reply(json!({"mode": before.as_str()})))
}
