//! A topic's configs (`/topics/{t}/configs...`) and every topic's
//! (`/topics/-/configs`).

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
use crate::v3::clusters;
use crate::v3::kafka::{self, RESOURCE_TOPIC};
use crate::v3::links::{ok, Links};
use crate::Shared;

pub(super) fn routes() -> Router<Shared> {
    let topic = "/v3/clusters/{cluster_id}/topics/{topic_name}";
    Router::new()
        .route(
            "/v3/clusters/{cluster_id}/topics/-/configs",
            get(all_topic_configs),
        )
        .route(&format!("{topic}/configs"), get(list_topic))
        .route(
            &format!("{topic}/configs/{{name}}"),
            get(get_topic).put(put_topic).delete(delete_topic),
        )
        .route(&format!("{topic}/configs:alter"), post(alter_topic))
}

async fn list_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, t)): Path<(String, String)>,
) -> Result<Response, RestError> {
    list(proxy, caller, links, c, Scope::Topic(t)).await
}

async fn get_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path((c, t, name)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    get_one(proxy, caller, links, c, Scope::Topic(t), name).await
}

async fn put_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, t, name)): Path<(String, String, String)>,
    Body(body): Body<Update>,
) -> Result<Response, RestError> {
    let commands = set_command(name, body)?;
    alter(&proxy, &caller, &c, &Scope::Topic(t), commands, false).await
}

async fn delete_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, t, name)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    alter(
        &proxy,
        &caller,
        &c,
        &Scope::Topic(t),
        delete_command(name),
        false,
    )
    .await
}

async fn alter_topic(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((c, t)): Path<(String, String)>,
    Body(body): Body<AlterBatch>,
) -> Result<Response, RestError> {
    let (commands, validate_only) = batch_commands(body)?;
    alter(
        &proxy,
        &caller,
        &c,
        &Scope::Topic(t),
        commands,
        validate_only,
    )
    .await
}

async fn all_topic_configs(
    State(proxy): State<Shared>,
    caller: Caller,
    links: Links,
    Path(c): Path<String>,
) -> Result<Response, RestError> {
    clusters::check(&proxy, &c)?;
    let metadata = kafka::metadata(&proxy, &caller, None).await?;
    let names = kafka::topic_names(&metadata, false);
    let resources: Vec<(i8, &str)> = names.iter().map(|n| (RESOURCE_TOPIC, n.as_str())).collect();
    let results = kafka::describe_configs(&proxy, &caller, &resources).await?;
    let mut data = Vec::new();
    for (name, result) in names.iter().zip(results) {
        let mut configs = result?.configs;
        configs.sort_by(|a, b| a.name.cmp(&b.name));
        let scope = Scope::Topic(name.clone());
        data.extend(configs.iter().map(|e| config_data(&links, &c, &scope, e)));
    }
    Ok(ok(links.collection(
        "KafkaTopicConfigList",
        &[&c, "topics", "-", "configs"],
        data,
    )))
}
