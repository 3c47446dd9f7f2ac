//! Strata's extension: a stateless v3 read of one partition, with no
//! consumer instance or group (kafka-rest has no v3 consume, see
//! confluentinc/kafka-rest#1010).
//!
//! `GET /v3/clusters/{c}/topics/{t}/partitions/{p}/records` with
//! - `offset=N` (or `earliest`, `latest`), or `timestamp=ms` (the first
//!   record at or after it), or neither: from the earliest offset;
//! - `max_records` (default 100, at most 10000), `max_bytes` (default 1 MiB,
//!   at most `consumer.request.max.bytes`), `timeout` (ms to wait for data
//!   when there is none, default 0, at most 60000);
//!
//! answers `{"cluster_id", "topic_name", "partition_id", "records": [...],
//! "next_offset", "high_watermark"}`; the next read starts at `next_offset`.
//! With `Accept: text/event-stream` it is a live tail instead ([`sse`]).
//! Records are shown as [`fetch`] describes.

mod fetch;
mod sse;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::records::{check_cluster, topic_partitions};
use crate::backend::Caller;
use crate::error::RestError;
use crate::{RestProxy, Shared};

const DEFAULT_MAX_RECORDS: usize = 100;
const MAX_MAX_RECORDS: usize = 10_000;
const DEFAULT_MAX_BYTES: u64 = 1 << 20;
const MAX_TIMEOUT_MS: i64 = 60_000;

pub(crate) fn routes() -> Router<Shared> {
    Router::new().route(
        "/v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}/records",
        get(read),
    )
}

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Offset(i64),
    Timestamp(i64),
    Earliest,
    Latest,
}

/// The query of a read, checked.
#[derive(Debug)]
struct ReadParams {
    start: Start,
    max_records: usize,
    max_bytes: i32,
    timeout_ms: i32,
}

impl ReadParams {
    fn parse(q: &HashMap<String, String>, max_bytes_cap: u64) -> Result<Self, RestError> {
        let start = match (q.get("offset"), q.get("timestamp")) {
            (Some(_), Some(_)) => {
                return Err(RestError::bad_request(
                    "Give offset or timestamp, not both.",
                ))
            }
            (Some(o), None) => match o.as_str() {
                "earliest" => Start::Earliest,
                "latest" => Start::Latest,
                n => Start::Offset(number(n, "offset", 0, i64::MAX)?),
            },
            (None, Some(t)) => Start::Timestamp(number(t, "timestamp", 0, i64::MAX)?),
            (None, None) => Start::Earliest,
        };
        let max_records = match q.get("max_records") {
            Some(n) => number(n, "max_records", 1, MAX_MAX_RECORDS as i64)? as usize,
            None => DEFAULT_MAX_RECORDS,
        };
        let cap = max_bytes_cap.min(i32::MAX as u64) as i64;
        let max_bytes = match q.get("max_bytes") {
            Some(n) => number(n, "max_bytes", 1, cap)? as i32,
            None => DEFAULT_MAX_BYTES.min(cap as u64) as i32,
        };
        let timeout_ms = match q.get("timeout") {
            Some(n) => number(n, "timeout", 0, MAX_TIMEOUT_MS)? as i32,
            None => 0,
        };
        Ok(ReadParams {
            start,
            max_records,
            max_bytes,
            timeout_ms,
        })
    }
}

fn number(text: &str, name: &str, min: i64, max: i64) -> Result<i64, RestError> {
    match text.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(RestError::bad_request(format!(
            "{name} must be an integer from {min} to {max}, not {text:?}."
        ))),
    }
}

async fn read(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((cluster_id, topic, partition)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, RestError> {
    check_cluster(&proxy, &cluster_id)?;
    let partitions = topic_partitions(&proxy, &caller, &topic).await?;
    let partition: i32 = match partition.parse() {
        Ok(p) if (0..partitions).contains(&p) => p,
        _ => return Err(RestError::partition_not_found()),
    };
    let params = ReadParams::parse(&query, proxy.config.consumer_request_max_bytes)?;
    let wants_sse = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if wants_sse {
        // A reconnecting EventSource resumes after the last event it saw.
        let resume = headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        let offset = match resume {
            Some(last) => last + 1,
            None => resolve(&proxy, &caller, &topic, partition, params.start).await?,
        };
        return Ok(sse::tail(
            proxy,
            caller,
            topic,
            partition,
            offset,
            params.max_bytes,
        ));
    }
    let offset = resolve(&proxy, &caller, &topic, partition, params.start).await?;
    let fetched = fetch::fetch(
        &proxy,
        &caller,
        &topic,
        partition,
        offset,
        params.max_bytes,
        params.timeout_ms,
    )
    .await?;
    let truncated = fetched.records.len() > params.max_records;
    let records: Vec<_> = fetched.records.iter().take(params.max_records).collect();
    let next_offset = match (truncated, records.last()) {
        (true, Some(last)) => last.offset + 1,
        _ => fetched.next_offset,
    };
    let shown: Vec<_> = records
        .iter()
        .map(|r| fetch::record_json(&proxy.registry, partition, r))
        .collect();
    let _ = fetched.log_start_offset;
    Ok(axum::Json(json!({
        "cluster_id": proxy.cluster_id,
        "topic_name": topic,
        "partition_id": partition,
        "records": shown,
        "next_offset": next_offset,
        "high_watermark": fetched.high_watermark,
    }))
    .into_response())
}

/// The offset a read starts at: given, or from ListOffsets (a timestamp
/// after every record starts at the end, where the next record will be).
async fn resolve(
    proxy: &RestProxy,
    caller: &Caller,
    topic: &str,
    partition: i32,
    start: Start,
) -> Result<i64, RestError> {
    let timestamp = match start {
        Start::Offset(o) => return Ok(o),
        Start::Earliest => -2,
        Start::Latest => -1,
        Start::Timestamp(t) => t,
    };
    match list_offset(proxy, caller, topic, partition, timestamp).await? {
        -1 => list_offset(proxy, caller, topic, partition, -1).await,
        offset => Ok(offset),
    }
}

async fn list_offset(
    proxy: &RestProxy,
    caller: &Caller,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> Result<i64, RestError> {
    let p = crate::offsets::list_one(proxy, caller, topic, partition, timestamp)
        .await?
        .ok_or_else(|| RestError::kafka("the ListOffsets answer has no such partition"))?;
    if p.error_code != 0 {
        return Err(fetch::kafka_error(p.error_code));
    }
    Ok(p.offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ReadParams, RestError> {
        let q = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ReadParams::parse(&q, 64 << 20)
    }

    #[test]
    fn params_have_defaults_and_bounds() {
        let p = parse(&[]).unwrap();
        assert_eq!(p.start, Start::Earliest);
        assert_eq!(p.max_records, DEFAULT_MAX_RECORDS);
        assert_eq!(p.timeout_ms, 0);
        assert_eq!(parse(&[("offset", "7")]).unwrap().start, Start::Offset(7));
        assert_eq!(parse(&[("offset", "latest")]).unwrap().start, Start::Latest);
        assert_eq!(
            parse(&[("timestamp", "99")]).unwrap().start,
            Start::Timestamp(99)
        );
        assert!(parse(&[("offset", "1"), ("timestamp", "2")]).is_err());
        assert!(parse(&[("offset", "-1")]).is_err());
        assert!(parse(&[("max_records", "0")]).is_err());
        assert!(parse(&[("timeout", "600000")]).is_err());
        assert!(parse(&[("max_bytes", "x")]).is_err());
    }
}
