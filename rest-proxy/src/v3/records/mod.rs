//! v3 produce: `POST /v3/clusters/{c}/topics/{t}/records` (a stream of
//! records in, a stream of results out, as kafka-rest's `ProduceAction`)
//! and `POST .../records:batch` (up to
//! `api.v3.produce.batch.maximum.entries` records answered together, as
//! `ProduceBatchAction`).
//!
//! Layout: [`request`] (the record JSON, timestamps), [`encode`] (record
//! JSON to bytes, schemas through the registry), [`window`] (records read
//! together produced as one request), [`stream`] (the streamed endpoint),
//! [`batch`] (the batch endpoint).

mod batch;
mod encode;
mod request;
mod stream;
mod window;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures::StreamExt;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::mpsc;

use crate::backend::Caller;
use crate::error::RestError;
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v3/clusters/{cluster_id}/topics/{topic_name}/records",
            post(produce_stream),
        )
        .route(
            "/v3/clusters/{cluster_id}/topics/{topic_name}/records:batch",
            post(batch::produce_batch),
        )
}

/// 404 unless `cluster_id` names this cluster (as every v3 resource).
pub(crate) fn check_cluster(proxy: &crate::RestProxy, cluster_id: &str) -> Result<(), RestError> {
    super::clusters::check(proxy, cluster_id)
}

/// The number of partitions of `topic` (40401 when there is no such topic).
pub(crate) async fn topic_partitions(
    proxy: &crate::RestProxy,
    caller: &Caller,
    topic: &str,
) -> Result<i32, RestError> {
    let request = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
            TopicName(StrBytes::from_string(topic.to_owned())),
        ))]))
        .with_allow_auto_topic_creation(false);
    let metadata = proxy.send(caller, request).await?;
    let Some(t) = metadata.topics.into_iter().next() else {
        return Err(RestError::topic_not_found());
    };
    if t.error_code != 0 {
        return Err(match ResponseError::try_from_code(t.error_code) {
            Some(e) => RestError::from_kafka(e, None),
            None => RestError::kafka(format!("error code {}", t.error_code)),
        });
    }
    Ok(t.partitions.len() as i32)
}

/// kafka-rest's produce endpoints consume `application/json` only.
fn check_json_body(headers: &HeaderMap) -> Result<(), RestError> {
    match headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) {
        None => Ok(()),
        Some(Ok(ct))
            if ct
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")) =>
        {
            Ok(())
        }
        Some(_) => Err(RestError::unsupported_media_type()),
    }
}

async fn produce_stream(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((cluster_id, topic)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, RestError> {
    check_json_body(&headers)?;
    check_cluster(&proxy, &cluster_id)?;
    let partitions = topic_partitions(&proxy, &caller, &topic).await?;
    // Wait for the first bytes: an empty body is answered 42206 as
    // kafka-rest does, before the streamed 200 starts.
    let mut data = body.into_data_stream();
    let mut splitter = stream::JsonSplitter::default();
    loop {
        match data.next().await {
            Some(Ok(bytes)) => {
                splitter.push(&bytes);
                if bytes.iter().any(|b| !b.is_ascii_whitespace()) {
                    break;
                }
            }
            Some(Err(e)) => return Err(RestError::bad_request(e.to_string())),
            None => {
                return Err(RestError::invalid_payload(
                    "Request body is empty. Data is required.",
                ))
            }
        }
    }
    let target = Arc::new(window::Target::new(proxy, caller, topic, partitions));
    let (tx, rx) = mpsc::channel(MAX_RESULT_CHUNKS);
    tokio::spawn(stream::pump(target, splitter, data, tx));
    let out = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(out),
    )
        .into_response())
}

/// Result chunks (one per window) buffered for a slow reader.
const MAX_RESULT_CHUNKS: usize = 4;
