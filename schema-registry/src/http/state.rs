//! The router's state: the in-memory [`Registry`] and the [`SchemaLog`] its
//! writes go through (see the module documentation of [`super`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use crate::records::LogRecord;
use crate::registry::{NewSchema, Planned, Registry, RegistryError};

/// A boxed future, so that [`SchemaLog`] is object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where registry writes go: the broker's `_schemas` topic.
pub trait SchemaLog: Send + Sync + 'static {
    /// Appends the records in order and resolves once they are durable.
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), SchemaLogError>>;
}

/// Why [`SchemaLog::append`] failed: what the log was doing, with the
/// cause kept (an I/O error names its file and errno) for the log line,
/// and the whole chain in the 50001 answer.
#[derive(Debug, thiserror::Error)]
#[error("{doing}")]
pub struct SchemaLogError {
    doing: String,
    #[source]
    cause: Box<dyn std::error::Error + Send + Sync>,
}

impl SchemaLogError {
    /// `doing` failed because of `cause`.
    pub fn new(
        doing: impl Into<String>,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        SchemaLogError {
            doing: doing.into(),
            cause: cause.into(),
        }
    }

    /// The error and its causes, `: `-separated, as `{:#}` prints an
    /// `anyhow` chain.
    pub fn chain(&self) -> String {
        let mut text = self.doing.clone();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self.cause.as_ref());
        while let Some(e) = cause {
            text.push_str(": ");
            text.push_str(&e.to_string());
            cause = e.source();
        }
        text
    }
}

/// Limits on registry writes.
#[derive(Debug, Clone, Copy)]
pub struct WriteLimits {
    /// How long a write waits for the store before answering 50002
    /// (Confluent's `kafkastore.timeout.ms`, 500 ms there; longer here
    /// because a write waits for an fsync).
    pub store_timeout: Duration,
    /// The largest record (key and value) a write appends; a larger schema
    /// is 42209, as a record over the producer's `max.request.size` is in
    /// Confluent.
    pub max_record_bytes: usize,
}

impl Default for WriteLimits {
    fn default() -> Self {
        WriteLimits {
            store_timeout: Duration::from_secs(10),
            max_record_bytes: 1 << 20,
        }
    }
}

/// The router's state: the registry and its log.
pub struct SchemaRegistry {
    registry: RwLock<Registry>,
    writes: Arc<tokio::sync::Mutex<()>>,
    log: Arc<dyn SchemaLog>,
    pub(super) kafka_cluster_id: String,
    limits: WriteLimits,
}

impl SchemaRegistry {
    /// A registry (usually rebuilt from the log) writing to `log`.
    pub fn new(
        registry: Registry,
        log: Arc<dyn SchemaLog>,
        kafka_cluster_id: impl Into<String>,
    ) -> Arc<Self> {
        Self::with_limits(registry, log, kafka_cluster_id, WriteLimits::default())
    }

    /// [`SchemaRegistry::new`] with other [`WriteLimits`].
    pub fn with_limits(
        registry: Registry,
        log: Arc<dyn SchemaLog>,
        kafka_cluster_id: impl Into<String>,
        limits: WriteLimits,
    ) -> Arc<Self> {
        Arc::new(SchemaRegistry {
            registry: RwLock::new(registry),
            writes: Arc::new(tokio::sync::Mutex::new(())),
            log,
            kafka_cluster_id: kafka_cluster_id.into(),
            limits,
        })
    }

    /// The current state, for readers such as broker-side validation.
    pub fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `schema` under `subject` (or finds it there) and returns
    /// its id, exactly as `POST /subjects/{subject}/versions` does: a schema
    /// the subject already holds answers at once without a write; a new one
    /// is checked for compatibility, appended to the log and applied. For
    /// in-process callers such as the REST Proxy's schema formats.
    pub async fn register(
        self: &Arc<Self>,
        subject: &str,
        schema: NewSchema,
    ) -> Result<u32, RegistryError> {
        self.write(true, |r| r.plan_register(subject, &schema))
            .await
    }

    /// Plans with `plan` on the current state, appends the records, applies
    /// them once durable and answers. A plan with no records answers at
    /// once; with `fast`, such a plan is first tried without waiting for the
    /// write turn (for writes that usually change nothing).
    pub(super) async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        fast: bool,
        plan: impl Fn(&Registry) -> Result<Planned<T>, RegistryError>,
    ) -> Result<T, RegistryError> {
        if fast {
            let planned = plan(&self.read())?;
            if planned.records.is_empty() {
                return Ok(planned.answer);
            }
        }
        let turn = self.writes.clone().lock_owned().await;
        let planned = plan(&self.read())?;
        if planned.records.is_empty() {
            return Ok(planned.answer);
        }
        let too_large = planned
            .records
            .iter()
            .any(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) > self.limits.max_record_bytes);
        if too_large {
            return Err(RegistryError::SchemaTooLarge);
        }
        let this = self.clone();
        let append = tokio::spawn(async move {
            let _turn = turn;
            this.log
                .append(planned.records.clone())
                .await
                .map_err(|e| RegistryError::Store(e.chain()))?;
            let mut registry = this.registry.write().unwrap_or_else(|e| e.into_inner());
            for (key, value) in &planned.records {
                registry
                    .apply(key, value.as_deref())
                    .map_err(RegistryError::Store)?;
            }
            Ok(planned.answer)
        });
        match tokio::time::timeout(self.limits.store_timeout, append).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(panicked)) => Err(RegistryError::Store(panicked.to_string())),
            Err(_) => Err(RegistryError::Timeout(format!(
                "the store to confirm within {:?}",
                self.limits.store_timeout
            ))),
        }
    }
}
