//! Confluent's v3 resource envelope: `kind`, `metadata.self` (an absolute
//! URL on the host the client called, as kafka-rest's `UrlFactory` builds it
//! without `advertised.listeners`), `metadata.resource_name` (a CRN such as
//! `crn:///kafka=c/topic=t`, empty authority as kafka-rest's default) and
//! `{"related": url}` relationships; collections carry `metadata.next`
//! (always `null`: Confluent does not page these lists either).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::Shared;

/// Builds the URLs and resource names of one request's answer.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    base: String,
}

impl FromRequestParts<Shared> for Links {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        proxy: &Shared,
    ) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("localhost");
        Ok(Links::new(format!("{}://{host}", proxy.config.scheme)))
    }
}

impl Links {
    pub(crate) fn new(base: impl Into<String>) -> Self {
        Links { base: base.into() }
    }

    /// `base/v3/clusters/<segments...>`, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> String {
        let mut out = format!("{}/v3/clusters", self.base);
        for segment in segments {
            out.push('/');
            encode_segment(segment, &mut out);
        }
        out
    }

    /// `{"related": url}`.
    pub(crate) fn related(&self, segments: &[&str]) -> Value {
        json!({ "related": self.url(segments) })
    }

    /// A resource: `kind`, `metadata` and then `fields` in order.
    pub(crate) fn resource(
        &self,
        kind: &str,
        segments: &[&str],
        crn_parts: &[(&str, &str)],
        fields: Value,
    ) -> Value {
        let mut out = Map::new();
        out.insert("kind".into(), kind.into());
        out.insert(
            "metadata".into(),
            json!({ "self": self.url(segments), "resource_name": crn(crn_parts) }),
        );
        if let Value::Object(fields) = fields {
            out.extend(fields);
        }
        Value::Object(out)
    }

    /// A collection of resources.
    pub(crate) fn collection(&self, kind: &str, segments: &[&str], data: Vec<Value>) -> Value {
        json!({
            "kind": kind,
            "metadata": { "self": self.url(segments), "next": null },
            "data": data,
        })
    }
}

/// `crn:///kafka=c/topic=t/...`; a part with an empty id is written bare
/// (`/lag-summary`), as kafka-rest's `CrnFactory` writes a null id.
pub(crate) fn crn(parts: &[(&str, &str)]) -> String {
    let mut out = String::from("crn://");
    for (kind, id) in parts {
        out.push('/');
        out.push_str(kind);
        if !id.is_empty() {
            out.push('=');
            out.push_str(id);
        }
    }
    out
}

/// Percent-encodes what a path segment may not hold as is (RFC 3986 pchar).
fn encode_segment(segment: &str, out: &mut String) {
    for byte in segment.bytes() {
        let plain = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        if plain {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// A 200 answer with `Content-Type: application/json`.
pub(crate) fn ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_crns() {
        let links = Links::new("http://h:8082");
        assert_eq!(
            links.url(&["c1", "topics", "a b/c"]),
            "http://h:8082/v3/clusters/c1/topics/a%20b%2Fc"
        );
        assert_eq!(
            crn(&[("kafka", "c1"), ("topic", "t")]),
            "crn:///kafka=c1/topic=t"
        );
        assert_eq!(
            crn(&[
                ("kafka", "c1"),
                ("consumer-group", "g"),
                ("lag-summary", "")
            ]),
            "crn:///kafka=c1/consumer-group=g/lag-summary"
        );
        let r = links.resource(
            "KafkaTopic",
            &["c1", "topics", "t"],
            &[("kafka", "c1"), ("topic", "t")],
            json!({"topic_name": "t"}),
        );
        assert_eq!(r["kind"], "KafkaTopic");
        assert_eq!(
            r["metadata"]["self"],
            "http://h:8082/v3/clusters/c1/topics/t"
        );
        assert_eq!(r["topic_name"], "t");
        let l = links.collection("KafkaTopicList", &["c1", "topics"], vec![]);
        assert!(l["metadata"]["next"].is_null());
    }
}
