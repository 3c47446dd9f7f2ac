//! The topic configurations Strata honours, named as Kafka names them, with
//! their broker-level synonyms, types, defaults and validation.
//!
//! Only configs that change Strata's behaviour are listed: an unlisted name is
//! refused with INVALID_CONFIG rather than accepted and ignored. Values that
//! Kafka accepts but Strata does not honour are refused with a message that
//! says so.

use std::collections::BTreeMap;
use std::time::Duration;

use strata_storage::{FlushPolicy, LogConfig};
use strata_wire::recompress::TopicCompression;

use crate::properties::BrokerProperties;
use crate::schema_validation::{validate_mode, SubjectNameStrategy, ValidationConfig};

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

fn long_at_least(min: i64) -> impl Fn(&str) -> Result<(), String> {
    move |v| match v.trim().parse::<i64>() {
        Ok(n) if n >= min => Ok(()),
        Ok(_) => Err(format!("must be at least {min}")),
        Err(_) => Err("not a long".into()),
    }
}
fn int_at_least(min: i32) -> impl Fn(&str) -> Result<(), String> {
    move |v| match v.trim().parse::<i32>() {
        Ok(n) if n >= min => Ok(()),
        Ok(_) => Err(format!("must be at least {min}")),
        Err(_) => Err("not an int".into()),
    }
}

fn ratio(v: &str) -> Result<(), String> {
    match v.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(()),
        Ok(_) => Err("must be between 0 and 1".into()),
        Err(_) => Err("not a double".into()),
    }
}

fn validate_cleanup_policy(v: &str) -> Result<(), String> {
    for item in v.split(',').map(str::trim) {
        match item {
            "delete" | "compact" => {}
            other => return Err(format!("unknown cleanup policy {other:?}")),
        }
    }
    Ok(())
}
fn validate_compression(v: &str) -> Result<(), String> {
    TopicCompression::parse(v, None).map(|_| ())
}
fn validate_level(codec: &'static str) -> impl Fn(&str) -> Result<(), String> {
    move |v| {
        let level: i32 = v
            .trim()
            .parse()
            .map_err(|_| format!("{v:?} is not an integer"))?;
        strata_wire::recompress::validate_level(codec, level)
    }
}
fn validate_boolean(v: &str) -> Result<(), String> {
    match v.trim() {
        "true" | "false" => Ok(()),
        other => Err(format!("{other:?} is not a boolean (true or false)")),
    }
}

fn validate_timestamp_type(v: &str) -> Result<(), String> {
    match v {
        "CreateTime" | "LogAppendTime" => Ok(()),
        _ => Err("must be CreateTime or LogAppendTime".into()),
    }
}

macro_rules! def {
    ($name:literal, $broker:literal, $kind:ident, $default:literal, $validate:expr, $doc:literal) => {
        TopicConfigDef {
            name: $name,
            broker_name: $broker,
            kind: ConfigType::$kind,
            default: $default,
            doc: $doc,
            validate: |v| ($validate)(v),
        }
    };
}

/// Every topic config Strata knows, sorted by name as Kafka lists them.
pub(crate) static TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def!("cleanup.policy", "log.cleanup.policy", List, "delete", validate_cleanup_policy,
        "delete: old segments go by retention.ms and retention.bytes; compact: only the latest record per key is kept."),
    def!("compression.gzip.level", "compression.gzip.level", Int, "-1", validate_level("gzip"),
        "The gzip level (1 to 9, -1 for zlib's default) of batches this topic recompresses to gzip."),
    def!("compression.lz4.level", "compression.lz4.level", Int, "9", validate_level("lz4"),
        "The lz4 level (1 to 17) of batches this topic recompresses to lz4."),
    def!("compression.type", "compression.type", String, "producer", validate_compression,
        "producer keeps batches as the producer compressed them; uncompressed, gzip, snappy, lz4 or zstd rewrites batches in another codec once, on append."),
    def!("compression.zstd.level", "compression.zstd.level", Int, "3", validate_level("zstd"),
        "The zstd level (-131072 to 22) of batches this topic recompresses to zstd."),
    def!("confluent.key.schema.validation", "confluent.key.schema.validation", Boolean, "false", validate_boolean,
        "True if schema validation at record key is enabled for this topic."),
    def!("confluent.key.subject.name.strategy", "confluent.key.subject.name.strategy", String, "io.confluent.kafka.serializers.subject.TopicNameStrategy", SubjectNameStrategy::validate,
        "Determines how to construct the subject name under which the key schema is registered with the schema registry. By default, TopicNameStrategy is used."),
    def!("confluent.value.schema.validation", "confluent.value.schema.validation", Boolean, "false", validate_boolean,
        "True if schema validation at record value is enabled for this topic."),
    def!("confluent.value.subject.name.strategy", "confluent.value.subject.name.strategy", String, "io.confluent.kafka.serializers.subject.TopicNameStrategy", SubjectNameStrategy::validate,
        "Determines how to construct the subject name under which the value schema is registered with the schema registry. By default, TopicNameStrategy is used."),
    def!("delete.retention.ms", "log.cleaner.delete.retention.ms", Long, "86400000", long_at_least(0),
        "How long tombstones stay readable on a compacted topic."),
    def!("flush.messages", "log.flush.interval.messages", Long, "1", long_at_least(1),
        "1 (the default) acknowledges acks=all only after fsync; any larger value trades durability for speed: the high watermark advances at once and the log is fsynced every flush.ms."),
    def!("flush.ms", "log.flush.interval.ms", Long, "1000", long_at_least(1),
        "Fsync interval used when flush.messages is not 1."),
    def!("index.interval.bytes", "log.index.interval.bytes", Int, "4096", int_at_least(0),
        "Bytes between sparse offset index entries."),
    def!("local.retention.bytes", "log.local.retention.bytes", Long, "-2", long_at_least(-2),
        "With remote.storage.enable, the size of uploaded segments kept on local disk; -2 for retention.bytes."),
    def!("local.retention.ms", "log.local.retention.ms", Long, "-2", long_at_least(-2),
        "With remote.storage.enable, how long uploaded segments stay on local disk; -2 for retention.ms."),
    def!("max.message.bytes", "message.max.bytes", Int, "1048588", int_at_least(0),
        "Largest record batch the topic accepts."),
    def!("message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", Long, "3600000", long_at_least(0),
        "How far in the future a CreateTime timestamp may be."),
    def!("message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", Long, "9223372036854775807", long_at_least(0),
        "How far in the past a CreateTime timestamp may be."),
    def!("message.timestamp.type", "log.message.timestamp.type", String, "CreateTime", validate_timestamp_type,
        "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's clock."),
    def!("min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", Double, "0.5", ratio,
        "Share of a compacted log that must be uncleaned before it is compacted again."),
    def!("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", Long, "0", long_at_least(0),
        "Records younger than this are not compacted."),
    def!("min.insync.replicas", "min.insync.replicas", Int, "1", int_at_least(1),
        "acks=all produce fails with NOT_ENOUGH_REPLICAS when fewer replicas are in sync (a single node has one)."),
    def!("remote.storage.enable", "log.remote.storage.enable", Boolean, "false", validate_boolean,
        "Upload sealed segments to the broker's tier (--tier-url) and serve reads below the local log start from it."),
    def!("retention.bytes", "log.retention.bytes", Long, "-1", long_at_least(-1),
        "Size cap per partition; -1 for none."),
    def!("retention.ms", "log.retention.ms", Long, "604800000", long_at_least(-1),
        "Age after which sealed segments are deleted; -1 for never."),
    def!("segment.bytes", "log.segment.bytes", Int, "1073741824", int_at_least(1_048_576),
        "Segment size at which the log rolls."),
    def!("segment.ms", "log.roll.ms", Long, "604800000", long_at_least(1),
        "Age at which the active segment rolls."),
    def!("strata.page.cache.window.bytes", "strata.log.page.cache.window.bytes", Long, "33554432", long_at_least(-1),
        "How many bytes at the end of each segment stay in the OS page cache once fsynced; older bytes are dropped from the cache (their readers read from disk), so the write path reuses the same memory. -1 leaves the cache to the kernel, as Kafka does."),
    def!("strata.value.schema.validation.mode", "strata.value.schema.validation.mode", String, "id", validate_mode,
        "With confluent.value.schema.validation: id checks that each value's schema id is registered under the expected subject (as Confluent Server does); payload also decodes each value with that schema (Avro, JSON Schema, Protobuf) and refuses values that do not conform."),
];

pub(crate) fn find(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

pub(crate) fn find_by_broker_name(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.broker_name == name)
}

/// Validates a set of topic overrides, naming the first bad one.
pub(crate) fn validate_overrides(overrides: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in overrides {
        let def = find(name).ok_or_else(|| format!("unknown topic config name: {name}"))?;
        def.validate(value)?;
    }
    validate_remote_storage(overrides)
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
    if let Some(v) = broker.explicit().get(def.broker_name) {
        return (v.clone(), ConfigSource::StaticBroker);
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
mod tests {
    use super::*;

    #[test]
    fn catalogue_defaults_validate() {
        for def in TOPIC_CONFIGS {
            def.validate(def.default).unwrap();
        }
        let names: Vec<_> = TOPIC_CONFIGS.iter().map(|d| d.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn overrides_beat_broker_which_beats_default() {
        let broker = BrokerProperties::from_map(
            [("log.retention.ms".to_string(), "1000".to_string())].into(),
        )
        .unwrap();
        let mut overrides = BTreeMap::new();
        let def = find("retention.ms").unwrap();
        assert_eq!(
            effective_value(def, &overrides, &broker),
            ("1000".into(), ConfigSource::StaticBroker)
        );
        overrides.insert("retention.ms".into(), "5".into());
        assert_eq!(
            effective_value(def, &overrides, &broker),
            ("5".into(), ConfigSource::DynamicTopic)
        );
        let seg = find("segment.bytes").unwrap();
        assert_eq!(
            effective_value(seg, &overrides, &broker).1,
            ConfigSource::Default
        );
        let resolved = EffectiveTopicConfig::resolve(&overrides, &broker);
        assert_eq!(resolved.log.retention_ms, Some(5));
        assert!(matches!(resolved.log.flush, FlushPolicy::Always));
    }

    #[test]
    fn schema_validation_configs_resolve() {
        let broker = BrokerProperties::default();
        let resolve = |pairs: &[(&str, &str)]| {
            let overrides: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            validate_overrides(&overrides)
                .map(|()| EffectiveTopicConfig::resolve(&overrides, &broker).schema_validation)
        };
        assert_eq!(resolve(&[]), Ok(None));
        assert_eq!(
            resolve(&[("strata.value.schema.validation.mode", "payload")]),
            Ok(None)
        );
        assert_eq!(
            resolve(&[("confluent.value.schema.validation", " true")]),
            Ok(Some(ValidationConfig {
                key: None,
                value: Some(SubjectNameStrategy::Topic),
                value_payload: false,
            }))
        );
        assert_eq!(
            resolve(&[
                ("confluent.key.schema.validation", "true"),
                (
                    "confluent.key.subject.name.strategy",
                    "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
                ),
                ("strata.value.schema.validation.mode", "payload"),
            ]),
            Ok(Some(ValidationConfig {
                key: Some(SubjectNameStrategy::TopicRecord),
                value: None,
                value_payload: true,
            }))
        );
        // Confluent Server takes only the strategy class names.
        for (name, value) in [
            (
                "confluent.value.subject.name.strategy",
                "RecordNameStrategy",
            ),
            ("confluent.value.schema.validation", "yes"),
            ("strata.value.schema.validation.mode", "full"),
        ] {
            let e = resolve(&[(name, value)]).unwrap_err();
            assert!(e.contains(name), "{e}");
        }
    }

    #[test]
    fn unsupported_values_are_refused_with_a_reason() {
        let bad: BTreeMap<_, _> =
            [("cleanup.policy".to_string(), "compact,shred".to_string())].into();
        assert!(validate_overrides(&bad).unwrap_err().contains("shred"));
        let bad: BTreeMap<_, _> = [("no.such".to_string(), "1".to_string())].into();
        assert!(validate_overrides(&bad).is_err());
        let bad: BTreeMap<_, _> = [("segment.bytes".to_string(), "10".to_string())].into();
        assert!(validate_overrides(&bad).is_err());
    }
}
