//! HTTP face of consumer instances: the request and answer shapes of
//! Confluent's `ConsumersResource`, content negotiation, and the routes.
//! The work is done by [`super::instance`], [`super::read`] and
//! [`super::kafka`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::config::InstanceConfig;
use super::extract::{answer, negotiate, parse_body, InstanceCall, V2Body};
use super::instance::{Instance, Mode};
use super::kafka::{self, Tp, EARLIEST, LATEST};
use super::read::{self, ReadLimits};
use super::{membership, time};
use crate::backend::Caller;
use crate::error::RestError;
use crate::media::{accepted, EmbeddedFormat, MediaType};
use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    let base = "/consumers/{group}/instances/{instance}";
    Router::new()
        .route("/consumers/{group}", with_405(post(create)))
        .route(base, with_405(delete(remove)))
        .route(
            &format!("{base}/subscription"),
            with_405(post(subscribe).get(subscription).delete(unsubscribe)),
        )
        .route(
            &format!("{base}/assignments"),
            with_405(post(assign).get(assignments)),
        )
        .route(&format!("{base}/positions"), with_405(post(seek)))
        .route(
            &format!("{base}/positions/beginning"),
            with_405(post(seek_beginning)),
        )
        .route(&format!("{base}/positions/end"), with_405(post(seek_end)))
        .route(&format!("{base}/records"), with_405(get(records)))
        .route(
            &format!("{base}/offsets"),
            with_405(post(commit).get(committed)),
        )
}

fn with_405(router: MethodRouter<Shared>) -> MethodRouter<Shared> {
    router.fallback(|| async { RestError::method_not_allowed() })
}

#[derive(Deserialize)]
struct PartitionRef {
    topic: String,
    partition: i32,
}

#[derive(Deserialize)]
struct Partitions {
    partitions: Vec<PartitionRef>,
}

impl Partitions {
    fn list(self) -> Vec<Tp> {
        self.partitions
            .into_iter()
            .map(|p| (p.topic, p.partition))
            .collect()
    }
}

fn partitions_json(partitions: impl IntoIterator<Item = Tp>) -> serde_json::Value {
    json!(partitions
        .into_iter()
        .map(|(topic, partition)| json!({"topic": topic, "partition": partition}))
        .collect::<Vec<_>>())
}

// ---------------------------------------------------------------------------
// Instances

/// `POST /consumers/{group}`: a new instance, a member of `group` once it
/// subscribes. `base_uri` is built from the request's `Host`, as Confluent
/// builds it from the request URI.
async fn create(
    State(proxy): State<Shared>,
    caller: Caller,
    Path(group): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RestError> {
    let media = negotiate(&headers)?;
    parse_body::<serde_json::Value>(&headers, &body)?;
    let config = InstanceConfig::parse(&body)?;
    let name = config.name.clone();
    let instance = Arc::new(Instance::new(group.clone(), config, caller));
    proxy.consumers.insert(instance.clone())?;
    instance.set_task(tokio::spawn(membership::run(
        proxy.clone(),
        instance.clone(),
    )));
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}:8082", proxy.config.advertised_host));
    let scheme = proxy.config.scheme;
    let base_uri = format!("{scheme}://{host}/consumers/{group}/instances/{name}");
    Ok(answer(
        media,
        json!({"instance_id": name, "base_uri": base_uri}),
    ))
}

/// `DELETE .../instances/{instance}`: commits (auto-commit), leaves the
/// group and forgets the instance.
async fn remove(call: InstanceCall) -> Result<Response, RestError> {
    call.instance()?;
    let instance = call
        .proxy
        .consumers
        .remove(&call.group, &call.name)
        .ok_or_else(RestError::consumer_instance_not_found)?;
    instance.close(&call.proxy).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------
// Subscription and assignment

#[derive(Deserialize)]
struct SubscribeBody {
    topics: Option<Vec<String>>,
    topic_pattern: Option<String>,
}

async fn subscribe(call: InstanceCall, body: V2Body<SubscribeBody>) -> Result<Response, RestError> {
    let body = body.required()?;
    let instance = call.instance()?;
    let mode = match (body.topics, body.topic_pattern) {
        (Some(topics), _) if topics.is_empty() => Mode::Idle,
        (Some(topics), _) => {
            if topics.iter().any(|t| t.trim().is_empty()) {
                return Err(RestError::unprocessable("topic names must not be empty"));
            }
            Mode::Topics(topics.into_iter().collect())
        }
        (None, Some(pattern)) => {
            regex::Regex::new(&pattern)
                .map_err(|e| RestError::unprocessable(format!("invalid topic_pattern: {e}")))?;
            Mode::Pattern(pattern)
        }
        (None, None) => {
            return Err(RestError::unprocessable(
                "topics or topic_pattern is required",
            ))
        }
    };
    let mut state = instance.state.lock().await;
    let mixes = matches!(
        (&state.mode, &mode),
        (Mode::Assigned(_), _)
            | (Mode::Topics(_), Mode::Pattern(_))
            | (Mode::Pattern(_), Mode::Topics(_))
    );
    if mixes {
        return Err(RestError::subscriptions_mutually_exclusive());
    }
    if state.mode != mode {
        state.mode = mode;
        state.mode_epoch += 1;
        instance.wake.notify_one();
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn subscription(call: InstanceCall) -> Result<Response, RestError> {
    let instance = call.instance()?;
    let state = instance.state.lock().await;
    let topics: Vec<String> = match &state.mode {
        Mode::Topics(topics) => topics.iter().cloned().collect(),
        Mode::Pattern(_) => state.member.joined_topics.iter().cloned().collect(),
        Mode::Idle | Mode::Assigned(_) => Vec::new(),
    };
    Ok(call.answer(json!({"topics": topics})))
}

/// `DELETE .../subscription`: leaves the group (and drops a manual
/// assignment), as the Kafka consumer's `unsubscribe` does.
async fn unsubscribe(call: InstanceCall) -> Result<Response, RestError> {
    let instance = call.instance()?;
    let mut state = instance.state.lock().await;
    if let Mode::Assigned(_) = state.mode {
        state.positions.clear();
        instance.bump_assignment();
    }
    if state.mode != Mode::Idle {
        state.mode = Mode::Idle;
        state.mode_epoch += 1;
        instance.wake.notify_one();
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn assign(call: InstanceCall, body: V2Body<Partitions>) -> Result<Response, RestError> {
    let partitions = body.required()?.list();
    let instance = call.instance()?;
    let mut state = instance.state.lock().await;
    if matches!(state.mode, Mode::Topics(_) | Mode::Pattern(_)) {
        return Err(RestError::subscriptions_mutually_exclusive());
    }
    let set: std::collections::BTreeSet<Tp> = partitions.into_iter().collect();
    state.positions.retain(|tp, _| set.contains(tp));
    state.mode = if set.is_empty() {
        Mode::Idle
    } else {
        Mode::Assigned(set)
    };
    instance.bump_assignment();
    instance.wake.notify_one();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn assignments(call: InstanceCall) -> Result<Response, RestError> {
    let instance = call.instance()?;
    let assigned = instance.state.lock().await.assigned();
    Ok(call.answer(json!({"partitions": partitions_json(assigned)})))
}

// ---------------------------------------------------------------------------
// Positions

#[derive(Deserialize)]
struct SeekOffset {
    topic: String,
    partition: i32,
    offset: i64,
}

#[derive(Deserialize)]
struct SeekTimestamp {
    topic: String,
    partition: i32,
    timestamp: serde_json::Value,
}

#[derive(Deserialize)]
struct SeekBody {
    #[serde(default)]
    offsets: Vec<SeekOffset>,
    #[serde(default)]
    timestamps: Vec<SeekTimestamp>,
}

/// `POST .../positions`: the next offsets to read, given as offsets or as
/// times (ISO 8601 as Confluent takes them, or epoch milliseconds).
async fn seek(call: InstanceCall, body: V2Body<SeekBody>) -> Result<Response, RestError> {
    let body = body.required()?;
    let mut times = Vec::new();
    for t in &body.timestamps {
        times.push((
            (t.topic.clone(), t.partition),
            time::parse_timestamp(&t.timestamp)?,
        ));
    }
    if let Some(bad) = body.offsets.iter().find(|o| o.offset < 0) {
        return Err(RestError::unprocessable(format!(
            "offset {} is negative",
            bad.offset
        )));
    }
    let instance = call.instance()?;
    let mut state = instance.state.lock().await;
    let offsets: Vec<Tp> = body
        .offsets
        .iter()
        .map(|o| (o.topic.clone(), o.partition))
        .collect();
    state.check_assigned(offsets.iter().chain(times.iter().map(|(tp, _)| tp)))?;
    for o in body.offsets {
        state.positions.insert((o.topic, o.partition), o.offset);
    }
    for (tp, ms) in times {
        read::seek_to(&call.proxy, &instance, &mut state, &[tp], ms).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn seek_beginning(
    call: InstanceCall,
    body: V2Body<Partitions>,
) -> Result<Response, RestError> {
    seek_edge(call, body, EARLIEST).await
}

async fn seek_end(call: InstanceCall, body: V2Body<Partitions>) -> Result<Response, RestError> {
    seek_edge(call, body, LATEST).await
}

async fn seek_edge(
    call: InstanceCall,
    body: V2Body<Partitions>,
    timestamp: i64,
) -> Result<Response, RestError> {
    let partitions = body.required()?.list();
    let instance = call.instance()?;
    let mut state = instance.state.lock().await;
    state.check_assigned(&partitions)?;
    read::seek_to(&call.proxy, &instance, &mut state, &partitions, timestamp).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------
// Records

#[derive(Deserialize)]
struct RecordsQuery {
    timeout: Option<i64>,
    max_bytes: Option<i64>,
}

/// The format a records request asks for: the embedded format of the best
/// v2 media type it accepts (plain v2 JSON and wildcards mean binary, as
/// Confluent routes them); 406 when it accepts no v2 type.
fn requested_format(headers: &HeaderMap) -> Result<EmbeddedFormat, RestError> {
    for range in accepted(headers) {
        match range {
            MediaType::Kafka { embedded, version } if version == "v2" => {
                return Ok(embedded.unwrap_or(EmbeddedFormat::Binary))
            }
            MediaType::KafkaAnyVersion | MediaType::Any => return Ok(EmbeddedFormat::Binary),
            _ => {}
        }
    }
    Err(RestError::not_acceptable())
}

/// `GET .../records`; the answer's shape (with Strata's `headers` and
/// `timestamp` extensions) is documented on [`read::read_records`].
async fn records(
    Query(query): Query<RecordsQuery>,
    call: InstanceCall,
    headers: HeaderMap,
) -> Result<Response, RestError> {
    let format = requested_format(&headers)?;
    let instance = call.instance()?;
    let proxy = &call.proxy;
    if format != instance.config.format {
        return Err(RestError::consumer_format_mismatch());
    }
    let default_timeout = instance
        .config
        .request_timeout
        .unwrap_or(proxy.config.consumer_request_timeout);
    // As Confluent: the query may shorten the wait, never lengthen it.
    let timeout = match query.timeout {
        Some(ms) if ms > 0 => default_timeout.min(Duration::from_millis(ms as u64)),
        _ => default_timeout,
    };
    let max_bytes = match query.max_bytes {
        Some(n) if n > 0 => (n as u64).min(proxy.config.consumer_request_max_bytes),
        _ => proxy.config.consumer_request_max_bytes,
    };
    let limits = ReadLimits {
        timeout,
        max_bytes,
        min_bytes: instance.config.fetch_min_bytes,
    };
    let text = read::read_records(proxy, &instance, limits).await;
    instance.touch();
    Ok((
        [(header::CONTENT_TYPE, format.v2_media_type())],
        axum::body::Body::new(text?),
    )
        .into_response())
}

// ---------------------------------------------------------------------------
// Offsets

#[derive(Deserialize)]
struct CommitOffset {
    topic: String,
    partition: i32,
    offset: i64,
    metadata: Option<String>,
}

#[derive(Deserialize)]
struct CommitBody {
    offsets: Vec<CommitOffset>,
}

/// `POST .../offsets`: commits the offsets given (each the last record
/// read, so offset + 1 is stored, as Confluent does) or, without a body,
/// everything read so far. Answers `[]`, as Confluent does.
async fn commit(
    call: InstanceCall,
    V2Body(body): V2Body<CommitBody>,
) -> Result<Response, RestError> {
    let instance = call.instance()?;
    let mut state = instance.state.lock().await;
    match body {
        None => {
            instance
                .commit_consumed(&call.proxy, &mut state, false)
                .await?;
        }
        Some(body) => {
            let offsets: Vec<(Tp, i64, Option<String>)> = body
                .offsets
                .into_iter()
                .map(|o| ((o.topic, o.partition), o.offset + 1, o.metadata))
                .collect();
            kafka::commit(
                &call.proxy,
                &instance.caller,
                &call.group,
                &state.committer(),
                &offsets,
            )
            .await?;
        }
    }
    Ok(call.answer(json!([])))
}

/// `GET .../offsets` (with a body naming the partitions): the group's
/// committed offsets, for partitions that have one.
async fn committed(
    call: InstanceCall,
    V2Body(body): V2Body<Partitions>,
) -> Result<Response, RestError> {
    let partitions = body.ok_or_else(RestError::partition_not_found)?.list();
    let instance = call.instance()?;
    let found = kafka::committed(&call.proxy, &instance.caller, &call.group, &partitions).await?;
    let offsets: Vec<serde_json::Value> = partitions
        .iter()
        .filter_map(|tp| {
            found.get(tp).map(|(offset, metadata)| {
                json!({"topic": tp.0, "partition": tp.1, "offset": offset, "metadata": metadata})
            })
        })
        .collect();
    Ok(call.answer(json!({"offsets": offsets})))
}
