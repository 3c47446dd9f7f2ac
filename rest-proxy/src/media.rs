//! Confluent's v2 media types: `application/vnd.kafka[.{embedded}].v2+json`,
//! where the embedded format (binary, json, avro, jsonschema, protobuf) says
//! how keys and values inside the JSON are written.

use axum::http::{header, HeaderMap};

use crate::error::RestError;

/// How keys and values are written inside a v2 JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmbeddedFormat {
    /// base64 strings of raw bytes.
    Binary,
    /// Any JSON value, stored as its JSON text.
    Json,
    /// JSON in Avro's JSON encoding; stored in Confluent's wire format.
    Avro,
    /// JSON checked against a JSON Schema; stored in Confluent's wire format.
    JsonSchema,
    /// JSON in Protobuf's JSON mapping; stored in Confluent's wire format.
    Protobuf,
}

impl EmbeddedFormat {
    /// The name in media types and in consumer `format` fields.
    pub fn name(self) -> &'static str {
        match self {
            EmbeddedFormat::Binary => "binary",
            EmbeddedFormat::Json => "json",
            EmbeddedFormat::Avro => "avro",
            EmbeddedFormat::JsonSchema => "jsonschema",
            EmbeddedFormat::Protobuf => "protobuf",
        }
    }

    /// Parses a format name (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "binary" => EmbeddedFormat::Binary,
            "json" => EmbeddedFormat::Json,
            "avro" => EmbeddedFormat::Avro,
            "jsonschema" => EmbeddedFormat::JsonSchema,
            "protobuf" => EmbeddedFormat::Protobuf,
            _ => return None,
        })
    }

    /// Whether values of this format need a registered schema.
    pub fn uses_schema(self) -> bool {
        matches!(
            self,
            EmbeddedFormat::Avro | EmbeddedFormat::JsonSchema | EmbeddedFormat::Protobuf
        )
    }

    /// `application/vnd.kafka.{name}.v2+json`.
    pub fn v2_media_type(self) -> &'static str {
        match self {
            EmbeddedFormat::Binary => "application/vnd.kafka.binary.v2+json",
            EmbeddedFormat::Json => "application/vnd.kafka.json.v2+json",
            EmbeddedFormat::Avro => "application/vnd.kafka.avro.v2+json",
            EmbeddedFormat::JsonSchema => "application/vnd.kafka.jsonschema.v2+json",
            EmbeddedFormat::Protobuf => "application/vnd.kafka.protobuf.v2+json",
        }
    }
}

/// The plain v2 media type.
pub const V2_JSON: &str = "application/vnd.kafka.v2+json";

/// One media type from a `Content-Type` or `Accept` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaType {
    /// `application/vnd.kafka[.fmt].vN+json`.
    Kafka {
        embedded: Option<EmbeddedFormat>,
        version: String,
    },
    /// `application/vnd.kafka+json` (no version).
    KafkaAnyVersion,
    /// `application/json`.
    Json,
    /// `application/octet-stream`.
    OctetStream,
    /// `*/*` or `application/*`.
    Any,
    /// `text/event-stream` (Strata's v3 live tail).
    EventStream,
    /// Anything else.
    Other(String),
}

impl MediaType {
    /// Parses one media range, ignoring parameters such as `q=` and
    /// `charset=`.
    pub fn parse(raw: &str) -> MediaType {
        let essence = raw
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => return MediaType::Json,
            "application/octet-stream" => return MediaType::OctetStream,
            "*/*" | "application/*" | "" => return MediaType::Any,
            "text/event-stream" => return MediaType::EventStream,
            "application/vnd.kafka+json" => return MediaType::KafkaAnyVersion,
            _ => {}
        }
        if let Some(rest) = essence
            .strip_prefix("application/vnd.kafka.")
            .and_then(|r| r.strip_suffix("+json"))
        {
            let parts: Vec<&str> = rest.split('.').collect();
            match parts.as_slice() {
                [version] if version.starts_with('v') => {
                    return MediaType::Kafka {
                        embedded: None,
                        version: version.to_string(),
                    }
                }
                [format, version] if version.starts_with('v') => {
                    if let Some(embedded) = EmbeddedFormat::parse(format) {
                        return MediaType::Kafka {
                            embedded: Some(embedded),
                            version: version.to_string(),
                        };
                    }
                }
                _ => {}
            }
        }
        MediaType::Other(essence)
    }

    /// The `q=` weight of a media range (1 when absent).
    fn quality(raw: &str) -> f32 {
        raw.split(';')
            .skip(1)
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse().ok())
            .unwrap_or(1.0)
    }
}

/// The request's `Content-Type`, if any.
pub fn content_type(headers: &HeaderMap) -> Option<MediaType> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(MediaType::parse)
}

/// The request's `Accept` ranges, best first (an absent header is `*/*`).
pub fn accepted(headers: &HeaderMap) -> Vec<MediaType> {
    let mut ranges: Vec<(f32, MediaType)> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter(|r| !r.trim().is_empty())
        .map(|r| (MediaType::quality(r), MediaType::parse(r)))
        .filter(|(q, _)| *q > 0.0)
        .collect();
    if ranges.is_empty() {
        return vec![MediaType::Any];
    }
    ranges.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    ranges.into_iter().map(|(_, m)| m).collect()
}

/// Chooses the answer's media type for a v2 endpoint that answers plain v2
/// JSON: `application/vnd.kafka.v2+json` unless the client prefers
/// `application/json`; 406 when it accepts neither.
pub fn negotiate_v2(headers: &HeaderMap) -> Result<&'static str, RestError> {
    for range in accepted(headers) {
        match range {
            MediaType::Kafka {
                embedded: None,
                version,
            } if version == "v2" => return Ok(V2_JSON),
            MediaType::KafkaAnyVersion | MediaType::Any => return Ok(V2_JSON),
            MediaType::Json => return Ok("application/json"),
            _ => {}
        }
    }
    Err(RestError::not_acceptable())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn parses_confluent_media_types() {
        assert_eq!(
            MediaType::parse("application/vnd.kafka.avro.v2+json; charset=utf-8"),
            MediaType::Kafka {
                embedded: Some(EmbeddedFormat::Avro),
                version: "v2".into()
            }
        );
        assert_eq!(
            MediaType::parse("application/vnd.kafka.v2+json"),
            MediaType::Kafka {
                embedded: None,
                version: "v2".into()
            }
        );
        assert_eq!(MediaType::parse("application/json"), MediaType::Json);
        assert!(matches!(
            MediaType::parse("application/vnd.kafka.xml.v2+json"),
            MediaType::Other(_)
        ));
    }

    #[test]
    fn accept_is_ordered_by_quality() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;q=0.5, application/vnd.kafka.v2+json"),
        );
        assert_eq!(negotiate_v2(&headers).unwrap(), V2_JSON);
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        assert_eq!(negotiate_v2(&headers).unwrap_err().status.as_u16(), 406);
    }
}
