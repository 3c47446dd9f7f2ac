//! Kafka broker properties (`server.properties` names) that Strata honours.
//!
//! Topic-default properties (`log.retention.ms`, `message.max.bytes`, ...)
//! are the broker synonyms of [`crate::topic_config`] entries; the rest are
//! broker-only (`broker_only.rs`). Kafka 4.1 broker configs Strata does not
//! implement are refused at start with the reason (`unsupported.rs`); a name
//! Kafka does not know either is refused as unknown.

use std::collections::BTreeMap;

use anyhow::{bail, Context};

use crate::topic_config;

mod broker_only;
mod unsupported;

use broker_only::is_listener_property;
pub(crate) use broker_only::BROKER_ONLY;

/// Convenience units Kafka accepts for the retention and roll properties.
const UNIT_ALIASES: &[(&str, &str, i64)] = &[
    ("log.retention.minutes", "log.retention.ms", 60_000),
    ("log.retention.hours", "log.retention.ms", 3_600_000),
    ("log.roll.hours", "log.roll.ms", 3_600_000),
    ("log.roll.jitter.hours", "log.roll.jitter.ms", 3_600_000),
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
    /// Bounds of a group's `consumer.session.timeout.ms` (and of the broker default).
    pub group_consumer_min_session_timeout_ms: i32,
    pub group_consumer_max_session_timeout_ms: i32,
    /// Bounds of a group's `consumer.heartbeat.interval.ms` (and of the broker default).
    pub group_consumer_min_heartbeat_interval_ms: i32,
    pub group_consumer_max_heartbeat_interval_ms: i32,
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
            } else if BROKER_ONLY.iter().any(|(n, _, _)| n == name) || is_listener_property(name) {
                unsupported::check_single_node_value(name, value)?;
            } else if let Some(why) = unsupported::reason(name) {
                bail!("broker property {name} is not supported: {why}");
            } else {
                bail!(
                    "unknown broker property {name:?}: not a Kafka 4.1 broker config Strata knows"
                );
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
            group_consumer_min_session_timeout_ms: parse(
                &map,
                "group.consumer.min.session.timeout.ms",
                default("group.consumer.min.session.timeout.ms"),
            )?,
            group_consumer_max_session_timeout_ms: parse(
                &map,
                "group.consumer.max.session.timeout.ms",
                default("group.consumer.max.session.timeout.ms"),
            )?,
            group_consumer_min_heartbeat_interval_ms: parse(
                &map,
                "group.consumer.min.heartbeat.interval.ms",
                default("group.consumer.min.heartbeat.interval.ms"),
            )?,
            group_consumer_max_heartbeat_interval_ms: parse(
                &map,
                "group.consumer.max.heartbeat.interval.ms",
                default("group.consumer.max.heartbeat.interval.ms"),
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
        check_consumer_group_bounds(&props)?;
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

/// Kafka's start-up checks of the `group.consumer.*` timeouts
/// (`GroupCoordinatorConfig`): the defaults within their bounds, the
/// heartbeat below the session timeout.
fn check_consumer_group_bounds(p: &BrokerProperties) -> anyhow::Result<()> {
    let checks = [
        (p.group_consumer_min_heartbeat_interval_ms >= 1, "group.consumer.min.heartbeat.interval.ms must be at least 1"),
        (p.group_consumer_min_session_timeout_ms >= 1, "group.consumer.min.session.timeout.ms must be at least 1"),
        (p.group_consumer_max_heartbeat_interval_ms >= p.group_consumer_min_heartbeat_interval_ms, "group.consumer.max.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms"),
        (p.group_consumer_heartbeat_interval_ms >= p.group_consumer_min_heartbeat_interval_ms, "group.consumer.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms"),
        (p.group_consumer_heartbeat_interval_ms <= p.group_consumer_max_heartbeat_interval_ms, "group.consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms"),
        (p.group_consumer_max_session_timeout_ms >= p.group_consumer_min_session_timeout_ms, "group.consumer.max.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms"),
        (p.group_consumer_session_timeout_ms >= p.group_consumer_min_session_timeout_ms, "group.consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms"),
        (p.group_consumer_session_timeout_ms <= p.group_consumer_max_session_timeout_ms, "group.consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms"),
        (p.group_consumer_heartbeat_interval_ms < p.group_consumer_session_timeout_ms, "group.consumer.heartbeat.interval.ms must be less than group.consumer.session.timeout.ms"),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, why)) => bail!("{why}"),
        None => Ok(()),
    }
}

impl Default for BrokerProperties {
    fn default() -> Self {
        BrokerProperties::from_map(BTreeMap::new()).expect("defaults are valid")
    }
}
