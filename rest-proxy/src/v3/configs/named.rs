//! The five config routes a named resource has, topics and brokers alike:
//! list, get, `PUT`, `DELETE` and `configs:alter` under
//! `/v3/clusters/{c}/<kind>/{id}/configs`. They differ only in how the path's
//! `{id}` becomes a [`Scope`], which [`NamedScope`] says; `topic.rs` and
//! `broker.rs` route these handlers with their own kind.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::{
    alter, batch_commands, delete_command, get_one, list, set_command, AlterBatch, Scope, Update,
};
use crate::backend::Caller;
use crate::error::RestError;
use crate::v3::body::Body;
use crate::v3::links::Links;
use crate::Shared;

/// A kind of resource whose configs are addressed by a name in the path.
pub(super) trait NamedScope: Send + Sync + 'static {
    /// The scope `id` names; an error answer when `id` is not one (a
    /// broker id that is not a number).
    fn scope(id: String) -> Result<Scope, RestError>;
}

/// The config routes under `resource` (a path ending in the resource's
/// `{id}` parameter).
pub(super) fn routes<K: NamedScope>(resource: &str) -> Router<Shared> {
    Router::new()
        .route(&format!("{resource}/configs"), get(list_configs::<K>))
        .route(
            &format!("{resource}/configs/{{name}}"),
            get(get_config::<K>)
                .put(put_config::<K>)
                .delete(delete_config::<K>),
        )
        .route(
            &format!("{resource}/configs:alter"),
            post(alter_configs::<K>),
        )
}

async fn list_configs<K: NamedScope>(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, id)): Path<(String, String)>,
) -> Result<Response, RestError> {
    list(proxy, caller, links, c, K::scope(id)?).await
}

async fn get_config<K: NamedScope>(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, id, name)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    get_one(proxy, caller, links, c, K::scope(id)?, name).await
}

async fn put_config<K: NamedScope>(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, id, name)): Path<(String, String, String)>,
    Body(body): Body<Update>,
) -> Result<Response, RestError> {
    let scope = K::scope(id)?;
    let commands = set_command(name, body)?;
    alter(&proxy, &caller, &c, &scope, commands, false).await
}

async fn delete_config<K: NamedScope>(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, id, name)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let scope = K::scope(id)?;
    alter(&proxy, &caller, &c, &scope, delete_command(name), false).await
}

async fn alter_configs<K: NamedScope>(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, id)): Path<(String, String)>,
    Body(body): Body<AlterBatch>,
) -> Result<Response, RestError> {
    let scope = K::scope(id)?;
    let (commands, validate_only) = batch_commands(body)?;
    alter(&proxy, &caller, &c, &scope, commands, validate_only).await
}
