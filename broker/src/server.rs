//! Start-up and shutdown: open the data directory, bind every listener
//! (failing fast if one cannot be bound), serve until SIGTERM or Ctrl-C, then
//! let connections answer what they read and close every log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use strata_governance::audit::Face;
use strata_governance::credentials::CredentialStore;
use strata_governance::oauth::JwtValidator;
use strata_governance::sasl::SaslAuthenticator;
use strata_rest_proxy::{RestProxy, RestProxyConfig};
use strata_tier::{Tier, TierMetrics};

use crate::restore_report::{RestoreMetrics, RestoreReport};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::audit::{self, AuditSettings};
use crate::broker::{Broker, Endpoint};
use crate::cluster::Cluster;
use crate::config::BrokerConfig;
use crate::groups::GroupCoordinator;
use crate::http::health;
use crate::metrics::Metrics;
use crate::net::listeners::{listener_configs, ListenerContext};
use crate::producer_ids::ProducerIds;
use crate::rest_backend::InProcessKafka;
use crate::schema_validation::SchemaValidator;
use crate::security::Security;
use crate::transactions::TransactionCoordinator;
use crate::txn_markers::BrokerSeams;
use crate::{clock, console, http, net, schemas};

mod background;
mod settings;

use background::{
    compact_logs, enforce_retention, expire_producers, refresh_jwks, shutdown_signal,
};
use settings::{
    consumer_instance_timeout, coordinator_config, jwt_settings, rest_rate_limit, tier_config,
    transaction_config,
};

/// Runs the broker until SIGTERM or Ctrl-C.
pub async fn run(config: BrokerConfig) -> anyhow::Result<()> {
    let server = Server::start(config).await?;
    shutdown_signal().await;
    server.shutdown().await;
    Ok(())
}

/// A started broker: every listener bound, every task running.
pub struct Server {
    /// `/health/ready` turns 503 when shutdown begins.
    readiness: Arc<http::Readiness>,
    /// The admin face, served until the logs are closed.
    admin: AdminTask,
    broker: Arc<Broker>,
    kafka_addr: SocketAddr,
    /// Every Kafka listener's name and bound address, in `listeners` order.
    listener_addrs: Vec<(Arc<str>, SocketAddr)>,
    admin_addr: SocketAddr,
    schema_registry_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    audit_writer: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
}

/// The admin face's serving task and its own stop signal: it answers
/// `/health/live` from before the logs open until after they are closed.
struct AdminTask {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl AdminTask {
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// What start-up waits for, in order, as `/health/ready` names it.
fn start_steps(config: &BrokerConfig) -> Vec<(&'static str, String)> {
    let mut steps = Vec::new();
    if let Some(tier) = &config.tier {
        steps.push((
            health::TIER_RESTORE,
            format!(
                "opening the tier {} and restoring what the data directory lacks",
                tier.url
            ),
        ));
    }
    steps.extend([
        (
            health::LOG_RECOVERY,
            format!(
                "opening and recovering the partition logs in {}",
                config.data_dir.display()
            ),
        ),
        (
            health::GROUP_COORDINATOR,
            "loading groups and committed offsets from __consumer_offsets".to_string(),
        ),
        (
            health::TRANSACTION_COORDINATOR,
            "loading transactions from __transaction_state".to_string(),
        ),
        (
            health::LISTENERS,
            "binding the Kafka, Schema Registry and REST Proxy listeners".to_string(),
        ),
    ]);
    steps
}

impl Server {
    /// Binds the admin port, then opens the data directory and binds every
    /// other listener; fails if any cannot be honoured.
    pub async fn start(config: BrokerConfig) -> anyhow::Result<Self> {
        tracing::info!(config = %config.describe(), "starting strata");
        let steps = start_steps(&config);
        let steps: Vec<(&'static str, &str)> =
            steps.iter().map(|(c, d)| (*c, d.as_str())).collect();
        let readiness = http::Readiness::new(&steps);
        let face = http::AdminFace::new(readiness.clone());
        let http_tls = http::HttpTls::from_properties(&config.properties)?;
        let admin = bind(config.admin_addr, "admin http").await?;
        let admin_addr = admin.local_addr()?;
        tracing::info!(admin = %admin_addr, "admin listening (health at once, metrics once started)");
        let (admin_stop, admin_stopped) = watch::channel(false);
        let admin = AdminTask {
            stop: admin_stop,
            task: tokio::spawn(http::serve_http(
                admin,
                face.router(),
                http_tls.clone(),
                admin_stopped,
            )),
        };
        let opened = Self::open(config, readiness.clone(), &face, http_tls, admin_addr).await;
        match opened {
            Ok(opened) => Ok(Server {
                readiness,
                admin,
                broker: opened.broker,
                kafka_addr: opened.kafka_addr,
                listener_addrs: opened.listener_addrs,
                admin_addr,
                schema_registry_addr: opened.schema_registry_addr,
                stop: opened.stop,
                tasks: opened.tasks,
                audit_writer: opened.audit_writer,
            }),
            Err(e) => {
                admin.stop().await;
                Err(e)
            }
        }
    }

    /// Everything after the admin port, marking each step ready.
    async fn open(
        config: BrokerConfig,
        readiness: Arc<http::Readiness>,
        face: &http::AdminFace,
        http_tls: Option<Arc<http::HttpTls>>,
        admin_addr: SocketAddr,
    ) -> anyhow::Result<Opened> {
        if config.tier.is_none()
            && config
                .properties
                .explicit()
                .get("log.remote.storage.enable")
                .map(|v| v.trim())
                == Some("true")
        {
            anyhow::bail!("log.remote.storage.enable=true needs tiered storage (--tier-url)");
        }
        let metrics = Metrics::new();
        let tier = match &config.tier {
            Some(settings) => {
                let tier_metrics = TierMetrics::new();
                metrics.register(tier_metrics.collectors());
                let tier = Tier::open(tier_config(settings, &config.properties), tier_metrics)
                    .await
                    .with_context(|| format!("opening the tier {}", settings.url))?;
                Some(tier)
            }
            None => None,
        };
        let opened = Self::open_on(
            config,
            readiness,
            face,
            http_tls,
            admin_addr,
            metrics,
            tier.as_ref(),
        )
        .await;
        if let (Err(_), Some(tier)) = (&opened, &tier) {
            // A refused start-up (another cluster's prefix, a port in use)
            // closes the tier cache itself: left to the runtime's drop,
            // foyer's writer tasks are cancelled and log a join error with
            // a long backtrace after the refusal, burying it.
            tier.close().await;
        }
        opened
    }

    /// Everything after the tier: the cluster (restored from the tier when
    /// there is one), the coordinators and the listeners.
    async fn open_on(
        config: BrokerConfig,
        readiness: Arc<http::Readiness>,
        face: &http::AdminFace,
        http_tls: Option<Arc<http::HttpTls>>,
        admin_addr: SocketAddr,
        metrics: Metrics,
        tier: Option<&Arc<Tier>>,
    ) -> anyhow::Result<Opened> {
        let restore_started = std::time::Instant::now();
        let (cluster, restored) = match tier {
            Some(tier) => {
                let progress = |detail: String| readiness.set_detail(health::TIER_RESTORE, detail);
                let (cluster, restored) = Cluster::open_tiered(
                    &config.data_dir,
                    config.properties.clone(),
                    tier.clone(),
                    &progress,
                )
                .await?;
                progress("loading partition manifests from the tier".to_string());
                tier.load_pending()
                    .await
                    .context("loading partition manifests from the tier")?;
                readiness.done(health::TIER_RESTORE);
                (cluster, restored)
            }
            None => (
                Cluster::open(&config.data_dir, config.properties.clone())?,
                None,
            ),
        };
        readiness.done(health::LOG_RECOVERY);
        let security = Security::open(&cluster, config.admin_user.as_ref()).await?;
        let groups = GroupCoordinator::open(&cluster, coordinator_config(&config.properties))?;
        readiness.done(health::GROUP_COORDINATOR);
        // Producer ids and marker writes need the broker the coordinator
        // lives in: the seams are connected to it once it is built.
        let seams = Arc::new(BrokerSeams::default());
        let transactions = TransactionCoordinator::open(
            &cluster,
            transaction_config(&cluster, &config.properties),
            seams.clone(),
            seams.clone(),
            Arc::new(clock::now_ms),
        )?;
        readiness.done(health::TRANSACTION_COORDINATOR);
        let listener_configs = listener_configs(
            &config.properties,
            config.kafka_addr,
            &config.advertised_host,
            config.advertised_port,
        )?;
        let jwt = match jwt_settings(&config.properties)? {
            Some(settings) => Some(Arc::new(
                JwtValidator::load(settings)
                    .await
                    .context("loading sasl.oauthbearer.jwks.endpoint.url")?,
            )),
            None => None,
        };
        let authenticator = SaslAuthenticator::new(security.credentials.clone(), jwt.clone());
        let failed_auth_delay = Duration::from_millis(
            config
                .properties
                .value("connection.failed.authentication.delay.ms")
                .parse()
                .context("connection.failed.authentication.delay.ms")?,
        );
        let mut kafka_listeners = Vec::new();
        let mut endpoints = Vec::new();
        for listener in &listener_configs {
            let context = ListenerContext::new(listener, authenticator.clone(), failed_auth_delay)?;
            let socket = bind(listener.bind, &format!("kafka {}", listener.name)).await?;
            let bound = socket.local_addr()?;
            let (host, port) = listener
                .advertised
                .clone()
                .unwrap_or_else(|| (bound.ip().to_string(), bound.port()));
            let port = if port == 0 { bound.port() } else { port };
            endpoints.push(Endpoint {
                listener: context.name.clone(),
                host,
                port,
            });
            kafka_listeners.push((socket, bound, Arc::new(context)));
        }
        let kafka_addr = kafka_listeners[0].1;
        let listener_addrs: Vec<(Arc<str>, SocketAddr)> = kafka_listeners
            .iter()
            .map(|(_, addr, context)| (context.name.clone(), *addr))
            .collect();
        let schemas = schemas::open(&cluster).await?;
        if tier.is_some() {
            let restore_metrics = RestoreMetrics::new();
            metrics.register(restore_metrics.collectors());
            if let Some(partitions) = restored {
                let groups = groups.metrics_view();
                let report = RestoreReport {
                    partitions,
                    consumer_groups: groups.iter().filter(|g| !g.offsets.is_empty()).count(),
                    committed_offsets: groups.iter().map(|g| g.offsets.len()).sum(),
                    schemas: schemas.read().all_versions(false).len(),
                    duration: restore_started.elapsed(),
                };
                report.log(&cluster.cluster_id);
                restore_metrics.record(&report);
            }
        }
        let audit_settings =
            AuditSettings::from_properties(&config.properties, security.acls.is_some())?;
        let (audit, audit_writer) = audit::open(&cluster, &audit_settings, &metrics).await?;
        let cluster_id = cluster.cluster_id.clone();
        let schema_validator =
            SchemaValidator::new(schemas.clone(), config.properties.socket_request_max_bytes);
        let broker = Arc::new(Broker {
            cluster,
            groups,
            transactions,
            advertised_host: endpoints[0].host.clone(),
            advertised_port: endpoints[0].port,
            endpoints,
            metrics,
            authorizer: security.authorizer,
            acls: security.acls,
            audit,
            credentials: security.credentials,
            schema_validator,
            producer_ids: ProducerIds::new(),
            quotas: security.quotas,
        });
        seams.connect(Arc::downgrade(&broker));
        broker.metrics.broker_state.attach(&broker);
        let rest_proxy_state = RestProxy::new(
            InProcessKafka::new(&broker),
            schemas.clone(),
            cluster_id,
            RestProxyConfig {
                advertised_host: broker.advertised_host.clone(),
                advertised_port: broker.advertised_port,
                consumer_instance_timeout: consumer_instance_timeout(&config.properties)?,
                scheme: if http_tls.is_some() { "https" } else { "http" },
                rate_limit: rest_rate_limit(&config.properties)?,
                ..RestProxyConfig::default()
            },
        );
        let http_auth = Arc::new(
            http::HttpAuth::from_properties(
                &config.properties,
                broker.credentials.clone(),
                jwt.clone(),
            )?
            .with_audit(broker.audit.clone()),
        );
        let schema_registry = bind(config.schema_registry_addr, "schema registry http").await?;
        let rest_proxy = bind(config.rest_proxy_addr, "rest proxy http").await?;
        let schema_registry_addr = schema_registry.local_addr()?;
        for (_, addr, context) in &kafka_listeners {
            tracing::info!(
                listener = %context.name,
                protocol = context.protocol.name(),
                addr = %addr,
                "listening"
            );
        }
        tracing::info!(
            kafka = %kafka_addr,
            admin = %admin_addr,
            schema_registry = %schema_registry_addr,
            rest_proxy = %rest_proxy.local_addr()?,
            "listening"
        );
        let (stop, stopped) = watch::channel(false);
        let limit = net::connection_limit(&broker);
        let mut tasks = Vec::new();
        for (socket, _, context) in kafka_listeners {
            tasks.push(tokio::spawn(net::serve_kafka(
                socket,
                context,
                broker.clone(),
                limit.clone(),
                stopped.clone(),
            )));
        }
        if let Some(jwt) = jwt {
            tasks.push(tokio::spawn(refresh_jwks(jwt, stopped.clone())));
        }
        // Stopped after every other task, so the records of the last
        // requests are written.
        let audit_writer = audit_writer.map(|writer| {
            let (stop, stopped) = watch::channel(false);
            (stop, tokio::spawn(writer.run(stopped)))
        });
        let http_metrics = &broker.metrics.http;
        let admin_routes = http::admin_router(broker.clone()).merge(console::router(
            broker.clone(),
            rest_proxy_state.clone(),
            schemas.clone(),
            config.data_dir.clone(),
        ));
        face.open(console::without_browser_prompt(
            http_auth.layer(Face::Admin, http_metrics.measure("admin", admin_routes)),
        ));
        tasks.extend([
            tokio::spawn(http::serve_http(
                schema_registry,
                http_auth.layer(
                    Face::SchemaRegistry,
                    http_metrics.measure(
                        "schema_registry",
                        strata_schema_registry::http::audited_router(
                            schemas.clone(),
                            broker.authorizer.clone(),
                            broker.audit.clone(),
                        ),
                    ),
                ),
                http_tls.clone(),
                stopped.clone(),
            )),
            tokio::spawn(http::serve_http(
                rest_proxy,
                http_auth.layer(
                    Face::RestProxy,
                    http_metrics.measure(
                        "rest_proxy",
                        strata_rest_proxy::router(rest_proxy_state.clone()),
                    ),
                ),
                http_tls.clone(),
                stopped.clone(),
            )),
            tokio::spawn(rest_proxy_state.run(stopped.clone())),
            tokio::spawn(enforce_retention(broker.clone(), stopped.clone())),
            tokio::spawn(expire_producers(broker.clone(), stopped.clone())),
            tokio::spawn(compact_logs(broker.clone(), stopped.clone())),
            tokio::spawn({
                let broker = broker.clone();
                let stopped = stopped.clone();
                async move { broker.groups.run_timers(stopped).await }
            }),
            tokio::spawn({
                let broker = broker.clone();
                async move { broker.transactions.run(stopped).await }
            }),
        ]);
        if let Some(tier) = tier {
            tasks.push(tokio::spawn(tier.clone().run(stop.subscribe())));
            tasks.push(tokio::spawn(
                tier.clone().run_recovery_point(stop.subscribe()),
            ));
        }
        readiness.done(health::LISTENERS);
        tracing::info!("ready");
        Ok(Opened {
            broker,
            kafka_addr,
            listener_addrs,
            schema_registry_addr,
            stop,
            tasks,
            audit_writer,
        })
    }

    /// The address the Kafka listener bound (useful with port 0).
    pub fn kafka_addr(&self) -> SocketAddr {
        self.kafka_addr
    }

    /// The address the Kafka listener `name` bound (names as in `listeners`,
    /// compared without case).
    pub fn listener_addr(&self, name: &str) -> Option<SocketAddr> {
        self.listener_addrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, addr)| *addr)
    }

    /// The address the admin HTTP listener bound.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The SCRAM users every face logs in against (tests add users here).
    pub fn credentials(&self) -> &CredentialStore {
        &self.broker.credentials
    }

    /// The address the Schema Registry HTTP listener bound.
    pub fn schema_registry_addr(&self) -> SocketAddr {
        self.schema_registry_addr
    }

    /// Stops accepting, lets connections answer what they already read,
    /// then flushes and closes every log.
    pub async fn shutdown(self) {
        tracing::info!("shutting down: answering in-flight requests");
        self.readiness.wait_for(
            health::SHUTDOWN,
            "answering in-flight requests and closing the logs",
        );
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        if let Some((stop, task)) = self.audit_writer {
            let _ = stop.send(true);
            let _ = task.await;
        }
        let broker = self.broker;
        if let Some(tier) = broker.cluster.tier() {
            tier.close().await;
        }
        let _ = tokio::task::spawn_blocking(move || broker.cluster.close()).await;
        tracing::info!("logs flushed and closed");
        self.admin.stop().await;
    }
}

/// What [`Server::open`] started; the admin face is added by `start`.
struct Opened {
    broker: Arc<Broker>,
    kafka_addr: SocketAddr,
    listener_addrs: Vec<(Arc<str>, SocketAddr)>,
    schema_registry_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    audit_writer: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} listener on {addr}"))
}
