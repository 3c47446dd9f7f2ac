//! Times in seek requests: Confluent takes ISO 8601 instants
//! (`2024-05-01T12:00:00Z`, `...T12:00:00.250+02:00`); epoch milliseconds
//! are accepted too.

use serde_json::Value;

use crate::error::RestError;

/// Milliseconds since the epoch of a JSON timestamp.
pub(crate) fn parse_timestamp(value: &Value) -> Result<i64, RestError> {
    let bad = || RestError::unprocessable(format!("invalid timestamp {value}"));
    match value {
        Value::Number(n) => n.as_i64().filter(|ms| *ms >= 0).ok_or_else(bad),
        Value::String(text) => parse_rfc3339(text).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let s = text.get(from..to)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 60 + m)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
