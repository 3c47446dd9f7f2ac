//! `POST /v3/clusters/{c}/topics/{t}/records`: a stream of concatenated
//! JSON records in, a stream of results out, one per record, in order,
//! each sent once its record is durable (acks=all).
//!
//! The pump reads whatever the body has delivered (up to a window's worth),
//! encodes those records, and sends them as one Produce request (one batch
//! per partition), keeping up to [`MAX_IN_FLIGHT`] such requests running
//! while it reads on. Results leave in request order as windows complete.
//! When more records arrive than Produce keeps up with, the body waits in
//! the socket and the next window is larger, so batches grow with load.
//!
//! Order: records of one partition must be appended in request order
//! although several Produce requests are in flight. Each window's Produce is
//! polled once as soon as it is built, before the next window exists; the
//! in-process backend appends during that first poll (appends are
//! synchronous, only the wait for fsync is not), and a socket backend would
//! write its request then, so windows reach the log in order.
//!
//! A body that is not JSON ends the stream with a 400 result, as kafka-rest
//! does; a record that is JSON but not a valid record, or whose key or
//! value does not encode, is answered with its error in place and the
//! stream goes on. When the proxy stops, reading stops, the records read so
//! far are answered and the response ends.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::BodyDataStream;
use bytes::{Buf, Bytes, BytesMut};
use futures::stream::FuturesOrdered;
use futures::{FutureExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::encode::RecordEncoder;
use super::request::RecordRequest;
use super::window::{Target, Window};
use crate::error::RestError;

/// A window's Produce, answering each record in order.
type Produce = Pin<Box<dyn Future<Output = Vec<Result<Value, RestError>>> + Send>>;

/// Produce requests kept running while reading more records.
const MAX_IN_FLIGHT: usize = 8;
/// Bytes of body gathered into one window before it is sent.
const WINDOW_BYTES: usize = 1 << 20;
/// The most records in one window.
const WINDOW_RECORDS: usize = 20_000;

/// Splits concatenated JSON values out of the bytes received so far.
#[derive(Default)]
pub(crate) struct JsonSplitter {
    buf: BytesMut,
}

impl JsonSplitter {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The complete values received, and the syntax error that ends the
    /// stream if any (at the end of the body, an unfinished value too).
    pub(crate) fn take(&mut self, at_end: bool, max: usize) -> (Vec<Value>, Option<RestError>) {
        let mut values = Vec::new();
        let mut consumed = 0;
        let mut error = None;
        {
            let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
            while values.len() < max {
                match it.next() {
                    None => {
                        consumed = self.buf.len();
                        break;
                    }
                    Some(Ok(v)) => {
                        values.push(v);
                        consumed = it.byte_offset();
                    }
                    Some(Err(e)) if e.is_eof() && !at_end => break,
                    Some(Err(e)) => {
                        error = Some(RestError::bad_request(format!(
                            "Unexpected JSON in the request body: {e}"
                        )));
                        consumed = self.buf.len();
                        break;
                    }
                }
            }
        }
        self.buf.advance(consumed);
        (values, error)
    }
}

/// Answers one record's result line.
fn line(result: Result<Value, RestError>) -> Vec<u8> {
    let value = match result {
        Ok(v) => v,
        Err(e) => e.body(),
    };
    let mut out = serde_json::to_vec(&value).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Reads the records of `body`, produces them and sends their results to
/// `out`, in order, until the body ends, the client goes or the proxy stops.
pub(crate) async fn pump(
    target: Arc<Target>,
    mut splitter: JsonSplitter,
    mut body: BodyDataStream,
    out: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let stopped = target.proxy.stopped();
    tokio::pin!(stopped);
    let mut encoder = RecordEncoder::new(target.proxy.clone(), &target.topic);
    let mut in_flight: FuturesOrdered<Produce> = FuturesOrdered::new();
    let mut reading = true;
    // Records already buffered before the first read (the peeked chunk).
    let mut pending = splitter.buffered() > 0;
    loop {
        if pending && in_flight.len() < MAX_IN_FLIGHT {
            let (values, error) = splitter.take(!reading, WINDOW_RECORDS);
            if error.is_some() {
                reading = false;
            }
            let full = values.len() == WINDOW_RECORDS;
            let window = build_window(&target, &mut encoder, values, error).await;
            if window.len() > 0 {
                let t = target.clone();
                let mut produce: Produce = Box::pin(async move { window.produce(&t).await });
                // Polled once now, so that windows reach the backend in
                // order (see the module doc); a later poll by `in_flight`
                // registers the real waker.
                if let Some(results) = (&mut produce).now_or_never() {
                    produce = Box::pin(futures::future::ready(results));
                }
                in_flight.push_back(produce);
            }
            // A full window leaves complete records behind; at the end of
            // the body an unfinished one is answered as an error.
            pending = full || (!reading && splitter.buffered() > 0);
            continue;
        }
        tokio::select! {
            biased;
            Some(results) = in_flight.next(), if !in_flight.is_empty() => {
                let mut bytes = Vec::new();
                for r in results {
                    bytes.extend(line(r));
                }
                if out.send(Ok(Bytes::from(bytes))).await.is_err() {
                    return;
                }
            }
            chunk = body.next(), if reading && !pending => {
                match chunk {
                    Some(Ok(bytes)) => splitter.push(&bytes),
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "produce stream body ended with an error");
                        reading = false;
                    }
                    None => reading = false,
                }
                // Gather what else has already arrived into the same window.
                while reading && splitter.buffered() < WINDOW_BYTES {
                    match body.next().now_or_never() {
                        Some(Some(Ok(bytes))) => splitter.push(&bytes),
                        Some(Some(Err(_))) | Some(None) => reading = false,
                        None => break,
                    }
                }
                pending = true;
            }
            _ = &mut stopped, if reading => {
                reading = false;
                pending = splitter.buffered() > 0;
            }
            else => break,
        }
    }
}

async fn build_window(
    target: &Target,
    encoder: &mut RecordEncoder,
    values: Vec<Value>,
    error: Option<RestError>,
) -> Window {
    let mut window = Window::default();
    let sticky = target.next_sticky();
    for value in values {
        let prepared = match RecordRequest::deserialize(value) {
            Ok(request) => encoder.prepare(request).await,
            Err(e) => Err(RestError::bad_request(format!(
                "Cannot deserialize the record: {e}"
            ))),
        };
        window.push(target, prepared, sticky);
    }
    if let Some(e) = error {
        window.push(target, Err(e), sticky);
    }
    window
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_concatenated_values_across_chunks() {
        let mut s = JsonSplitter::default();
        s.push(br#"{"a":1}{"b":2} {"c""#);
        let (v, e) = s.take(false, 100);
        assert_eq!(v.len(), 2);
        assert!(e.is_none());
        s.push(br#":3}"#);
        let (v, e) = s.take(false, 100);
        assert_eq!(v, vec![serde_json::json!({"c": 3})]);
        assert!(e.is_none());
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn a_syntax_error_ends_the_stream() {
        let mut s = JsonSplitter::default();
        s.push(br#"{"a":1} nope {"b":2}"#);
        let (v, e) = s.take(false, 100);
        assert_eq!(v.len(), 1);
        assert_eq!(e.unwrap().status.as_u16(), 400);
    }

    #[test]
    fn an_unfinished_value_at_the_end_is_an_error() {
        let mut s = JsonSplitter::default();
        s.push(br#"{"a":1} {"b":"#);
        let (v, e) = s.take(true, 100);
        assert_eq!(v.len(), 1);
        assert!(e.is_some());
    }
}
