//! The body of `POST /consumers/{group}`: an instance's name, embedded
//! format and consumer settings, validated as Confluent validates them
//! (an unknown format is 422, a setting the Kafka consumer would refuse is
//! 42204, a `fetch.min.bytes` outside its range is 40001).

use std::time::Duration;

use serde::Deserialize;

use crate::error::RestError;
use crate::media::EmbeddedFormat;

/// Where a partition without a committed offset starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OffsetReset {
    Earliest,
    Latest,
    /// Reading such a partition is an error (Kafka's `none`).
    None,
}

/// What an instance was created with.
#[derive(Debug, Clone)]
pub(crate) struct InstanceConfig {
    pub(crate) name: String,
    pub(crate) format: EmbeddedFormat,
    pub(crate) offset_reset: OffsetReset,
    pub(crate) auto_commit: bool,
    /// A records request answers once it holds more than this many bytes
    /// (`None`: only when full or timed out, Confluent's default of -1).
    pub(crate) fetch_min_bytes: Option<u64>,
    /// The longest a records request waits (`None`: the proxy's default).
    pub(crate) request_timeout: Option<Duration>,
}

/// The JSON fields, with Confluent's names and aliases.
#[derive(Debug, Default, Deserialize)]
struct Body {
    id: Option<String>,
    name: Option<String>,
    format: Option<String>,
    #[serde(rename = "auto.offset.reset")]
    auto_offset_reset: Option<String>,
    #[serde(rename = "auto.commit.enable")]
    auto_commit_enable: Option<String>,
    #[serde(rename = "fetch.min.bytes", alias = "responseMinBytes")]
    fetch_min_bytes: Option<i64>,
    #[serde(rename = "consumer.request.timeout.ms", alias = "requestWaitMs")]
    request_timeout_ms: Option<i64>,
}

/// Confluent's `fetch.min.bytes` bounds for the proxy (-1 to 10 MB).
const MAX_FETCH_MIN_BYTES: i64 = 10 * 1024 * 1024;

impl InstanceConfig {
    /// Parses and validates a create body (empty: every default, as
    /// Confluent treats a missing body).
    pub(crate) fn parse(body: &[u8]) -> Result<InstanceConfig, RestError> {
        let body: Body = if body.iter().all(u8::is_ascii_whitespace) {
            Body::default()
        } else {
            serde_json::from_slice(body).map_err(|e| RestError::unprocessable(e.to_string()))?
        };
        let format = match &body.format {
            None => EmbeddedFormat::Binary,
            Some(f) => EmbeddedFormat::parse(f)
                .ok_or_else(|| RestError::unprocessable("Invalid format type."))?,
        };
        let offset_reset = match body.auto_offset_reset.as_deref().map(str::trim) {
            // Confluent's default is the Kafka consumer's: latest.
            None | Some("latest") | Some("largest") => OffsetReset::Latest,
            Some("earliest") | Some("smallest") => OffsetReset::Earliest,
            Some("none") => OffsetReset::None,
            Some(other) => {
                return Err(RestError::invalid_consumer_config(format!(
                    "Invalid value {other} for configuration auto.offset.reset: String must be one of: latest, earliest, none"
                )))
            }
        };
        let auto_commit = match body.auto_commit_enable.as_deref().map(str::trim) {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                return Err(RestError::invalid_consumer_config(format!(
                    "Invalid value {other} for configuration enable.auto.commit: Expected value to be either true or false"
                )))
            }
        };
        let fetch_min_bytes = match body.fetch_min_bytes {
            None | Some(-1) => None,
            Some(n) if (0..=MAX_FETCH_MIN_BYTES).contains(&n) => Some(n as u64),
            Some(n) => {
                return Err(RestError::invalid_consumer_config_constraint(format!(
                    "Invalid value {n} for configuration fetch.min.bytes: Value must be in [-1, {MAX_FETCH_MIN_BYTES}]"
                )))
            }
        };
        let request_timeout = match body.request_timeout_ms {
            None => None,
            Some(ms) if ms > 0 => Some(Duration::from_millis(ms as u64)),
            Some(ms) => {
                return Err(RestError::invalid_consumer_config(format!(
                    "Invalid value {ms} for configuration consumer.request.timeout.ms: must be positive"
                )))
            }
        };
        // The legacy `id` field names the instance too, and wins (Confluent).
        let name = match body.id.or(body.name) {
            Some(name) if name.is_empty() => {
                return Err(RestError::unprocessable("name must not be empty"))
            }
            Some(name) if name.contains('/') => {
                return Err(RestError::unprocessable("name must not contain '/'"))
            }
            Some(name) => name,
            None => format!("rest-consumer-{}", uuid::Uuid::new_v4()),
        };
        Ok(InstanceConfig {
            name,
            format,
            offset_reset,
            auto_commit,
            fetch_min_bytes,
            request_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_confluents() {
        let c = InstanceConfig::parse(b"").unwrap();
        assert_eq!(c.format, EmbeddedFormat::Binary);
        assert_eq!(c.offset_reset, OffsetReset::Latest);
        assert!(c.auto_commit);
        assert!(c.fetch_min_bytes.is_none());
        assert!(c.name.starts_with("rest-consumer-"));
    }

    #[test]
    fn bad_settings_get_confluents_codes() {
        let code = |b: &str| InstanceConfig::parse(b.as_bytes()).unwrap_err().error_code;
        assert_eq!(code(r#"{"format":"xml"}"#), 422);
        assert_eq!(code(r#"{"auto.offset.reset":"sideways"}"#), 42204);
        assert_eq!(code(r#"{"auto.commit.enable":"maybe"}"#), 42204);
        assert_eq!(code(r#"{"fetch.min.bytes":-5}"#), 40001);
        let c = InstanceConfig::parse(
            br#"{"name":"a","format":"JSON","auto.offset.reset":"earliest","auto.commit.enable":"false","fetch.min.bytes":1}"#,
        )
        .unwrap();
        assert_eq!(
            (
                c.name.as_str(),
                c.format,
                c.offset_reset,
                c.auto_commit,
                c.fetch_min_bytes
            ),
            (
                "a",
                EmbeddedFormat::Json,
                OffsetReset::Earliest,
                false,
                Some(1)
            )
        );
    }
}
