//! One connection to one broker: TCP or TLS, ApiVersions to pick each
//! API's version, then (with SASL) the handshake and authentication, and
//! after that one request at a time, matched to its answer by correlation id.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::options::ConnectOptions;
use super::sasl;
use crate::error::{CliError, Result};

/// Largest answer accepted (a fetch is asked for far less).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// The highest version this client builds requests at, where the newest
/// versions name topics by id only (Produce v13, Fetch v13, OffsetCommit
/// v10, OffsetFetch v10) or batch groups (OffsetFetch v8): the CLI names
/// topics and asks for one group at a time.
fn version_cap(key: ApiKey) -> i16 {
    match key {
        ApiKey::Produce | ApiKey::Fetch | ApiKey::Metadata => 12,
        ApiKey::OffsetCommit => 9,
        ApiKey::OffsetFetch => 7,
        _ => i16::MAX,
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection to one broker, authenticated and ready for requests.
pub(crate) struct Connection {
    stream: Box<dyn Io>,
    addr: String,
    correlation_id: i32,
    timeout: Duration,
    /// Each API the broker serves and its version range.
    versions: HashMap<i16, (i16, i16)>,
    /// The broker's ApiVersions answer (its features, for `cluster info`).
    pub(crate) api_versions: ApiVersionsResponse,
}

impl Connection {
    /// Connects to `addr` (`host:port`), negotiates versions and logs in.
    pub(crate) async fn open(addr: &str, options: &ConnectOptions) -> Result<Connection> {
        let context = || format!("cannot connect to {addr}");
        let tcp = tokio::time::timeout(options.timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| CliError::io(context(), std::io::ErrorKind::TimedOut.into()))?
            .map_err(|e| CliError::io(context(), e))?;
        tcp.set_nodelay(true)
            .map_err(|e| CliError::io(context(), e))?;
        let stream: Box<dyn Io> = match &options.tls {
            None => Box::new(tcp),
            Some(tls) => Box::new(super::tls::handshake(tls, addr, tcp, options.timeout).await?),
        };
        let mut conn = Connection {
            stream,
            addr: addr.to_string(),
            correlation_id: 0,
            timeout: options.timeout,
            versions: HashMap::new(),
            api_versions: ApiVersionsResponse::default(),
        };
        conn.negotiate().await?;
        if let Some(login) = &options.sasl {
            sasl::authenticate(&mut conn, login).await?;
        }
        Ok(conn)
    }

    /// The broker's address.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// ApiVersions v3 (the version every broker since 2.4 answers), or v0
    /// when the broker says v3 is unsupported.
    async fn negotiate(&mut self) -> Result<()> {
        let mut request = ApiVersionsRequest::default();
        request.client_software_name = StrBytes::from_static_str("strata-cli");
        request.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
        let mut response = self.send(&request, 3).await?;
        if response.error_code == 35 {
            response = self.send(&ApiVersionsRequest::default(), 0).await?;
        }
        CliError::check(response.error_code, None, || {
            format!("ApiVersions to {}", self.addr)
        })?;
        self.versions = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        self.api_versions = response;
        Ok(())
    }

    /// The version to send `R` at: the highest that the broker serves,
    /// `kafka-protocol` encodes and [`version_cap`] allows.
    pub(crate) fn version_of<R: Request>(&self) -> Result<i16> {
        let key = ApiKey::try_from(R::KEY)
            .map_err(|_| CliError::protocol(format!("unknown api key {}", R::KEY)))?;
        let unsupported = || CliError::Kafka {
            context: format!("{key:?} at {}", self.addr),
            code: 35,
            message: Some("the broker does not serve a version this client speaks".into()),
        };
        let (broker_min, broker_max) = *self.versions.get(&R::KEY).ok_or_else(unsupported)?;
        let max = broker_max.min(R::VERSIONS.max).min(version_cap(key));
        let min = broker_min.max(R::VERSIONS.min);
        if max < min {
            return Err(unsupported());
        }
        Ok(max)
    }

    /// Builds the request for the negotiated version and sends it.
    pub(crate) async fn call<R: Request>(
        &mut self,
        build: impl FnOnce(i16) -> R,
    ) -> Result<R::Response> {
        let version = self.version_of::<R>()?;
        self.send(&build(version), version).await
    }

    /// Sends a request that gets no answer (Produce with acks=0).
    pub(crate) async fn call_without_answer<R: Request>(
        &mut self,
        build: impl FnOnce(i16) -> R,
    ) -> Result<()> {
        let version = self.version_of::<R>()?;
        self.write(&build(version), version).await.map(|_| ())
    }

    async fn write<R: Request>(&mut self, request: &R, version: i16) -> Result<i32> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("strata-cli")));
        let mut buf = BytesMut::with_capacity(256);
        buf.put_i32(0);
        let encoded = header
            .encode(&mut buf, R::header_version(version))
            .and_then(|()| request.encode(&mut buf, version));
        encoded.map_err(|e| CliError::protocol(format!("cannot encode request: {e:#}")))?;
        let len = i32::try_from(buf.len() - 4)
            .map_err(|_| CliError::usage("request larger than 2 GiB"))?;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        let addr = self.addr.clone();
        let io = |e| CliError::io(format!("write to {addr}"), e);
        tokio::time::timeout(self.timeout, async {
            self.stream.write_all(&buf).await?;
            self.stream.flush().await
        })
        .await
        .map_err(|_| io(std::io::ErrorKind::TimedOut.into()))?
        .map_err(io)?;
        Ok(self.correlation_id)
    }

    /// Sends `request` at `version` and reads its answer.
    pub(crate) async fn send<R: Request>(
        &mut self,
        request: &R,
        version: i16,
    ) -> Result<R::Response> {
        let correlation_id = self.write(request, version).await?;
        let mut body = self.read_frame().await?;
        let header = ResponseHeader::decode(&mut body, R::Response::header_version(version))
            .map_err(|e| CliError::protocol(format!("bad response header: {e:#}")))?;
        if header.correlation_id != correlation_id {
            return Err(CliError::protocol(format!(
                "{} answered correlation id {} to request {correlation_id}",
                self.addr, header.correlation_id
            )));
        }
        R::Response::decode(&mut body, version).map_err(|e| {
            CliError::protocol(format!("cannot decode the answer of {}: {e:#}", self.addr))
        })
    }

    async fn read_frame(&mut self) -> Result<bytes::Bytes> {
        let addr = self.addr.clone();
        let io = |e: std::io::Error| {
            let context = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                format!("{addr} closed the connection")
            } else {
                format!("read from {addr}")
            };
            CliError::io(context, e)
        };
        tokio::time::timeout(self.timeout, async {
            let len = self.stream.read_i32().await.map_err(io)?;
            let len = usize::try_from(len)
                .ok()
                .filter(|&n| n <= MAX_RESPONSE_BYTES)
                .ok_or_else(|| CliError::protocol(format!("{addr} sent a frame of {len} bytes")))?;
            let mut buf = BytesMut::zeroed(len);
            self.stream.read_exact(&mut buf).await.map_err(io)?;
            Ok(buf.freeze())
        })
        .await
        .map_err(|_| {
            CliError::io(
                format!("no answer from {} within {:?}", self.addr, self.timeout),
                std::io::ErrorKind::TimedOut.into(),
            )
        })?
    }
}
