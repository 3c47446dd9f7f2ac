//! v2 brokers: `GET /brokers` answers `{"brokers": [id, ...]}`, as
//! kafka-rest's `BrokersResource`.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kafka_protocol::messages::MetadataRequest;
use serde_json::json;

use crate::backend::Caller;
use crate::error::RestError;
use crate::media::negotiate_v2;
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new().route("/brokers", get(list_brokers))
}

async fn list_brokers(
    State(proxy): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, RestError> {
    let media = negotiate_v2(&headers)?;
    let metadata = proxy
        .send(
            &caller,
            MetadataRequest::default().with_topics(Some(Vec::new())),
        )
        .await?;
    let mut ids: Vec<i32> = metadata.brokers.iter().map(|b| b.node_id.0).collect();
    ids.sort_unstable();
    Ok((
        [(header::CONTENT_TYPE, media)],
        axum::Json(json!({ "brokers": ids })),
    )
        .into_response())
}
