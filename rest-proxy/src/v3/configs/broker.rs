//! A broker's configs (`/brokers/{b}/configs...`) and every broker's
//! (`/brokers/-/configs`).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::named::{self, NamedScope};
use super::{config_data, Scope};
use crate::backend::Caller;
use crate::error::RestError;
use crate::v3::brokers::parse_id;
use crate::v3::clusters;
use crate::v3::kafka::{self, RESOURCE_BROKER};
use crate::v3::links::{ok, Links};
use crate::Shared;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v3/clusters/{cluster_id}/brokers/-/configs",
            get(all_broker_configs),
        )
        .merge(named::routes::<BrokerScope>(
            "/v3/clusters/{cluster_id}/brokers/{broker_id}",
        ))
}

/// A broker's configs: `{broker_id}` must be a number.
struct BrokerScope;

impl NamedScope for BrokerScope {
    fn scope(id: String) -> Result<Scope, RestError> {
        Ok(Scope::Broker(parse_id(&id)?))
    }
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
