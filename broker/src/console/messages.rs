//! `GET /console/api/topics/{topic}/partitions/{partition}/messages`: a
//! partition's records for the page, from an offset or a time, through the
//! REST Proxy's stateless v3 read (same query: `offset`, `timestamp`,
//! `max_records`, `timeout`). That read already decodes keys and values
//! through the registry (Confluent's magic byte and schema id: Avro, JSON
//! Schema and Protobuf as JSON) and shows other bytes as JSON or text; the
//! console only changes what is not text for people to read it: binary
//! keys, values and headers as hex instead of base64.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use serde_json::Value;
use strata_governance::Identity;
use strata_rest_proxy::RestError;
use tower::ServiceExt;

use super::Shared;

/// The most a page of messages may be read as (the v3 read's default is
/// 1 MiB); what a browser should hold at once.
const MAX_BODY_BYTES: usize = 16 << 20;

pub(super) async fn browse(
    State(console): State<Shared>,
    Path((topic, partition)): Path<(String, i32)>,
    RawQuery(query): RawQuery,
    identity: Option<Extension<Identity>>,
) -> Response {
    let mut uri = format!(
        "/v3/clusters/{}/topics/{}/partitions/{partition}/records",
        console.broker.cluster.cluster_id,
        percent(&topic),
    );
    if let Some(query) = query {
        uri.push('?');
        uri.push_str(&query);
    }
    let mut request = match Request::get(uri).body(Body::empty()) {
        Ok(request) => request,
        Err(e) => return RestError::bad_request(e.to_string()).into_response(),
    };
    if let Some(Extension(identity)) = identity {
        request.extensions_mut().insert(identity);
    }
    let response = match console.rest.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let body = match axum::body::to_bytes(response.into_body(), MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(e) => return RestError::kafka(format!("reading the records: {e}")).into_response(),
    };
    let Ok(mut page) = serde_json::from_slice::<Value>(&body) else {
        return RestError::kafka("the v3 read answered with something not JSON").into_response();
    };
    if status == StatusCode::OK {
        readable(&mut page);
    }
    (status, Json(page)).into_response()
}

/// Rewrites a v3 read answer for display: `BINARY` keys and values get
/// their bytes as `hex`, headers get `text` (UTF-8) or `hex`.
pub(super) fn readable(page: &mut Value) {
    let Some(records) = page.get_mut("records").and_then(Value::as_array_mut) else {
        return;
    };
    for record in records {
        for field in ["key", "value"] {
            if let Some(data) = record.get_mut(field) {
                if data.get("type").and_then(Value::as_str) == Some("BINARY") {
                    let bytes = base64_of(data.get("data"));
                    data["hex"] = Value::String(hex(&bytes.unwrap_or_default()));
                }
            }
        }
        let Some(headers) = record.get_mut("headers").and_then(Value::as_array_mut) else {
            continue;
        };
        for header in headers {
            let Some(bytes) = base64_of(header.get("value")) else {
                continue;
            };
            match String::from_utf8(bytes) {
                Ok(text) => header["text"] = Value::String(text),
                Err(e) => header["hex"] = Value::String(hex(e.as_bytes())),
            }
        }
    }
}

fn base64_of(value: Option<&Value>) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(value?.as_str()?)
        .ok()
}

/// Lowercase hex, bytes separated by spaces (`00 01 ff`) as hex dumps show them.
fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A topic name as one path segment (legal names are `[a-zA-Z0-9._-]`, so
/// this only matters for names the broker would refuse anyway).
fn percent(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn binary_is_shown_as_hex_and_text_headers_as_text() {
        let mut page = json!({"records": [{
            "offset": 4,
            "key": {"type": "STRING", "data": "k"},
            "value": {"type": "BINARY", "data": "AAH/"},
            "headers": [
                {"name": "trace", "value": "YWJj"},
                {"name": "raw", "value": "/wA="},
                {"name": "none", "value": null},
            ],
        }]});
        readable(&mut page);
        let record = &page["records"][0];
        assert_eq!(record["value"]["hex"], "00 01 ff");
        assert_eq!(record["key"], json!({"type": "STRING", "data": "k"}));
        assert_eq!(record["headers"][0]["text"], "abc");
        assert_eq!(record["headers"][1]["hex"], "ff 00");
        assert!(record["headers"][2].get("text").is_none());
    }

    #[test]
    fn schema_decoded_values_are_left_as_the_registry_decoded_them() {
        let avro = json!({"type": "AVRO", "schema_id": 1, "data": {"name": "x"}});
        let mut page = json!({"records": [{"value": avro.clone(), "headers": []}]});
        readable(&mut page);
        assert_eq!(page["records"][0]["value"], avro);
    }

    #[test]
    fn topic_names_are_one_path_segment() {
        assert_eq!(percent("orders.v1_x-y"), "orders.v1_x-y");
        assert_eq!(percent("a/b c"), "a%2Fb%20c");
    }
}
