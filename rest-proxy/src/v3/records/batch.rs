//! `POST /v3/clusters/{c}/topics/{t}/records:batch`: `{"entries": [{"id",
//! ...record}]}` answered 207 with `{"successes": [...], "failures": [...]}`
//! once every entry is durable or failed, as kafka-rest's
//! `ProduceBatchAction`. The whole batch is one Produce request.
//!
//! 42208 answers the batch as a whole: no body, an entry id that is not a
//! string of 1 to 80 characters from `[0-9a-zA-Z-_]`, ids that repeat, no
//! entries, or more than `api.v3.produce.batch.maximum.entries`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::encode::RecordEncoder;
use super::request::RecordRequest;
use super::window::{Target, Window};
use crate::backend::Caller;
use crate::error::RestError;
use crate::Shared;

const NO_BODY: &str = "Request body is empty. Data is required.";

pub(super) async fn produce_batch(
    State(proxy): State<Shared>,
    caller: Caller,
    Path((cluster_id, topic)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RestError> {
    super::check_json_body(&headers)?;
    super::check_cluster(&proxy, &cluster_id)?;
    let entries = parse_entries(&body)?;
    let max = proxy.config.produce_batch_max_entries;
    if entries.len() > max {
        return Err(RestError::produce_batch("Too many entries in batch."));
    }
    let partitions = super::topic_partitions(&proxy, &caller, &topic).await?;
    let target = Arc::new(Target::new(
        proxy.clone(),
        caller,
        topic.clone(),
        partitions,
    ));
    let mut encoder = RecordEncoder::new(proxy, &topic);
    let mut window = Window::default();
    let mut ids = Vec::with_capacity(entries.len());
    let sticky = target.next_sticky();
    for (id, entry) in entries {
        ids.push(id);
        window.push(&target, encoder.prepare(entry).await, sticky);
    }
    let mut successes = Vec::new();
    let mut failures = Vec::new();
    for (id, result) in ids.into_iter().zip(window.produce(&target).await) {
        match result {
            Ok(Value::Object(mut o)) => {
                o.remove("error_code");
                let mut entry = serde_json::Map::with_capacity(o.len() + 1);
                entry.insert("id".into(), id.into());
                entry.extend(o);
                successes.push(Value::Object(entry));
            }
            Ok(other) => successes.push(other),
            Err(e) => failures.push(json!({
                "id": id,
                "error_code": e.error_code,
                "message": e.message,
            })),
        }
    }
    Ok((
        StatusCode::MULTI_STATUS,
        axum::Json(json!({"successes": successes, "failures": failures})),
    )
        .into_response())
}

/// The entries with their ids, checked as a whole (42208) before any is
/// produced.
fn parse_entries(body: &[u8]) -> Result<Vec<(String, RecordRequest)>, RestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(RestError::produce_batch(NO_BODY));
    }
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| RestError::bad_request(format!("Unexpected JSON in the request body: {e}")))?;
    let entries = match request.get("entries") {
        _ if request.is_null() => return Err(RestError::produce_batch(NO_BODY)),
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries.clone(),
        Some(_) => return Err(RestError::bad_request("entries must be an array")),
    };
    let mut out = Vec::with_capacity(entries.len());
    let mut seen = HashSet::new();
    for entry in entries {
        let id = match entry.get("id") {
            Some(Value::String(id)) if valid_id(id) => id.clone(),
            _ => {
                return Err(RestError::produce_batch(
                    "Batch entry identifier is not a valid string.",
                ))
            }
        };
        let record = RecordRequest::deserialize(entry)
            .map_err(|e| RestError::bad_request(format!("Cannot deserialize the entry: {e}")))?;
        out.push((id, record));
    }
    for (id, _) in &out {
        if !seen.insert(id.as_str()) {
            return Err(RestError::produce_batch(
                "Batch entry IDs are not distinct.",
            ));
        }
    }
    if out.is_empty() {
        return Err(RestError::produce_batch("Empty batch."));
    }
    Ok(out)
}

fn valid_id(id: &str) -> bool {
    (1..=80).contains(&id.chars().count())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> u32 {
        parse_entries(body.as_bytes()).unwrap_err().error_code
    }

    #[test]
    fn batches_are_checked_as_a_whole() {
        assert_eq!(code(""), 42208);
        assert_eq!(code("null"), 42208);
        assert_eq!(code(r#"{"entries":[]}"#), 42208);
        assert_eq!(code(r#"{"entries":[{"id":1}]}"#), 42208);
        assert_eq!(code(r#"{"entries":[{"id":""}]}"#), 42208);
        assert_eq!(code(r#"{"entries":[{"id":"a b"}]}"#), 42208);
        assert_eq!(code(r#"{"entries":[{"id":"a"},{"id":"a"}]}"#), 42208);
        assert_eq!(code("{"), 400);
        let ok = parse_entries(br#"{"entries":[{"id":"a-1"},{"id":"b_2"}]}"#).unwrap();
        assert_eq!(ok.len(), 2);
    }
}
