//! Subject aliases: Confluent's `AliasFilter`. Before routing, the path
//! segment after each `subjects` segment (`/subjects/{s}/...`,
//! `/compatibility/subjects/{s}/...`), and the `subject` query parameter of
//! `/schemas/ids/...`, is replaced by the subject its own config names as
//! `alias`, so every request for an alias acts on the target. `/config/{s}`
//! and `/mode/{s}` are not rewritten: they set and read the alias itself.
//! One step only, as in Confluent: an alias of an alias is not followed.

use axum::extract::{Request, State};
use axum::http::uri::{PathAndQuery, Uri};

use super::Shared;

/// Rewrites the request's path and query if they name an alias.
pub(super) async fn rewrite(State(s): State<Shared>, mut request: Request) -> Request {
    let uri = request.uri();
    let path = uri.path();
    let registry = s.read();
    let target = |encoded: &str| -> Option<String> {
        let subject = percent_decode(encoded)?;
        registry.alias_of(&subject).map(percent_encode)
    };
    let mut changed = false;
    let mut segments: Vec<String> = Vec::new();
    let mut after_subjects = false;
    for segment in path.split('/') {
        let replaced = if after_subjects {
            target(segment)
        } else {
            None
        };
        after_subjects = segment == "subjects";
        changed |= replaced.is_some();
        segments.push(replaced.unwrap_or_else(|| segment.to_owned()));
    }
    let mut query = uri.query().map(str::to_owned);
    if path.trim_start_matches('/').starts_with("schemas/ids") {
        if let Some(q) = &query {
            let pairs: Vec<String> = q
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some(("subject", value)) => match target(&value.replace('+', " ")) {
                        Some(alias) => {
                            changed = true;
                            format!("subject={alias}")
                        }
                        None => pair.to_owned(),
                    },
                    _ => pair.to_owned(),
                })
                .collect();
            query = Some(pairs.join("&"));
        }
    }
    drop(registry);
    if !changed {
        return request;
    }
    let mut path_and_query = segments.join("/");
    if let Some(q) = query {
        path_and_query = format!("{path_and_query}?{q}");
    }
    if let Ok(pq) = path_and_query.parse::<PathAndQuery>() {
        let mut parts = request.uri().clone().into_parts();
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// `%XX` escapes decoded; `None` when they do not make UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Every byte but the URI's unreserved ones escaped.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        for s in ["plain", "with space", "a/b:c", "ünï"] {
            assert_eq!(percent_decode(&percent_encode(s)).as_deref(), Some(s));
        }
        assert_eq!(percent_decode("a%2"), Some("a%2".into()));
        assert_eq!(percent_decode("%FF"), None);
    }
}
