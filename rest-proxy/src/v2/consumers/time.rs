//! Times in seek requests: Confluent takes ISO 8601 instants
//! (`2024-05-01T12:00:00Z`, `...T12:00:00.250+02:00`); epoch milliseconds
//! are accepted too.

use serde_json::Value;

use crate::error::RestError;
use crate::instant::parse_iso_instant;

/// Milliseconds since the epoch of a JSON timestamp.
pub(crate) fn parse_timestamp(value: &Value) -> Result<i64, RestError> {
    let bad = || RestError::unprocessable(format!("invalid timestamp {value}"));
    match value {
        Value::Number(n) => n.as_i64().filter(|ms| *ms >= 0).ok_or_else(bad),
        Value::String(text) => parse_rfc3339(text).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// `YYYY-MM-DD(T|t| )HH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`: the shared ISO
/// parser, with the space separator RFC 3339 also allows.
fn parse_rfc3339(text: &str) -> Option<i64> {
    match text.as_bytes().get(10) {
        Some(b' ') => parse_iso_instant(&format!("{}T{}", &text[..10], &text[11..])),
        _ => parse_iso_instant(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_iso_instants_and_millis() {
        assert_eq!(parse_timestamp(&json!("1970-01-01T00:00:00Z")).unwrap(), 0);
        assert_eq!(
            parse_timestamp(&json!("2024-02-29T12:30:15.25Z")).unwrap(),
            1_709_209_815_250
        );
        assert_eq!(
            parse_timestamp(&json!("2024-02-29T14:30:15.250+02:00")).unwrap(),
            1_709_209_815_250
        );
        assert_eq!(parse_timestamp(&json!(42)).unwrap(), 42);
        assert_eq!(
            parse_timestamp(&json!("yesterday")).unwrap_err().error_code,
            422
        );
        assert!(parse_timestamp(&json!(-1)).is_err());
    }
}
