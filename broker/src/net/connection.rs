//! One Kafka connection: frames in, responses out in request order.
//!
//! The reader decodes each frame and spawns its handler at once, so pipelined
//! requests (librdkafka keeps up to five in flight) run concurrently; the
//! writer awaits them in arrival order, as the protocol requires. A frame or
//! request that cannot be decoded closes this connection only, after the
//! answers to the requests before it.
//!
//! On SSL listeners the TLS handshake comes first (bounded by
//! [`TLS_HANDSHAKE_TIMEOUT`]); plaintext sockets keep `TcpStream`'s own
//! halves, so the plaintext path is the same code as before TLS existed. On
//! SASL listeners, requests pass through the connection's [`SaslSession`]
//! until it has logged in.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestKind};
use strata_governance::audit::{AuditEvent, Face};
use strata_governance::{Identity, Principal};
use strata_wire::frame::{peek_length, split_frame, LENGTH_PREFIX};
use strata_wire::request::{decode_request, Request, RequestError};
use strata_wire::response::encode_response;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::frame_pool::{FramePool, POOLED_FRAME_MIN};
use super::listeners::ListenerContext;
use super::sasl::{SaslSession, Verdict, MAX_UNAUTHENTICATED_FRAME};
use crate::broker::Broker;
use crate::handlers::{self, AppendTurn, RequestContext};
use crate::quotas::throttle::{self, Mute, Served};

/// A client that has not finished its TLS handshake by then is disconnected.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
    listener: Arc<ListenerContext>,
    shutdown: watch::Receiver<bool>,
}

impl Connection {
    pub(super) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        broker: Arc<Broker>,
        listener: Arc<ListenerContext>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Connection {
            stream,
            peer,
            broker,
            listener,
            shutdown,
        }
    }

    pub(super) async fn run(self) {
        let peer = self.peer;
        let gauge = self
            .broker
            .metrics
            .connections
            .with_label_values(&[&self.listener.name]);
        gauge.inc();
        let span = tracing::debug_span!("connection", %peer, listener = %self.listener.name);
        self.serve().instrument(span).await;
        gauge.dec();
    }

    async fn serve(self) {
        let Connection {
            stream,
            peer,
            broker,
            listener,
            shutdown,
        } = self;
        let _ = stream.set_nodelay(true);
        let host = peer.ip().to_string();
        let sasl = listener
            .protocol
            .sasl()
            .then(|| SaslSession::new(listener.clone()));
        let Some(tls) = &listener.tls else {
            let identity = Arc::new(Identity::new(Principal::anonymous(), host));
            let requests = RequestStarter::new(peer, broker, &listener, identity, sasl);
            let (reader, writer) = stream.into_split();
            return serve_stream(reader, writer, requests, shutdown).await;
        };
        let acceptor = tls.acceptor();
        let stream = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
            .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::info!(%peer, listener = %listener.name, error = %e, "TLS handshake failed");
                broker.audit.record(AuditEvent::login_failed(
                    Face::Kafka,
                    listener.protocol.name(),
                    None,
                    &host,
                    format!("TLS handshake failed: {e}"),
                ));
                return;
            }
            Err(_) => {
                tracing::info!(%peer, listener = %listener.name, "TLS handshake timed out");
                return;
            }
        };
        let principal = {
            let (_, session) = stream.get_ref();
            match session.peer_certificates().map_or(0, |c| c.len()) {
                0 => Principal::anonymous(),
                _ => match crate::tls::peer_principal(session, &listener.mapper) {
                    Some(principal) => principal,
                    None => {
                        tracing::info!(%peer, listener = %listener.name, "no ssl.principal.mapping.rules rule matches the client certificate; closing");
                        broker.audit.record(AuditEvent::login_failed(
                            Face::Kafka,
                            listener.protocol.name(),
                            None,
                            &host,
                            "no ssl.principal.mapping.rules rule matches the client certificate",
                        ));
                        return;
                    }
                },
            }
        };
        let identity = Arc::new(Identity::new(principal, host));
        let requests = RequestStarter::new(peer, broker, &listener, identity, sasl);
        let (reader, writer) = tokio::io::split(stream);
        serve_stream(reader, writer, requests, shutdown).await
    }
}

/// Reads frames, starts their requests, and lets the writer answer them in order.
async fn serve_stream<R, W>(
    mut reader: R,
    writer: W,
    mut requests: RequestStarter,
    mut shutdown: watch::Receiver<bool>,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    {
        let (queue, pending) = mpsc::channel(MAX_IN_FLIGHT);
        let writer = tokio::spawn(write_responses(writer, pending));
        let max_request = requests.broker.cluster.properties.socket_request_max_bytes;
        let mut buf = BytesMut::with_capacity(16 * 1024);
        let pool = Arc::new(FramePool::default());
        'read: loop {
            loop {
                let max_frame = match &requests.sasl {
                    Some(sasl) if !sasl.authenticated() => {
                        max_request.min(MAX_UNAUTHENTICATED_FRAME)
                    }
                    _ => max_request,
                };
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
                // With quotas, requests of a connection are served one at a
                // time, as Kafka serves them, so that a throttle holds back
                // the very next request (KIP-219: it waits unread).
                let turn = match requests.broker.quotas.any() {
                    false => None,
                    true => tokio::select! {
                        turn = requests.one_at_a_time.clone().acquire_owned() => turn.ok(),
                        _ = shutdown.changed() => break 'read,
                    },
                };
                if let Some(wait) = requests.mute.remaining(&requests.broker.quotas) {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => break 'read,
                    }
                }
                match requests.start(frame, turn) {
                    Step::Queue(next) => {
                        if queue.send(next).await.is_err() {
                            break 'read;
                        }
                    }
                    Step::Close => break 'read,
                    Step::FailAfter(delay, answer) => {
                        tokio::time::sleep(delay).await;
                        if let Some(answer) = answer {
                            let _ = queue.send(Pending::Ready(answer)).await;
                        }
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
    reader: &mut (impl AsyncRead + Unpin),
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

/// What the reader does after a frame.
enum Step {
    Queue(Pending),
    Close,
    /// A failed login: wait, send the answer if any, close.
    FailAfter(Duration, Option<Bytes>),
}

/// Decodes requests of one connection and spawns their handlers.
struct RequestStarter {
    peer: SocketAddr,
    broker: Arc<Broker>,
    listener: Arc<str>,
    /// The listener's security protocol (`SASL_SSL`), for audit records.
    protocol: &'static str,
    /// Who the requests are from: anonymous, the client certificate's
    /// principal, or the SASL login's.
    identity: Arc<Identity>,
    /// On SASL listeners: the login's state.
    sasl: Option<SaslSession>,
    /// Released when the last request that changes logs has made its change.
    last_append_turn: Option<oneshot::Receiver<()>>,
    /// Set when a request is throttled: no request is read until it passes.
    mute: Arc<Mute>,
    /// Held by the request being served while quotas are configured.
    one_at_a_time: Arc<tokio::sync::Semaphore>,
}

impl RequestStarter {
    fn new(
        peer: SocketAddr,
        broker: Arc<Broker>,
        listener: &ListenerContext,
        identity: Arc<Identity>,
        sasl: Option<SaslSession>,
    ) -> Self {
        RequestStarter {
            peer,
            broker,
            listener: listener.name.clone(),
            protocol: listener.protocol.name(),
            identity,
            sasl,
            last_append_turn: None,
            mute: Arc::default(),
            one_at_a_time: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }

    /// What a SASL verdict means for the reader.
    fn apply(&mut self, verdict: Verdict) -> Result<Request, Step> {
        match verdict {
            Verdict::Dispatch(request) => Ok(request),
            Verdict::Answer(bytes) => Err(Step::Queue(Pending::Ready(bytes))),
            Verdict::LoggedIn(principal, bytes) => {
                self.identity = Arc::new(Identity::new(principal, self.peer.ip().to_string()));
                Err(Step::Queue(Pending::Ready(bytes)))
            }
            Verdict::Fail {
                answer,
                delay,
                mechanism,
                claimed,
                reason,
            } => {
                self.broker
                    .metrics
                    .authentication_failures
                    .with_label_values(&[&self.listener, mechanism])
                    .inc();
                self.broker.audit.record(AuditEvent::login_failed(
                    Face::Kafka,
                    format!("{}/{mechanism}", self.protocol),
                    claimed,
                    &self.peer.ip().to_string(),
                    reason,
                ));
                Err(Step::FailAfter(delay, answer))
            }
            Verdict::Close(reason) => {
                tracing::info!(peer = %self.peer, listener = %self.listener, reason, "closing connection");
                Err(Step::Close)
            }
        }
    }

    fn bad_input(&self, cause: &dyn std::fmt::Display) {
        self.broker.metrics.closed_for_bad_input.inc();
        tracing::info!(peer = %self.peer, cause = %cause, "closing connection: bad input");
    }

    /// Decodes a frame and starts its handler.
    /// `turn`, when given, is held until the request is answered.
    fn start(&mut self, frame: Bytes, turn: Option<tokio::sync::OwnedSemaphorePermit>) -> Step {
        let request_bytes = frame.len();
        if let Some(sasl) = &mut self.sasl {
            if sasl.expects_raw_token() {
                let verdict = sasl.raw_token(&frame);
                return match self.apply(verdict) {
                    Ok(_) => Step::Close,
                    Err(step) => step,
                };
            }
        }
        let request = match decode_request(frame, handlers::is_served) {
            Ok(request) => request,
            Err(RequestError::UnsupportedVersion {
                api_key: ApiKey::ApiVersions,
                version,
                correlation_id,
            }) => {
                // KIP-511: answer in v0 so the client can learn what we serve.
                tracing::debug!(version, "ApiVersions at an unsupported version");
                return Step::Queue(Pending::Ready(handlers::unsupported_version_response(
                    correlation_id,
                )));
            }
            Err(e) => {
                self.bad_input(&e);
                return Step::Close;
            }
        };
        let request = match &mut self.sasl {
            Some(sasl) => {
                let verdict = sasl.request(request);
                match self.apply(verdict) {
                    Ok(request) => request,
                    Err(step) => return step,
                }
            }
            None => request,
        };
        let api_key = request.api_key;
        let version = request.header.request_api_version;
        let correlation_id = request.header.correlation_id;
        let no_response = matches!(&request.body, RequestKind::Produce(p) if p.acks == 0);
        let append_turn = matches!(
            api_key,
            ApiKey::Produce
                | ApiKey::DeleteRecords
                | ApiKey::OffsetCommit
                | ApiKey::TxnOffsetCommit
        )
        .then(|| {
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
            api: crate::metrics::requests::api_name(api_key),
            face: Face::Kafka,
            version,
            identity: self.identity.clone(),
            client_id: client_id.clone(),
            client_host: format!("/{}", self.peer.ip()),
            listener: self.listener.clone(),
            append_turn: parking_lot::Mutex::new(append_turn),
        };
        let span =
            tracing::debug_span!("request", api = ?api_key, version, correlation_id, client_id);
        let mute = self.mute.clone();
        let handle = tokio::spawn(
            async move {
                let started = Instant::now();
                let mut response = match handlers::dispatch(&ctx, request.body).await {
                    Ok(response) => response,
                    Err(e) => {
                        tracing::error!(error = %e, "unrouted request");
                        return None;
                    }
                };
                let served = Served {
                    identity: &ctx.identity,
                    client_id: &ctx.client_id,
                    api_key,
                    request_bytes,
                    elapsed: started.elapsed(),
                };
                let quotas = &ctx.broker.quotas;
                let throttle_ms = throttle::enforce(quotas, &ctx.broker.metrics, &served, &mut response);
                if throttle_ms > 0 {
                    mute.extend(quotas, throttle_ms);
                }
                drop(turn);
                ctx.broker.metrics.requests.observe(api_key, started.elapsed(), &response);
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
        Step::Queue(Pending::Working(handle))
    }
}

/// Writes responses in request order; stops (closing the socket) at the first
/// request whose handler failed.
async fn write_responses(
    mut writer: impl AsyncWrite + Unpin,
    mut pending: mpsc::Receiver<Pending>,
) {
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
