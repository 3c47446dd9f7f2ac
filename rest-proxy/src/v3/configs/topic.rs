//! A topic's configs (`/topics/{t}/configs...`) and every topic's
//! (`/topics/-/configs`).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::named::{self, NamedScope};
use super::{config_data, Scope};
use crate::backend::Caller;
use crate::error::RestError;
use crate::v3::clusters;
use crate::v3::kafka::{self, RESOURCE_TOPIC};
use crate::v3::links::{ok, Links};
use crate::Shared;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v3/clusters/{cluster_id}/topics/-/configs",
            get(all_topic_configs),
        )
        .merge(named::routes::<TopicScope>(
            "/v3/clusters/{cluster_id}/topics/{topic_name}",
        ))
}

/// A topic's configs: any name (an unknown topic is the broker's answer).
struct TopicScope;

impl NamedScope for TopicScope {
    fn scope(id: String) -> Result<Scope, RestError> {
        Ok(Scope::Topic(id))
    }
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
