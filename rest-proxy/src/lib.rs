//! Confluent-compatible REST Proxy: the v2 API (embedded formats, consumer
//! instances) and the v3 API (`/v3/clusters/...`), plus Strata's stateless
//! v3 read, served on the REST Proxy port (8082).
//!
//! Every action is a Kafka request sent through a [`KafkaBackend`]
//! ([`backend`]), so the proxy holds no Kafka state of its own beyond v2
//! consumer instances, which are real members of their consumer groups.
//! Schema formats (Avro, JSON Schema, Protobuf) go through the Schema
//! Registry this process serves ([`formats`]).
//!
//! Layout: [`error`] (Confluent's error bodies), [`media`] (v2 media types
//! and content negotiation), [`records`] (record batches built and read),
//! [`v2`] and [`v3`] (one module per resource).

pub mod backend;
mod caller;
pub mod error;
pub mod formats;
mod instant;
pub mod media;
mod offsets;
pub mod partitioner;
mod rate_limit;
pub mod records;
mod v2;
mod v3;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use strata_schema_registry::http::SchemaRegistry;

pub use backend::{BackendError, BoxFuture, Caller, KafkaBackend};
pub use error::RestError;
pub use rate_limit::RateLimitConfig;

/// Settings of the proxy (Confluent's `kafka-rest.properties` names in the docs).
#[derive(Debug, Clone)]
pub struct RestProxyConfig {
    /// `consumer.instance.timeout.ms`: an idle v2 consumer instance is
    /// removed (and leaves its group) after this long.
    pub consumer_instance_timeout: Duration,
    /// `consumer.request.timeout.ms`: the longest a v2 records request
    /// waits for data.
    pub consumer_request_timeout: Duration,
    /// `consumer.request.max.bytes`: the most a v2 records request returns.
    pub consumer_request_max_bytes: u64,
    /// The largest request body read (records included).
    pub max_request_bytes: usize,
    /// The host and port the broker advertises, for `/brokers` and v3 links.
    pub advertised_host: String,
    pub advertised_port: u16,
    /// `https` when the HTTP faces serve TLS: the scheme of v3 `self`
    /// links and v2 `base_uri`s, which name the URL the client called.
    pub scheme: &'static str,
    /// `api.v3.produce.batch.maximum.entries`: the most entries of one v3
    /// `records:batch` request.
    pub produce_batch_max_entries: usize,
    /// `rate.limit.enable` and its settings: `None` when off.
    pub rate_limit: Option<RateLimitConfig>,
}

impl Default for RestProxyConfig {
    fn default() -> Self {
        RestProxyConfig {
            consumer_instance_timeout: Duration::from_millis(300_000),
            consumer_request_timeout: Duration::from_millis(1_000),
            consumer_request_max_bytes: 64 * 1024 * 1024,
            max_request_bytes: 64 * 1024 * 1024,
            advertised_host: "localhost".into(),
            advertised_port: 9092,
            scheme: "http",
            produce_batch_max_entries: 10,
            rate_limit: None,
        }
    }
}

/// The proxy's shared state.
pub struct RestProxy {
    pub(crate) backend: Arc<dyn KafkaBackend>,
    pub(crate) registry: Arc<SchemaRegistry>,
    pub(crate) cluster_id: String,
    pub(crate) config: RestProxyConfig,
    pub(crate) consumers: v2::consumers::Instances,
    /// Set when the proxy stops, so that open streams (v3 produce, the SSE
    /// tail) end and the server's graceful shutdown can finish.
    stop: tokio::sync::watch::Sender<bool>,
}

impl RestProxy {
    pub fn new(
        backend: Arc<dyn KafkaBackend>,
        registry: Arc<SchemaRegistry>,
        cluster_id: impl Into<String>,
        config: RestProxyConfig,
    ) -> Arc<Self> {
        Arc::new(RestProxy {
            backend,
            registry,
            cluster_id: cluster_id.into(),
            config,
            consumers: v2::consumers::Instances::default(),
            stop: tokio::sync::watch::channel(false).0,
        })
    }

    /// Sends a Kafka request for `caller`.
    pub(crate) async fn send<R: backend::KafkaRequest>(
        &self,
        caller: &Caller,
        request: R,
    ) -> Result<R::Response, RestError> {
        backend::send(self.backend.as_ref(), caller, request).await
    }

    /// Background work (expiring idle consumer instances) until `stopped`.
    /// Passes the stop on to open streams ([`RestProxy::stopping`]).
    pub async fn run(self: Arc<Self>, stopped: tokio::sync::watch::Receiver<bool>) {
        let mut stop = stopped.clone();
        let this = self.clone();
        let relay = async move {
            let _ = stop.wait_for(|s| *s).await;
            this.stop.send_replace(true);
        };
        tokio::join!(v2::consumers::run_expiry(self, stopped), relay);
    }

    /// Resolves when the proxy stops: long-lived responses end on it.
    pub(crate) fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stop = self.stop.subscribe();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    }
}

/// Every route of the proxy. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so callers carry
/// their address.
pub fn router(state: Arc<RestProxy>) -> Router {
    let body_limit = state.config.max_request_bytes;
    let rate_limit = state.config.rate_limit;
    let router = Router::new()
        .merge(v2::routes())
        .merge(v3::routes())
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(state);
    match rate_limit {
        Some(config) => router.layer(axum::middleware::from_fn_with_state(
            Arc::new(rate_limit::RateLimiter::new(config)),
            rate_limit::limit,
        )),
        None => router,
    }
}

async fn not_found() -> RestError {
    RestError::not_found("HTTP 404 Not Found")
}

pub(crate) type Shared = Arc<RestProxy>;
