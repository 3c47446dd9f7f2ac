//! The JSON of one record to produce, as kafka-rest's v3 `ProduceRequest`
//! and `ProduceBatchRequestEntry` read it, and the ISO-8601 instants v3
//! uses for timestamps.

use serde::Deserialize;
use serde_json::Value;

use crate::error::RestError;

/// One record of a produce stream or a batch (whose `id` is read apart).
#[derive(Debug, Deserialize)]
pub(crate) struct RecordRequest {
    #[serde(default)]
    pub partition_id: Option<i32>,
    #[serde(default)]
    pub headers: Option<Vec<HeaderRequest>>,
    #[serde(default)]
    pub key: Option<DataRequest>,
    #[serde(default)]
    pub value: Option<DataRequest>,
    #[serde(default)]
    pub timestamp: Option<Value>,
}

/// A record header: a name and a base64 value (absent or null: no value).
#[derive(Debug, Deserialize)]
pub(crate) struct HeaderRequest {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// A key or value: its data and how to write it.
#[derive(Debug, Deserialize)]
pub(crate) struct DataRequest {
    #[serde(default, rename = "type")]
    pub format: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub subject_name_strategy: Option<String>,
    #[serde(default)]
    pub schema_id: Option<u32>,
    #[serde(default)]
    pub schema_version: Option<i32>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub data: Value,
}

/// How a key or value is written (kafka-rest's `EmbeddedFormat` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum DataType {
    Binary,
    Json,
    String,
    Avro,
    JsonSchema,
    Protobuf,
}

impl DataType {
    pub(crate) fn parse(name: &str) -> Result<Self, RestError> {
        Ok(match name {
            "BINARY" => DataType::Binary,
            "JSON" => DataType::Json,
            "STRING" => DataType::String,
            "AVRO" => DataType::Avro,
            "JSONSCHEMA" => DataType::JsonSchema,
            "PROTOBUF" => DataType::Protobuf,
            other => {
                return Err(RestError::bad_request(format!(
                    "Cannot deserialize value of type `EmbeddedFormat` from String \"{other}\": not one of the values accepted for Enum class: [AVRO, JSONSCHEMA, PROTOBUF, BINARY, JSON, STRING]"
                )))
            }
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            DataType::Binary => "BINARY",
            DataType::Json => "JSON",
            DataType::String => "STRING",
            DataType::Avro => "AVRO",
            DataType::JsonSchema => "JSONSCHEMA",
            DataType::Protobuf => "PROTOBUF",
        }
    }

    pub(crate) fn uses_schema(self) -> bool {
        matches!(
            self,
            DataType::Avro | DataType::JsonSchema | DataType::Protobuf
        )
    }

    pub(crate) fn of_schema(schema_type: strata_schema_registry::SchemaType) -> Self {
        match schema_type {
            strata_schema_registry::SchemaType::Avro => DataType::Avro,
            strata_schema_registry::SchemaType::Json => DataType::JsonSchema,
            strata_schema_registry::SchemaType::Protobuf => DataType::Protobuf,
        }
    }
}

/// A request timestamp in milliseconds. kafka-rest reads a Java `Instant`
/// with Jackson: an ISO-8601 string (`2021-02-05T19:14:42.123Z`), or a
/// number of seconds since the epoch (a fraction giving sub-seconds).
pub(crate) fn parse_timestamp(value: &Value) -> Result<Option<i64>, RestError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(seconds) = n.as_i64() {
                seconds
                    .checked_mul(1000)
                    .map(Some)
                    .ok_or_else(|| bad_timestamp(value))
            } else {
                let seconds = n.as_f64().ok_or_else(|| bad_timestamp(value))?;
                Ok(Some((seconds * 1000.0).round() as i64))
            }
        }
        Value::String(text) => parse_iso_instant(text)
            .map(Some)
            .ok_or_else(|| bad_timestamp(value)),
        _ => Err(bad_timestamp(value)),
    }
}

fn bad_timestamp(value: &Value) -> RestError {
    RestError::bad_request(format!(
        "Cannot deserialize value of type `java.time.Instant` from {value}: expected an ISO-8601 instant such as 2021-02-05T19:14:42.123Z"
    ))
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into epoch milliseconds.
pub(crate) fn parse_iso_instant(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let mut ms = 0i64;
        for (i, c) in fraction.bytes().take(3).enumerate().take(digits) {
            ms += i64::from(c - b'0') * 10i64.pow(2 - i as u32);
        }
        millis = ms;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let rb = rest.as_bytes();
            if rest.len() != 6 || rb[3] != b':' {
                return None;
            }
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            sign * (h * 60 + m)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Epoch milliseconds as Jackson writes an `Instant` (`ISO_INSTANT`): UTC,
/// the fraction only when not zero.
pub(crate) fn format_instant(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    if millis == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{millis:03}Z")
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instants_round_trip() {
        assert_eq!(parse_iso_instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso_instant("2021-02-05T19:14:42.123Z"),
            Some(1_612_552_482_123)
        );
        assert_eq!(
            parse_iso_instant("2021-02-05T20:14:42.1+01:00"),
            Some(1_612_552_482_100)
        );
        assert_eq!(
            format_instant(1_612_552_482_123),
            "2021-02-05T19:14:42.123Z"
        );
        assert_eq!(format_instant(1_612_552_482_000), "2021-02-05T19:14:42Z");
        assert_eq!(parse_iso_instant("2021-02-05 19:14:42Z"), None);
        assert_eq!(parse_iso_instant("yesterday"), None);
    }

    #[test]
    fn numbers_are_seconds_as_jackson_reads_them() {
        assert_eq!(parse_timestamp(&json!(1)).unwrap(), Some(1000));
        assert_eq!(parse_timestamp(&json!(1.5)).unwrap(), Some(1500));
        assert_eq!(parse_timestamp(&json!(null)).unwrap(), None);
        assert!(parse_timestamp(&json!(true)).is_err());
    }
}
