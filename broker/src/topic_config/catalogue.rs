//! The catalogue: every topic config Kafka 4.1 lists, with its broker
//! synonym, type, default, validation and what it does in Strata.

use super::{ConfigType, TopicConfigDef};
use crate::schema_validation::{validate_mode, SubjectNameStrategy};
use strata_wire::recompress::TopicCompression;

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

/// Kafka's `ThrottledReplicaListValidator`: empty, `*`, or
/// `partition:brokerId` pairs.
fn validate_throttled_replicas(v: &str) -> Result<(), String> {
    let v = v.trim();
    if v.is_empty() || v == "*" {
        return Ok(());
    }
    for item in v.split(',').map(str::trim) {
        let pair = item.split_once(':');
        let numbers = pair.is_some_and(|(p, b)| {
            p.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok()
        });
        if !numbers {
            return Err(format!(
                "{item:?} is not [partitionId]:[brokerId] (the list may also be * or empty)"
            ));
        }
    }
    Ok(())
}

/// `false` only: Strata's tier has no way to do what `true` asks.
fn only_false(why: &'static str) -> impl Fn(&str) -> Result<(), String> {
    move |v| match v.trim() {
        "false" => Ok(()),
        "true" => Err(why.to_string()),
        other => Err(format!("{other:?} is not a boolean (true or false)")),
    }
}

fn validate_timestamp_type(v: &str) -> Result<(), String> {
    match v {
        "CreateTime" | "LogAppendTime" => Ok(()),
        _ => Err("must be CreateTime or LogAppendTime".into()),
    }
}

/// Broker-name of a topic config Kafka gives no broker-level synonym.
pub(crate) const NO_BROKER_SYNONYM: &str = "";

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
    def!("file.delete.delay.ms", "log.segment.delete.delay.ms", Long, "60000", long_at_least(0),
        "How long the files of a segment retention removed stay on disk, renamed *.deleted, before they are unlinked."),
    def!("flush.messages", "log.flush.interval.messages", Long, "1", long_at_least(1),
        "1 (the default) acknowledges acks=all only after fsync; any larger value trades durability for speed: the high watermark advances at once and the log is fsynced every flush.ms."),
    def!("flush.ms", "log.flush.interval.ms", Long, "1000", long_at_least(1),
        "Fsync interval used when flush.messages is not 1."),
    def!("follower.replication.throttled.replicas", "", List, "", validate_throttled_replicas,
        "No effect on a single node: Strata has no followers, so there is no replication traffic to throttle. Validated and described as Kafka does."),
    def!("index.interval.bytes", "log.index.interval.bytes", Int, "4096", int_at_least(0),
        "Bytes between sparse offset index entries."),
    def!("leader.replication.throttled.replicas", "", List, "", validate_throttled_replicas,
        "No effect on a single node: Strata has no followers, so there is no replication traffic to throttle. Validated and described as Kafka does."),
    def!("local.retention.bytes", "log.local.retention.bytes", Long, "-2", long_at_least(-2),
        "With remote.storage.enable, the size of uploaded segments kept on local disk; -2 for retention.bytes."),
    def!("local.retention.ms", "log.local.retention.ms", Long, "-2", long_at_least(-2),
        "With remote.storage.enable, how long uploaded segments stay on local disk; -2 for retention.ms."),
    def!("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", Long, "9223372036854775807", long_at_least(1),
        "On a compacted topic, the longest a record stays uncleaned: an older dirty record gets the log cleaned whatever its dirty ratio, and the active segment rolls by this age."),
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
    def!("preallocate", "log.preallocate", Boolean, "false", validate_boolean,
        "Reserve a segment's whole segment.bytes of disk blocks at its first write (Strata otherwise reserves a window of 256 KiB to 8 MiB ahead of appends)."),
    def!("remote.log.copy.disable", "", Boolean, "false", only_false("remote.log.copy.disable=true is not supported: Strata's tier cannot stop uploading a topic while keeping its remote segments readable and under retention"),
        "Only false: Strata uploads every sealed segment of a remote.storage.enable topic."),
    def!("remote.log.delete.on.disable", "", Boolean, "false", only_false("remote.log.delete.on.disable=true is not supported: Strata does not turn remote storage off for a topic that has it"),
        "Only false: Strata keeps a topic's remote segments as long as the topic has them."),
    def!("remote.storage.enable", "log.remote.storage.enable", Boolean, "false", validate_boolean,
        "Upload sealed segments to the broker's tier (--tier-url) and serve reads below the local log start from it."),
    def!("retention.bytes", "log.retention.bytes", Long, "-1", long_at_least(-1),
        "Size cap per partition; -1 for none."),
    def!("retention.ms", "log.retention.ms", Long, "604800000", long_at_least(-1),
        "Age after which sealed segments are deleted; -1 for never."),
    def!("segment.bytes", "log.segment.bytes", Int, "1073741824", int_at_least(1_048_576),
        "Segment size at which the log rolls."),
    def!("segment.index.bytes", "log.index.size.max.bytes", Int, "10485760", int_at_least(4),
        "The active segment rolls when its offset index (8 bytes an entry) or time index (12 bytes an entry) would grow past this, as Kafka's fixed-size index files make it roll."),
    def!("segment.jitter.ms", "log.roll.jitter.ms", Long, "0", long_at_least(0),
        "A segment rolls by time up to this much before segment.ms, by an amount that differs per segment, so partitions do not all roll at once."),
    def!("segment.ms", "log.roll.ms", Long, "604800000", long_at_least(1),
        "Age at which the active segment rolls."),
    def!("strata.page.cache.window.bytes", "strata.log.page.cache.window.bytes", Long, "33554432", long_at_least(-1),
        "How many bytes at the end of each segment stay in the OS page cache once fsynced; older bytes are dropped from the cache (their readers read from disk), so the write path reuses the same memory. -1 leaves the cache to the kernel, as Kafka does."),
    def!("strata.value.schema.validation.mode", "strata.value.schema.validation.mode", String, "id", validate_mode,
        "With confluent.value.schema.validation: id checks that each value's schema id is registered under the expected subject (as Confluent Server does); payload also decodes each value with that schema (Avro, JSON Schema, Protobuf) and refuses values that do not conform."),
    def!("unclean.leader.election.enable", "unclean.leader.election.enable", Boolean, "false", validate_boolean,
        "No effect on a single node: the only replica is always in sync, so there is never an out-of-sync replica to elect."),
];

/// Topic configs Kafka 3.x took that Kafka 4.x and Strata refuse, with why.
pub(crate) static REFUSED: &[(&str, &str)] = &[
    ("message.downconversion.enable",
        "removed in Kafka 4.0 (KIP-724): Strata never down-converts record batches and serves no Fetch below v4"),
    ("message.format.version",
        "removed in Kafka 4.0 (KIP-724): Strata stores only the v2 record batch format"),
    ("message.timestamp.difference.max.ms",
        "removed in Kafka 4.0 (KIP-937): use message.timestamp.before.max.ms and message.timestamp.after.max.ms"),
];
