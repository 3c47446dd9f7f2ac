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
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::config::InstanceConfig;
use super::instance::{Instance, Mode};
use super::kafka::{self, Tp, EARLIEST, LATEST};
use super::read::{self, ReadLimits};
use super::{membership, time};
use crate::backend::Caller;
use crate::error::RestError;
use crate::media::{accepted, content_type, EmbeddedFormat, MediaType, V2_JSON};
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

// ---------------------------------------------------------------------------
// Negotiation and bodies

/// The answer's media type for endpoints answering plain v2 JSON: any v2
/// media type (embedded or not), `application/json` or a wildcard; 406
/// otherwise.
fn negotiate(headers: &HeaderMap) -> Result<&'static str, RestError> {
    for range in accepted(headers) {
        match range {
            MediaType::Kafka { version, .. } if version == "v2" => return Ok(V2_JSON),
            MediaType::KafkaAnyVersion | MediaType::Any => return Ok(V2_JSON),
            MediaType::Json => return Ok("application/json"),
            _ => {}
        }
    }
    Err(RestError::not_acceptable())
}

/// Checks the `Content-Type` of a body (v2 media types or JSON; none is
/// fine only for an empty body) and parses it; `None` for an empty body.
fn parse_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<T>, RestError> {
    let empty = body.iter().all(u8::is_ascii_whitespace);
    match content_type(headers) {
        None if empty => return Ok(None),
        Some(MediaType::Kafka { version, .. }) if version == "v2" => {}
        Some(MediaType::KafkaAnyVersion | MediaType::Json) => {}
        _ => return Err(RestError::unsupported_media_type()),
    }
    if empty {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|e| {
        if e.is_data() {
            RestError::unprocessable(e.to_string())
        } else {
            RestError::bad_request(e.to_string())
        }
    })
}

fn require<T>(body: Option<T>) -> Result<T, RestError> {
    body.ok_or_else(|| RestError::unprocessable("request body is required"))
}

fn answer(media: &'static str, value: serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, media)], axum::Json(value)).into_response()
}

/// The instance `caller` created. Its Kafka requests carry its creator's
/// principal, so another caller using it would read and commit with the
/// creator's rights: that is refused with 40301 (kafka-rest, which has no
/// per-caller principal, does not check).
fn lookup(
    proxy: &Shared,
    caller: &Caller,
    group: &str,
    name: &str,
) -> Result<Arc<Instance>, RestError> {
    let instance = proxy
        .consumers
        .get(group, name)
        .ok_or_else(RestError::consumer_instance_not_found)?;
    if instance.caller.principal != caller.principal {
        return Err(RestError::authorization(format!(
            "Consumer instance {name} of group {group} belongs to another principal"
        )));
    }
    instance.touch();
    Ok(instance)
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
async fn remove(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, RestError> {
    negotiate(&headers)?;
    lookup(&proxy, &caller, &group, &name)?;
    let instance = proxy
        .consumers
        .remove(&group, &name)
        .ok_or_else(RestError::consumer_instance_not_found)?;
    instance.close(&proxy).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------
// Subscription and assignment

#[derive(Deserialize)]
struct SubscribeBody {
    topics: Option<Vec<String>>,
    topic_pattern: Option<String>,
}

async fn subscribe(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RestError> {
    negotiate(&headers)?;
    let body: SubscribeBody = require(parse_body(&headers, &body)?)?;
    let instance = lookup(&proxy, &caller, &group, &name)?;
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

async fn subscription(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, RestError> {
    let media = negotiate(&headers)?;
    let instance = lookup(&proxy, &caller, &group, &name)?;
    let state = instance.state.lock().await;
    let topics: Vec<String> = match &state.mode {
        Mode::Topics(topics) => topics.iter().cloned().collect(),
        Mode::Pattern(_) => state.member.joined_topics.iter().cloned().collect(),
        Mode::Idle | Mode::Assigned(_) => Vec::new(),
    };
    Ok(answer(media, json!({"topics": topics})))
}

/// `DELETE .../subscription`: leaves the group (and drops a manual
/// assignment), as the Kafka consumer's `unsubscribe` does.
async fn unsubscribe(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, RestError> {
    negotiate(&headers)?;
    let instance = lookup(&proxy, &caller, &group, &name)?;
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

async fn assign(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RestError> {
    negotiate(&headers)?;
    let partitions = require(parse_body::<Partitions>(&headers, &body)?)?.list();
    let instance = lookup(&proxy, &caller, &group, &name)?;
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

async fn assignments(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, RestError> {
    let media = negotiate(&headers)?;
    let instance = lookup(&proxy, &caller, &group, &name)?;
    let assigned = instance.state.lock().await.assigned();
    Ok(answer(
        media,
        json!({"partitions": partitions_json(assigned)}),
    ))
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
async fn seek(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RestError> {
    negotiate(&headers)?;
    let body: SeekBody = require(parse_body(&headers, &body)?)?;
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
    let instance = lookup(&proxy, &caller, &group, &name)?;
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
        read::seek_to(&proxy, &instance, &mut state, &[tp], ms).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn seek_beginning(
    state: State<Shared>,
    caller: Caller,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RestError> {
    seek_edge(state, caller, path, headers, body, EARLIEST).await
}

async fn seek_end(
    state: State<Shared>,
    caller: Caller,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RestError> {
    seek_edge(state, caller, path, headers, body, LATEST).await
}

async fn seek_edge(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
    timestamp: i64,
) -> Result<Response, RestError> {
    negotiate(&headers)?;
    let partitions = require(parse_body::<Partitions>(&headers, &body)?)?.list();
    let instance = lookup(&proxy, &caller, &group, &name)?;
    let mut state = instance.state.lock().await;
    state.check_assigned(&partitions)?;
    read::seek_to(&proxy, &instance, &mut state, &partitions, timestamp).await?;
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
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    Query(query): Query<RecordsQuery>,
    headers: HeaderMap,
) -> Result<Response, RestError> {
    let format = requested_format(&headers)?;
    let instance = lookup(&proxy, &caller, &group, &name)?;
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
    let text = read::read_records(&proxy, &instance, limits).await;
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
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RestError> {
    let media = negotiate(&headers)?;
    let body: Option<CommitBody> = parse_body(&headers, &body)?;
    let instance = lookup(&proxy, &caller, &group, &name)?;
    let mut state = instance.state.lock().await;
    match body {
        None => {
            instance.commit_consumed(&proxy, &mut state, false).await?;
        }
        Some(body) => {
            let offsets: Vec<(Tp, i64, Option<String>)> = body
                .offsets
                .into_iter()
                .map(|o| ((o.topic, o.partition), o.offset + 1, o.metadata))
                .collect();
            kafka::commit(
                &proxy,
                &instance.caller,
                &group,
                &state.committer(),
                &offsets,
            )
            .await?;
        }
    }
    Ok(answer(media, json!([])))
}

/// `GET .../offsets` (with a body naming the partitions): the group's
/// committed offsets, for partitions that have one.
async fn committed(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RestError> {
    let media = negotiate(&headers)?;
    let partitions = parse_body::<Partitions>(&headers, &body)?
        .ok_or_else(RestError::partition_not_found)?
        .list();
    let instance = lookup(&proxy, &caller, &group, &name)?;
    let found = kafka::committed(&proxy, &instance.caller, &group, &partitions).await?;
    let offsets: Vec<serde_json::Value> = partitions
        .iter()
        .filter_map(|tp| {
            found.get(tp).map(|(offset, metadata)| {
                json!({"topic": tp.0, "partition": tp.1, "offset": offset, "metadata": metadata})
            })
        })
        .collect();
    Ok(answer(media, json!({"offsets": offsets})))
}
