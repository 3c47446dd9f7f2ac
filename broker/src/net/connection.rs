//! One Kafka connection: frames in, responses out in request order.
//!
//! The reader decodes each frame and spawns its handler at once, so pipelined
//! requests (librdkafka keeps up to five in flight) run concurrently; the
//! writer awaits them in arrival order, as the protocol requires. A frame or
//! request that cannot be decoded closes this connection only, after the
//! answers to the requests before it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestKind};
use strata_governance::{Identity, Principal};
use strata_wire::frame::{peek_length, split_frame, LENGTH_PREFIX};
use strata_wire::request::{decode_request, RequestError};
use strata_wire::response::encode_response;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::frame_pool::{FramePool, POOLED_FRAME_MIN};
use crate::broker::Broker;
use crate::handlers::{self, AppendTurn, RequestContext};

/// Requests read ahead of their responses before the reader waits.
const MAX_IN_FLIGHT: usize = 32;

/// A response that is ready, or still being worked on.
enum Pending {
    Ready(Bytes),
    Working(JoinHandle<Option<Bytes>>),
}

pub(super) struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<Broker>,
    shutdown: watch::Receiver<bool>,
}

impl Connection {
    pub(super) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        broker: Arc<Broker>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Connection {
            stream,
            peer,
            broker,
            shutdown,
        }
    }

    pub(super) async fn run(self) {
        let peer = self.peer;
        let broker = self.broker.clone();
        broker.metrics.connections.inc();
        self.serve()
            .instrument(tracing::debug_span!("connection", %peer))
            .await;
        broker.metrics.connections.dec();
    }

    async fn serve(self) {
        let Connection {
            stream,
            peer,
            broker,
            mut shutdown,
        } = self;
        let _ = stream.set_nodelay(true);
        let (mut reader, writer) = stream.into_split();
        let mut requests = RequestStarter {
            peer,
            broker,
            last_append_turn: None,
        };
        let (queue, pending) = mpsc::channel(MAX_IN_FLIGHT);
        let writer = tokio::spawn(write_responses(writer, pending));
        let identity = Arc::new(Identity::new(Principal::anonymous(), peer.ip().to_string()));
        let max_frame = requests.broker.cluster.properties.socket_request_max_bytes;
        let mut buf = BytesMut::with_capacity(16 * 1024);
        let pool = Arc::new(FramePool::default());
        'read: loop {
            loop {
                let frame = match peek_length(&buf, max_frame) {
                    Ok(Some(length))
                        if length >= POOLED_FRAME_MIN && buf.len() < LENGTH_PREFIX + length =>
                    {
                        match read_pooled_frame(&mut reader, &mut buf, length, &pool, &mut shutdown)
                            .await
                        {
                            Some(frame) => frame,
                            None => break 'read,
                        }
                    }
                    Ok(_) => match split_frame(&mut buf, max_frame) {
                        Ok(Some(frame)) => frame,
                        Ok(None) => break,
                        Err(e) => {
                            requests.bad_input(&e);
                            break 'read;
                        }
                    },
                    Err(e) => {
                        requests.bad_input(&e);
                        break 'read;
                    }
                };
                let Some(next) = requests.start(frame, &identity) else {
                    break 'read;
                };
                if let Some(next) = next {
                    if queue.send(next).await.is_err() {
                        break 'read;
                    }
                }
            }
            if !read_more(&mut reader, &mut buf, &mut shutdown).await {
                break;
            }
        }
        drop(queue);
        let _ = writer.await;
    }
}

/// Reads the rest of a large frame, whose length prefix and first bytes are
/// in `buf`, into a buffer from the connection's pool. `None`: the peer went
/// away or the broker is shutting down.
async fn read_pooled_frame(
    reader: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    length: usize,
    pool: &Arc<FramePool>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Bytes> {
    buf.advance(LENGTH_PREFIX);
    let mut body = pool.take(length);
    body.extend_from_slice(&buf.split_to(buf.len().min(length)));
    while body.len() < length {
        let mut rest = (&mut *reader).take((length - body.len()) as u64);
        if !read_more(&mut rest, &mut body, shutdown).await {
            return None;
        }
    }
    Some(pool.frame(body))
}

/// Reads what the socket has into `buf`. False when the peer closed the
/// connection, the read failed, or the broker is shutting down.
async fn read_more(
    reader: &mut (impl AsyncRead + Unpin),
    buf: &mut impl BufMut,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        read = reader.read_buf(buf) => match read {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => {
                tracing::debug!(error = %e, "read failed");
                false
            }
        },
        _ = shutdown.changed() => false,
    }
}

/// Decodes requests of one connection and spawns their handlers.
struct RequestStarter {
    peer: SocketAddr,
    broker: Arc<Broker>,
    /// Released when the last request that changes logs has made its change.
    last_append_turn: Option<oneshot::Receiver<()>>,
}

impl RequestStarter {
    fn bad_input(&self, cause: &dyn std::fmt::Display) {
        self.broker.metrics.closed_for_bad_input.inc();
        tracing::info!(peer = %self.peer, cause = %cause, "closing connection: bad input");
    }

    /// Decodes a frame and starts its handler. `None`: close the connection;
    /// `Some(None)`: nothing to answer (acks=0 produce is answered by no response).
    fn start(&mut self, frame: Bytes, identity: &Arc<Identity>) -> Option<Option<Pending>> {
        let request = match decode_request(frame, handlers::is_served) {
            Ok(request) => request,
            Err(RequestError::UnsupportedVersion {
                api_key: ApiKey::ApiVersions,
                version,
                correlation_id,
            }) => {
                // KIP-511: answer in v0 so the client can learn what we serve.
                tracing::debug!(version, "ApiVersions at an unsupported version");
                return Some(Some(Pending::Ready(
                    handlers::unsupported_version_response(correlation_id),
                )));
            }
            Err(e) => {
                self.bad_input(&e);
                return None;
            }
        };
        let api_key = request.api_key;
        let version = request.header.request_api_version;
        let correlation_id = request.header.correlation_id;
        let no_response = matches!(&request.body, RequestKind::Produce(p) if p.acks == 0);
        let append_turn = matches!(api_key, ApiKey::Produce | ApiKey::DeleteRecords).then(|| {
            let (turn, next) = AppendTurn::after(self.last_append_turn.take());
            self.last_append_turn = Some(next);
            turn
        });
        let client_id = request
            .header
            .client_id
            .as_deref()
            .unwrap_or("")
            .to_string();
        let ctx = RequestContext {
            broker: self.broker.clone(),
            version,
            identity: identity.clone(),
            client_id: client_id.clone(),
            client_host: format!("/{}", self.peer.ip()),
            append_turn: parking_lot::Mutex::new(append_turn),
        };
        let span =
            tracing::debug_span!("request", api = ?api_key, version, correlation_id, client_id);
        let handle = tokio::spawn(
            async move {
                let started = Instant::now();
                let api = api_name(api_key);
                let response = match handlers::dispatch(&ctx, request.body).await {
                    Ok(response) => response,
                    Err(e) => {
                        tracing::error!(error = %e, "unrouted request");
                        return None;
                    }
                };
                let metrics = &ctx.broker.metrics;
                metrics.requests.with_label_values(&[api]).inc();
                metrics.request_duration.with_label_values(&[api]).observe(started.elapsed().as_secs_f64());
                if no_response {
                    return Some(Bytes::new());
                }
                match encode_response(api_key, version, correlation_id, &response) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        tracing::error!(error = %e, "response could not be encoded; closing connection");
                        None
                    }
                }
            }
            .instrument(span),
        );
        Some(Some(Pending::Working(handle)))
    }
}

/// Writes responses in request order; stops (closing the socket) at the first
/// request whose handler failed.
async fn write_responses(mut writer: OwnedWriteHalf, mut pending: mpsc::Receiver<Pending>) {
    while let Some(next) = pending.recv().await {
        let bytes = match next {
            Pending::Ready(bytes) => bytes,
            Pending::Working(handle) => match handle.await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "request handler panicked; closing connection");
                    break;
                }
            },
        };
        if bytes.is_empty() {
            continue;
        }
        if let Err(e) = writer.write_all(&bytes).await {
            tracing::debug!(error = %e, "write failed");
            break;
        }
    }
    let _ = writer.shutdown().await;
}

/// A static label for metrics.
fn api_name(api_key: ApiKey) -> &'static str {
    handlers::ROUTES
        .iter()
        .find(|r| r.api_key == api_key)
        .map(|r| r.name)
        .unwrap_or("unknown")
}
