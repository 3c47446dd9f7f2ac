//! v2 topics: `GET /topics` (names of every non-internal topic).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kafka_protocol::messages::MetadataRequest;

use crate::backend::Caller;
use crate::error::RestError;
use crate::media::negotiate_v2;
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new().route("/topics", get(list_topics))
}

async fn list_topics(
    State(proxy): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, RestError> {
    let media = negotiate_v2(&headers)?;
    let metadata = proxy
        .send(&caller, MetadataRequest::default().with_topics(None))
        .await?;
    let mut names: Vec<String> = metadata
        .topics
        .iter()
        .filter(|t| !t.is_internal)
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .filter(|n| !n.starts_with("__") && n != "_schemas")
        .collect();
    names.sort();
    let _ = (&proxy.registry, &proxy.cluster_id, &proxy.consumers);
    Ok(([(header::CONTENT_TYPE, media)], axum::Json(names)).into_response())
}
