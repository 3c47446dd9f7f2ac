//! A broker's configs (`/brokers/{b}/configs...`) and every broker's
//! (`/brokers/-/configs`).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::{
    alter, batch_commands, config_data, delete_command, get_one, list, set_command, AlterBatch,
    Scope, Update,
};
use crate::backend::Caller;
use crate::error::RestError;
use crate::v3::body::Body;
use crate::v3::brokers::parse_id;
use crate::v3::clusters;
use crate::v3::kafka::{self, RESOURCE_BROKER};
use crate::v3::links::{ok, Links};
use crate::Shared;

pub(super) fn routes() -> Router<Shared> {
    let broker = "/v3/clusters/{cluster_id}/brokers/{broker_id}";
    Router::new()
        .route(
            "/v3/clusters/{cluster_id}/brokers/-/configs",
            get(all_broker_configs),
        )
        .route(&format!("{broker}/configs"), get(list_broker))
        .route(
            &format!("{broker}/configs/{{name}}"),
            get(get_broker).put(put_broker).delete(delete_broker),
        )
        .route(&format!("{broker}/configs:alter"), post(alter_broker))
}

async fn list_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, b)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let b = parse_id(&b)?;
    list(proxy, caller, links, c, Scope::Broker(b)).await
}

async fn get_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, b, name)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let b = parse_id(&b)?;
    get_one(proxy, caller, links, c, Scope::Broker(b), name).await
}

async fn put_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, b, name)): Path<(String, String, String)>,
    Body(body): Body<Update>,
) -> Result<Response, RestError> {
    let b = parse_id(&b)?;
    let commands = set_command(name, body)?;
    alter(&proxy, &caller, &c, &Scope::Broker(b), commands, false).await
}

async fn delete_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, b, name)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let b = parse_id(&b)?;
    alter(
        &proxy,
        &caller,
        &c,
        &Scope::Broker(b),
        delete_command(name),
        false,
    )
    .await
}

async fn alter_broker(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, b)): Path<(String, String)>,
    Body(body): Body<AlterBatch>,
) -> Result<Response, RestError> {
    let b = parse_id(&b)?;
    let (commands, validate_only) = batch_commands(body)?;
    alter(
        &proxy,
        &caller,
        &c,
        &Scope::Broker(b),
        commands,
        validate_only,
    )
    .await
}

async fn all_broker_configs(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(c): Path<String>,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &c)?;
    let cluster = clusters::describe(&proxy, &caller).await?;
    let mut ids: Vec<String> = cluster
        .brokers
        .iter()
        .map(|b| b.broker_id.0.to_string())
        .collect();
    ids.sort();
    let resources: Vec<(i8, &str)> = ids.iter().map(|n| (RESOURCE_BROKER, n.as_str())).collect();
    let results = kafka::describe_configs(&proxy, &caller, &resources).await?;
    let mut data = Vec::new();
    for (id, result) in ids.iter().zip(results) {
        let mut configs = result?.configs;
        configs.sort_by(|a, b| a.name.cmp(&b.name));
        let scope = Scope::Broker(id.parse().unwrap_or_default());
        data.extend(configs.iter().map(|e| config_data(&links, &c, &scope, e)));
    }
    Ok(ok(links.collection(
        "KafkaBrokerConfigList",
        &[&c, "brokers", "-", "configs"],
        data,
    )))
}
