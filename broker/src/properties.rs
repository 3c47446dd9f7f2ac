//! Kafka broker properties (`server.properties` names) that Strata honours.
//!
//! Topic-default properties (`log.retention.ms`, `message.max.bytes`, ...)
//! are the broker synonyms of [`crate::topic_config`] entries; the rest are
//! broker-only. Unknown names are refused at start.

use std::collections::BTreeMap;

use anyhow::{bail, Context};

use crate::topic_config;

/// Broker-only properties: name, default, documentation.
pub(crate) const BROKER_ONLY: &[(&str, &str, &str)] = &[
    (
        "allow.everyone.if.no.acl.found",
        "false",
        "With an authorizer: allow an action on a resource no ACL names.",
    ),
    (
        "authorizer.class.name",
        "",
        "StandardAuthorizer (or AclAuthorizer, or strata) enforces ACLs; empty allows everything.",
    ),
    (
        "advertised.listeners",
        "",
        "Endpoints given to clients, per listener (NAME://host:port, comma list); default: the bound listeners.",
    ),
    (
        "connection.failed.authentication.delay.ms",
        "100",
        "Delay before a failed SASL authentication is answered and its connection closed.",
    ),
    (
        "connections.max.reauth.ms",
        "0",
        "KIP-368: SASL sessions last at most this long before the client must re-authenticate (0: no limit).",
    ),
    (
        "listener.security.protocol.map",
        "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
        "Security protocol of each listener name (NAME:PROTOCOL, comma list).",
    ),
    (
        "listeners",
        "",
        "Kafka listeners (NAME://host:port, comma list); default: one PLAINTEXT listener on --kafka-addr.",
    ),
    (
        "sasl.enabled.mechanisms",
        "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "SASL mechanisms served on SASL listeners (OAUTHBEARER is added when a JWKS is configured).",
    ),
    (
        "sasl.oauthbearer.clock.skew.seconds",
        "30",
        "Leeway when checking a JWT's exp, nbf and iat.",
    ),
    (
        "sasl.oauthbearer.expected.audience",
        "",
        "Audiences a JWT must name one of (comma list; empty: not checked).",
    ),
    (
        "sasl.oauthbearer.expected.issuer",
        "",
        "The iss a JWT must carry (empty: not checked).",
    ),
    (
        "sasl.oauthbearer.jwks.endpoint.refresh.ms",
        "3600000",
        "How often the JWKS is fetched again.",
    ),
    (
        "sasl.oauthbearer.jwks.endpoint.url",
        "",
        "JWKS of the token issuer (file:///path or http(s)://); set, OAUTHBEARER and Bearer logins are served.",
    ),
    (
        "sasl.oauthbearer.sub.claim.name",
        "sub",
        "The JWT claim naming the principal.",
    ),
    (
        "ssl.client.auth",
        "none",
        "Client certificates on SSL listeners: none, requested or required.",
    ),
    (
        "ssl.key.password",
        "",
        "Refused if set: encrypted private keys are not supported.",
    ),
    (
        "ssl.keystore.location",
        "",
        "PEM file with the private key and certificate chain of SSL and SASL_SSL listeners.",
    ),
    (
        "ssl.keystore.type",
        "PEM",
        "Keystore format; PEM is the only one.",
    ),
    (
        "ssl.principal.mapping.rules",
        "DEFAULT",
        "Rules turning a client certificate's DN into the principal name.",
    ),
    (
        "ssl.truststore.location",
        "",
        "PEM file of CA certificates client certificates are checked against.",
    ),
    (
        "ssl.truststore.type",
        "PEM",
        "Truststore format; PEM is the only one.",
    ),
    (
        "auto.create.topics.enable",
        "true",
        "Create a topic when a client asks Metadata for an unknown one.",
    ),
    (
        "consumer.instance.timeout.ms",
        "300000",
        "REST Proxy v2 consumer instances idle this long are closed and leave their group.",
    ),
    (
        "default.replication.factor",
        "1",
        "Replication factor of auto-created topics (a single node serves 1).",
    ),
    (
        "group.consumer.heartbeat.interval.ms",
        "5000",
        "Heartbeat interval given to consumer-protocol (KIP-848) group members.",
    ),
    (
        "group.consumer.session.timeout.ms",
        "45000",
        "Consumer-protocol (KIP-848) members not heard from for this long leave their group.",
    ),
    (
        "group.initial.rebalance.delay.ms",
        "3000",
        "How long a group starting from empty waits for more members.",
    ),
    (
        "group.max.session.timeout.ms",
        "1800000",
        "Largest session timeout a group member may ask for.",
    ),
    (
        "group.min.session.timeout.ms",
        "6000",
        "Smallest session timeout a group member may ask for.",
    ),
    (
        "log.cleaner.backoff.ms",
        "15000",
        "Pause between log compaction passes over the compacted topics.",
    ),
    (
        "log.retention.check.interval.ms",
        "300000",
        "How often retention and time-based segment rolling run.",
    ),
    (
        "max.connections",
        "2147483647",
        "Kafka connections served at once; more wait in the accept queue.",
    ),
    ("node.id", "1", "This broker's id in metadata."),
    (
        "num.partitions",
        "1",
        "Partitions of auto-created topics and of CreateTopics with -1.",
    ),
    (
        "producer.id.expiration.ms",
        "86400000",
        "A partition forgets an idempotent producer idle this long (no open transaction).",
    ),
    (
        "producer.id.expiration.check.interval.ms",
        "600000",
        "How often idle producers are forgotten.",
    ),
    (
        "offset.metadata.max.bytes",
        "4096",
        "Largest metadata string an offset commit may carry.",
    ),
    (
        "offsets.retention.check.interval.ms",
        "600000",
        "How often expired committed offsets are removed.",
    ),
    (
        "offsets.retention.minutes",
        "10080",
        "How long an empty group's committed offsets are kept.",
    ),
    (
        "offsets.topic.num.partitions",
        "50",
        "Partitions of __consumer_offsets when it is created.",
    ),
    (
        "quota.window.num",
        "11",
        "Samples a client quota's rate is measured over.",
    ),
    (
        "quota.window.size.seconds",
        "1",
        "Length of one client quota sample, in seconds.",
    ),
    (
        "rate.limit.default.cost",
        "1",
        "REST Proxy: permits one request takes when rate.limit.enable is on.",
    ),
    (
        "rate.limit.enable",
        "false",
        "REST Proxy: limit requests to rate.limit.permits.per.sec (HTTP 429, error_code 42901 above it).",
    ),
    (
        "rate.limit.permits.per.sec",
        "50",
        "REST Proxy: permits handed out per second, across all callers.",
    ),
    (
        "rate.limit.timeout.ms",
        "0",
        "REST Proxy: how long a request may wait for a permit before it is refused.",
    ),
    (
        "remote.log.manager.copier.thread.pool.size",
        "2",
        "Partitions whose segments are uploaded to the tier at the same time.",
    ),
    (
        "remote.log.manager.copy.max.bytes.per.second",
        "9223372036854775807",
        "Upload bandwidth cap of the tier, in bytes per second.",
    ),
    (
        "remote.log.manager.task.interval.ms",
        "30000",
        "How often sealed segments are uploaded to the tier and remote retention runs.",
    ),
    (
        "remote.log.manager.task.retry.backoff.max.ms",
        "30000",
        "Longest wait between tier passes after failures.",
    ),
    (
        "remote.log.manager.task.retry.backoff.ms",
        "500",
        "First wait before retrying a failed tier pass; doubles up to the max.",
    ),
    (
        "socket.request.max.bytes",
        "104857600",
        "Largest request frame; larger frames close the connection.",
    ),
    (
        "strata.audit.enabled",
        "",
        "Write security events (failed logins, denials, topic/config/ACL/credential/schema changes) to strata.audit.topic: true, false, or empty for true exactly when authorizer.class.name is set.",
    ),
    (
        "strata.audit.topic",
        "_strata_audit",
        "The audit topic: CloudEvents JSON, one record per event; created at start (1 partition, 90-day retention) when the audit log is on.",
    ),
    (
        "strata.tier.metadata.recovery.point.ms",
        "1000",
        "With a tier, how far the uploaded state of the broker's internal logs (metadata: topics, configs, ACLs, credentials, quotas, producer ids; consumer offsets; transactions; schemas) may lag a change: each changed internal partition's unsealed tail is rewritten in the bucket this often.",
    ),
    (
        "strata.remote.internal.roll.ms",
        "60000",
        "With a tier, how often the broker's internal logs (metadata, consumer offsets, schemas) roll so their latest state is uploaded.",
    ),
    (
        "super.users",
        "",
        "Principals allowed everything, separated by semicolons (User:admin;User:ops).",
    ),
    (
        "strata.http.authentication.methods",
        "",
        "How callers of the HTTP faces (Schema Registry, REST Proxy, admin) log in: a comma list of BASIC (SCRAM users' passwords), BEARER (JWTs checked with the sasl.oauthbearer.* settings), MTLS (the client certificate, mapped by ssl.principal.mapping.rules). Empty: no login, every caller is User:ANONYMOUS.",
    ),
    (
        "strata.http.ssl.client.auth",
        "none",
        "With HTTPS: none, requested or required client certificates (checked against strata.http.ssl.truststore.location).",
    ),
    (
        "strata.http.ssl.keystore.location",
        "",
        "A PEM file with the private key and certificate chain: when set, the three HTTP faces serve HTTPS only.",
    ),
    (
        "strata.http.ssl.truststore.location",
        "",
        "PEM CA certificates that HTTP client certificates are checked against.",
    ),
    (
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "10000",
        "How often transactions older than their timeout are aborted.",
    ),
    (
        "transaction.max.timeout.ms",
        "900000",
        "Largest transaction timeout a producer may ask for (INVALID_TRANSACTION_TIMEOUT above it).",
    ),
    (
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        "3600000",
        "How often transactional ids idle for transactional.id.expiration.ms are removed.",
    ),
    (
        "transaction.state.log.num.partitions",
        "50",
        "Partitions of __transaction_state when it is created.",
    ),
    (
        "transactional.id.expiration.ms",
        "604800000",
        "How long a transactional id without transactions is kept.",
    ),
];

/// Properties a listener may set for itself as `listener.name.<name>.<property>`.
pub(crate) const PER_LISTENER: &[&str] = &[
    "sasl.enabled.mechanisms",
    "ssl.client.auth",
    "ssl.key.password",
    "ssl.keystore.location",
    "ssl.keystore.type",
    "ssl.principal.mapping.rules",
    "ssl.truststore.location",
    "ssl.truststore.type",
    "connections.max.reauth.ms",
];

/// `listener.name.<name>.<property>` for a per-listener property.
fn is_listener_property(name: &str) -> bool {
    name.strip_prefix("listener.name.")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(_, property)| PER_LISTENER.contains(&property))
}

/// Convenience units Kafka accepts for the retention and roll properties.
const UNIT_ALIASES: &[(&str, &str, i64)] = &[
    ("log.retention.minutes", "log.retention.ms", 60_000),
    ("log.retention.hours", "log.retention.ms", 3_600_000),
    ("log.roll.hours", "log.roll.ms", 3_600_000),
];

/// Validated broker properties.
#[derive(Debug, Clone)]
pub struct BrokerProperties {
    pub node_id: i32,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics_enable: bool,
    pub socket_request_max_bytes: usize,
    pub max_connections: usize,
    pub log_retention_check_interval_ms: u64,
    pub log_cleaner_backoff_ms: u64,
    pub group_initial_rebalance_delay_ms: u64,
    pub group_min_session_timeout_ms: i32,
    pub group_max_session_timeout_ms: i32,
    pub group_consumer_session_timeout_ms: i32,
    pub group_consumer_heartbeat_interval_ms: i32,
    pub offsets_topic_num_partitions: i32,
    pub offsets_retention_minutes: u64,
    pub offsets_retention_check_interval_ms: u64,
    pub offset_metadata_max_bytes: usize,
    pub producer_id_expiration_ms: i64,
    pub producer_id_expiration_check_interval_ms: u64,
    pub remote_copier_pool_size: usize,
    pub remote_copy_max_bytes_per_second: u64,
    pub remote_task_interval_ms: u64,
    pub remote_retry_backoff_ms: u64,
    pub remote_retry_backoff_max_ms: u64,
    pub remote_internal_roll_ms: u64,
    pub tier_recovery_point_ms: u64,
    pub transaction_state_log_num_partitions: i32,
    pub transaction_max_timeout_ms: i32,
    pub transactional_id_expiration_ms: i64,
    pub transaction_abort_timed_out_interval_ms: u64,
    pub transaction_remove_expired_interval_ms: u64,
    /// Every property the operator set, by its canonical name.
    explicit: BTreeMap<String, String>,
}

fn parse<T: std::str::FromStr>(
    map: &BTreeMap<String, String>,
    name: &str,
    default: &str,
) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text = map.get(name).map(String::as_str).unwrap_or(default);
    text.trim()
        .parse::<T>()
        .with_context(|| format!("broker property {name}={text:?}"))
}

impl BrokerProperties {
    /// Validates `map` (Kafka property name to value) and keeps it.
    pub fn from_map(mut map: BTreeMap<String, String>) -> anyhow::Result<Self> {
        for (alias, canonical, factor) in UNIT_ALIASES {
            if let Some(value) = map.remove(*alias) {
                if !map.contains_key(*canonical) {
                    let n: i64 = value
                        .trim()
                        .parse()
                        .with_context(|| format!("broker property {alias}"))?;
                    map.insert(canonical.to_string(), (n * factor).to_string());
                }
            }
        }
        for (name, value) in &map {
            if let Some(def) = topic_config::find_by_broker_name(name) {
                def.validate(value)
                    .map_err(|e| anyhow::anyhow!("broker property {name}: {e}"))?;
            } else if !BROKER_ONLY.iter().any(|(n, _, _)| n == name) && !is_listener_property(name)
            {
                bail!("unknown broker property {name:?}");
            }
        }
        let default = |name: &str| {
            BROKER_ONLY
                .iter()
                .find(|(n, _, _)| *n == name)
                .expect("listed")
                .1
        };
        let props = BrokerProperties {
            node_id: parse(&map, "node.id", default("node.id"))?,
            num_partitions: parse(&map, "num.partitions", default("num.partitions"))?,
            default_replication_factor: parse(
                &map,
                "default.replication.factor",
                default("default.replication.factor"),
            )?,
            auto_create_topics_enable: parse(
                &map,
                "auto.create.topics.enable",
                default("auto.create.topics.enable"),
            )?,
            socket_request_max_bytes: parse(
                &map,
                "socket.request.max.bytes",
                default("socket.request.max.bytes"),
            )?,
            max_connections: parse(&map, "max.connections", default("max.connections"))?,
            producer_id_expiration_ms: parse(
                &map,
                "producer.id.expiration.ms",
                default("producer.id.expiration.ms"),
            )?,
            producer_id_expiration_check_interval_ms: parse(
                &map,
                "producer.id.expiration.check.interval.ms",
                default("producer.id.expiration.check.interval.ms"),
            )?,
            log_retention_check_interval_ms: parse(
                &map,
                "log.retention.check.interval.ms",
                default("log.retention.check.interval.ms"),
            )?,
            group_initial_rebalance_delay_ms: parse(
                &map,
                "group.initial.rebalance.delay.ms",
                default("group.initial.rebalance.delay.ms"),
            )?,
            group_min_session_timeout_ms: parse(
                &map,
                "group.min.session.timeout.ms",
                default("group.min.session.timeout.ms"),
            )?,
            group_max_session_timeout_ms: parse(
                &map,
                "group.max.session.timeout.ms",
                default("group.max.session.timeout.ms"),
            )?,
            group_consumer_session_timeout_ms: parse(
                &map,
                "group.consumer.session.timeout.ms",
                default("group.consumer.session.timeout.ms"),
            )?,
            group_consumer_heartbeat_interval_ms: parse(
                &map,
                "group.consumer.heartbeat.interval.ms",
                default("group.consumer.heartbeat.interval.ms"),
            )?,
            offsets_topic_num_partitions: parse(
                &map,
                "offsets.topic.num.partitions",
                default("offsets.topic.num.partitions"),
            )?,
            offsets_retention_minutes: parse(
                &map,
                "offsets.retention.minutes",
                default("offsets.retention.minutes"),
            )?,
            offsets_retention_check_interval_ms: parse(
                &map,
                "offsets.retention.check.interval.ms",
                default("offsets.retention.check.interval.ms"),
            )?,
            offset_metadata_max_bytes: parse(
                &map,
                "offset.metadata.max.bytes",
                default("offset.metadata.max.bytes"),
            )?,
            log_cleaner_backoff_ms: parse(
                &map,
                "log.cleaner.backoff.ms",
                default("log.cleaner.backoff.ms"),
            )?,
            remote_copier_pool_size: parse(
                &map,
                "remote.log.manager.copier.thread.pool.size",
                default("remote.log.manager.copier.thread.pool.size"),
            )?,
            remote_copy_max_bytes_per_second: parse(
                &map,
                "remote.log.manager.copy.max.bytes.per.second",
                default("remote.log.manager.copy.max.bytes.per.second"),
            )?,
            remote_task_interval_ms: parse(
                &map,
                "remote.log.manager.task.interval.ms",
                default("remote.log.manager.task.interval.ms"),
            )?,
            remote_retry_backoff_ms: parse(
                &map,
                "remote.log.manager.task.retry.backoff.ms",
                default("remote.log.manager.task.retry.backoff.ms"),
            )?,
            remote_retry_backoff_max_ms: parse(
                &map,
                "remote.log.manager.task.retry.backoff.max.ms",
                default("remote.log.manager.task.retry.backoff.max.ms"),
            )?,
            remote_internal_roll_ms: parse(
                &map,
                "strata.remote.internal.roll.ms",
                default("strata.remote.internal.roll.ms"),
            )?,
            tier_recovery_point_ms: parse(
                &map,
                "strata.tier.metadata.recovery.point.ms",
                default("strata.tier.metadata.recovery.point.ms"),
            )?,
            transaction_state_log_num_partitions: parse(
                &map,
                "transaction.state.log.num.partitions",
                default("transaction.state.log.num.partitions"),
            )?,
            transaction_max_timeout_ms: parse(
                &map,
                "transaction.max.timeout.ms",
                default("transaction.max.timeout.ms"),
            )?,
            transactional_id_expiration_ms: parse(
                &map,
                "transactional.id.expiration.ms",
                default("transactional.id.expiration.ms"),
            )?,
            transaction_abort_timed_out_interval_ms: parse(
                &map,
                "transaction.abort.timed.out.transaction.cleanup.interval.ms",
                default("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
            )?,
            transaction_remove_expired_interval_ms: parse(
                &map,
                "transaction.remove.expired.transaction.cleanup.interval.ms",
                default("transaction.remove.expired.transaction.cleanup.interval.ms"),
            )?,
            explicit: map,
        };
        // Kafka's own bounds for these (TransactionStateManagerConfig, TransactionLogConfig).
        if props.transaction_state_log_num_partitions < 1 {
            bail!("transaction.state.log.num.partitions must be at least 1");
        }
        if props.transaction_max_timeout_ms < 1 || props.transactional_id_expiration_ms < 1 {
            bail!(
                "transaction.max.timeout.ms and transactional.id.expiration.ms must be at least 1"
            );
        }
        if props.transaction_abort_timed_out_interval_ms < 1
            || props.transaction_remove_expired_interval_ms < 1
        {
            bail!("transaction.abort.timed.out.transaction.cleanup.interval.ms and transaction.remove.expired.transaction.cleanup.interval.ms must be at least 1");
        }
        if props.tier_recovery_point_ms == 0 {
            bail!("strata.tier.metadata.recovery.point.ms must be positive");
        }
        if props.remote_copier_pool_size == 0 || props.remote_task_interval_ms == 0 {
            bail!("remote.log.manager.copier.thread.pool.size and remote.log.manager.task.interval.ms must be positive");
        }
        if props.offsets_topic_num_partitions < 1 {
            bail!("offsets.topic.num.partitions must be at least 1");
        }
        if props.group_consumer_heartbeat_interval_ms < 1
            || props.group_consumer_heartbeat_interval_ms >= props.group_consumer_session_timeout_ms
        {
            bail!("group.consumer.heartbeat.interval.ms must be positive and below group.consumer.session.timeout.ms");
        }
        if props.num_partitions < 1 {
            bail!("num.partitions must be at least 1");
        }
        if props.default_replication_factor != 1 {
            bail!("default.replication.factor must be 1 on a single-node Strata");
        }
        if props.socket_request_max_bytes == 0 || props.max_connections == 0 {
            bail!("socket.request.max.bytes and max.connections must be positive");
        }
        Ok(props)
    }

    /// A broker-only property as set, or its default ("" when it has none).
    pub(crate) fn value(&self, name: &str) -> &str {
        match self.explicit.get(name) {
            Some(value) => value.trim(),
            None => BROKER_ONLY
                .iter()
                .find(|(n, _, _)| *n == name)
                .map_or("", |(_, default, _)| default),
        }
    }

    /// The properties the operator set explicitly.
    pub fn explicit(&self) -> &BTreeMap<String, String> {
        &self.explicit
    }
}

impl Default for BrokerProperties {
    fn default() -> Self {
        BrokerProperties::from_map(BTreeMap::new()).expect("defaults are valid")
    }
}
