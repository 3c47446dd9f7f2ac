//! The topic configurations Strata honours, named as Kafka names them, with
//! their broker-level synonyms, types, defaults and validation.
//!
//! Every topic config Kafka 4.1 lists is in the catalogue (`catalogue.rs`)
//! and either changes Strata's behaviour or, where it cannot on a single
//! node (throttled replicas, unclean leader election), says so in its
//! documentation and in docs/configuration.md. Values Strata cannot honour
//! are refused with INVALID_CONFIG and a message that says why, as are
//! configs Kafka 4.0 removed (`REFUSED`); other names are unknown.

use std::collections::BTreeMap;
use std::time::Duration;

use strata_storage::{FlushPolicy, LogConfig};
use strata_wire::recompress::TopicCompression;

use crate::properties::BrokerProperties;
use crate::schema_validation::{SubjectNameStrategy, ValidationConfig};

mod catalogue;
pub(crate) use catalogue::{NO_BROKER_SYNONYM, REFUSED, TOPIC_CONFIGS};

/// Kafka's config value types (DescribeConfigs v3+ `config_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
}

/// Where an effective value came from (DescribeConfigs `config_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfigSource {
    DynamicTopic = 1,
    StaticBroker = 4,
    Default = 5,
    /// A group's own value (Kafka's `GROUP_CONFIG`, `DYNAMIC_GROUP_CONFIG` in the admin client).
    DynamicGroup = 8,
}

/// One topic config and its broker-level default.
#[derive(Debug)]
pub(crate) struct TopicConfigDef {
    pub(crate) name: &'static str,
    pub(crate) broker_name: &'static str,
    pub(crate) kind: ConfigType,
    pub(crate) default: &'static str,
    pub(crate) doc: &'static str,
    validate: fn(&str) -> Result<(), String>,
}

impl TopicConfigDef {
    pub(crate) fn validate(&self, value: &str) -> Result<(), String> {
        (self.validate)(value)
            .map_err(|why| format!("invalid value {value:?} for {}: {why}", self.name))
    }
}

pub(crate) fn find(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

pub(crate) fn find_by_broker_name(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS
        .iter()
        .find(|d| d.broker_name != NO_BROKER_SYNONYM && d.broker_name == name)
}

/// Why a topic config Kafka once took is refused, if it is one.
pub(crate) fn refused_reason(name: &str) -> Option<&'static str> {
    REFUSED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}

/// Validates a set of topic overrides, naming the first bad one.
pub(crate) fn validate_overrides(overrides: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in overrides {
        let def = find(name).ok_or_else(|| match refused_reason(name) {
            Some(why) => format!("{name} is not supported: {why}"),
            None => format!("unknown topic config name: {name}"),
        })?;
        def.validate(value)?;
    }
    validate_compaction_lags(overrides)?;
    validate_remote_storage(overrides)
}

/// Kafka's `LogConfig.validateValues`: the max lag may not be below the min lag.
fn validate_compaction_lags(overrides: &BTreeMap<String, String>) -> Result<(), String> {
    let long = |name: &str| {
        overrides
            .get(name)
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    match (long("min.compaction.lag.ms"), long("max.compaction.lag.ms")) {
        (Some(min), Some(max)) if max < min => Err(format!(
            "conflict topic config setting max.compaction.lag.ms ({max}) < min.compaction.lag.ms ({min})"
        )),
        _ => Ok(()),
    }
}

/// Kafka's cross-config rules for KIP-405: no remote storage on compacted
/// topics, and local retention within total retention.
fn validate_remote_storage(overrides: &BTreeMap<String, String>) -> Result<(), String> {
    let get = |name: &str| overrides.get(name).map(|v| v.trim());
    if get("remote.storage.enable") == Some("true")
        && get("cleanup.policy").is_some_and(|p| p.split(',').any(|p| p.trim() == "compact"))
    {
        return Err("remote log storage is not supported for compacted topics".into());
    }
    let long = |name: &str| get(name).and_then(|v| v.parse::<i64>().ok());
    for (local, total) in [
        ("local.retention.ms", "retention.ms"),
        ("local.retention.bytes", "retention.bytes"),
    ] {
        if let (Some(l), Some(t)) = (long(local), long(total)) {
            if l >= 0 && t >= 0 && l > t {
                return Err(format!(
                    "{local} ({l}) must not be greater than {total} ({t})"
                ));
            }
        }
    }
    Ok(())
}

/// A config's effective value and where it came from.
pub(crate) fn effective_value(
    def: &TopicConfigDef,
    overrides: &BTreeMap<String, String>,
    broker: &BrokerProperties,
) -> (String, ConfigSource) {
    if let Some(v) = overrides.get(def.name) {
        return (v.clone(), ConfigSource::DynamicTopic);
    }
    if def.broker_name != NO_BROKER_SYNONYM {
        if let Some(v) = broker.explicit().get(def.broker_name) {
            return (v.clone(), ConfigSource::StaticBroker);
        }
    }
    (def.default.to_string(), ConfigSource::Default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// The settings a topic's produce path and logs run with.
#[derive(Debug, Clone)]
pub(crate) struct EffectiveTopicConfig {
    pub(crate) max_message_bytes: usize,
    pub(crate) timestamp_type: TimestampType,
    pub(crate) timestamp_after_max_ms: i64,
    pub(crate) timestamp_before_max_ms: i64,
    pub(crate) min_insync_replicas: i32,
    /// `compression.type` with its codec's `compression.<codec>.level`.
    pub(crate) compression: TopicCompression,
    /// Broker-side schema validation; `None` when neither key nor value is validated.
    pub(crate) schema_validation: Option<ValidationConfig>,
    pub(crate) log: LogConfig,
}

impl EffectiveTopicConfig {
    /// Resolves overrides over broker defaults; inputs are assumed validated.
    pub(crate) fn resolve(overrides: &BTreeMap<String, String>, broker: &BrokerProperties) -> Self {
        let value =
            |name: &str| effective_value(find(name).expect("known config"), overrides, broker).0;
        let long = |name: &str| value(name).trim().parse::<i64>().expect("validated long");
        let non_negative = |n: i64| if n < 0 { None } else { Some(n as u64) };
        let deletes = value("cleanup.policy")
            .split(',')
            .any(|p| p.trim() == "delete");
        let remote_storage = value("remote.storage.enable").trim() == "true";
        // With remote storage the log's own retention is the local one; the
        // tier applies the total retention across both tiers.
        let local = |local_name: &str, total_name: &str| match long(local_name) {
            -2 => long(total_name),
            n => n,
        };
        let (retention_ms, retention_bytes) = if remote_storage {
            (
                local("local.retention.ms", "retention.ms"),
                local("local.retention.bytes", "retention.bytes"),
            )
        } else {
            (long("retention.ms"), long("retention.bytes"))
        };
        let flush = if long("flush.messages") == 1 {
            FlushPolicy::Always
        } else {
            FlushPolicy::Interval(Duration::from_millis(long("flush.ms") as u64))
        };
        EffectiveTopicConfig {
            max_message_bytes: long("max.message.bytes") as usize,
            timestamp_type: if value("message.timestamp.type") == "LogAppendTime" {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            },
            timestamp_after_max_ms: long("message.timestamp.after.max.ms"),
            timestamp_before_max_ms: long("message.timestamp.before.max.ms"),
            min_insync_replicas: long("min.insync.replicas") as i32,
            compression: {
                let codec = value("compression.type");
                let level = match codec.trim() {
                    "gzip" | "lz4" | "zstd" => {
                        Some(long(&format!("compression.{}.level", codec.trim())) as i32)
                    }
                    _ => None,
                };
                TopicCompression::parse(&codec, level).unwrap_or_default()
            },
            schema_validation: schema_validation(&value),
            log: LogConfig {
                segment_bytes: long("segment.bytes") as u64,
                segment_ms: non_negative(long("segment.ms")),
                // A compact-only topic (the broker's own __consumer_offsets) is
                // never trimmed by time or size.
                retention_bytes: non_negative(retention_bytes).filter(|_| deletes),
                retention_ms: non_negative(retention_ms).filter(|_| deletes),
                index_interval_bytes: long("index.interval.bytes") as u64,
                flush,
                compact: value("cleanup.policy")
                    .split(',')
                    .any(|p| p.trim() == "compact"),
                retention_deletes: deletes,
                delete_retention_ms: long("delete.retention.ms") as u64,
                min_cleanable_dirty_ratio: value("min.cleanable.dirty.ratio")
                    .trim()
                    .parse()
                    .expect("validated double"),
                min_compaction_lag_ms: long("min.compaction.lag.ms") as u64,
                remote_storage,
                total_retention_ms: non_negative(long("retention.ms")).filter(|_| deletes),
                total_retention_bytes: non_negative(long("retention.bytes")).filter(|_| deletes),
                page_cache_window: non_negative(long("strata.page.cache.window.bytes")),
                segment_jitter_ms: long("segment.jitter.ms") as u64,
                segment_index_bytes: long("segment.index.bytes") as u64,
                preallocate: value("preallocate").trim() == "true",
                // Kafka's Long.MAX_VALUE default means no lag limit.
                max_compaction_lag_ms: Some(long("max.compaction.lag.ms"))
                    .filter(|&ms| ms < i64::MAX)
                    .map(|ms| ms as u64),
                file_delete_delay_ms: long("file.delete.delay.ms") as u64,
            },
        }
    }
}

/// The validation settings from the `confluent.*` and `strata.*` configs.
fn schema_validation(value: &dyn Fn(&str) -> String) -> Option<ValidationConfig> {
    let side = |enabled: &str, strategy: &str| {
        (value(enabled).trim() == "true")
            .then(|| SubjectNameStrategy::parse(&value(strategy)))
            .flatten()
    };
    let config = ValidationConfig {
        key: side(
            "confluent.key.schema.validation",
            "confluent.key.subject.name.strategy",
        ),
        value: side(
            "confluent.value.schema.validation",
            "confluent.value.subject.name.strategy",
        ),
        value_payload: value("strata.value.schema.validation.mode").trim() == "payload",
    };
    (config.key.is_some() || config.value.is_some()).then_some(config)
}

#[cfg(test)]
mod tests;
