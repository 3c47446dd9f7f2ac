//! The live tail: `Accept: text/event-stream` on the v3 read answers
//! Server-Sent Events, one `record` event per record (`id:` its offset, so
//! a reconnecting `EventSource` resumes with `Last-Event-ID`), fetched with
//! long polls until the client goes or the proxy stops. A comment line is
//! sent when nothing arrived for a while, so a gone client is noticed. A
//! Kafka error ends the stream with an `error` event holding Confluent's
//! error body.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::mpsc;

use super::fetch;
use crate::backend::Caller;
use crate::Shared;

/// How long one Fetch waits for new records.
const POLL_MS: i32 = 1_000;
/// A keep-alive comment after this long without events.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) fn tail(
    proxy: Shared,
    caller: Caller,
    topic: String,
    partition: i32,
    offset: i64,
    max_bytes: i32,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        let stopped = proxy.stopped();
        tokio::pin!(stopped);
        let mut offset = offset;
        let mut last_sent = Instant::now();
        loop {
            let fetched = tokio::select! {
                _ = &mut stopped => return,
                _ = tx.closed() => return,
                r = fetch::fetch(&proxy, &caller, &topic, partition, offset, max_bytes, POLL_MS) => r,
            };
            let fetched = match fetched {
                Ok(f) => f,
                Err(e) => {
                    let event = format!("event: error\ndata: {}\n\n", e.body());
                    let _ = tx.send(Ok(Bytes::from(event))).await;
                    return;
                }
            };
            let mut out = String::new();
            for r in &fetched.records {
                let json = fetch::record_json(&proxy.registry, partition, r);
                out.push_str(&format!(
                    "id: {}\nevent: record\ndata: {json}\n\n",
                    r.offset
                ));
            }
            offset = fetched.next_offset;
            if out.is_empty() && last_sent.elapsed() >= KEEP_ALIVE {
                out.push_str(": keep-alive\n\n");
            }
            if !out.is_empty() {
                last_sent = Instant::now();
                if tx.send(Ok(Bytes::from(out))).await.is_err() {
                    return;
                }
            }
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
