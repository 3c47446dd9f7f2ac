//! Broker-side schema validation: Confluent Server's Schema ID Validation
//! (`confluent.key.schema.validation`, `confluent.value.schema.validation`
//! and their subject name strategies) and Strata's payload mode
//! (`strata.value.schema.validation.mode=payload`).
//!
//! A topic with validation has every produced batch decoded once
//! ([`strata_wire::records::for_each_record`]; the only place the produce
//! path decompresses), and each record's key and/or value checked:
//!
//! - a null key or value passes, as Confluent Server lets tombstones and
//!   keyless records through;
//! - anything else must start with the Confluent header (magic byte 0 and
//!   a 4-byte schema id), and that id must be a live (not soft-deleted)
//!   version of the subject the strategy names: `<topic>-key` /
//!   `<topic>-value` (TopicNameStrategy), the record's name from the schema
//!   (RecordNameStrategy) or `<topic>-<name>` (TopicRecordNameStrategy);
//! - in payload mode the value must also decode with that schema.
//!
//! One bad record refuses the whole batch (INVALID_RECORD with a record
//! error per bad record, as Kafka's `RecordValidationException`); other
//! partitions are not affected. Topics without validation never get here.
//!
//! Schemas are prepared once per id ([`PayloadValidator`]) and cached; an
//! id's subject membership is looked up once per batch, under one read of
//! the registry state, so a batch sees one consistent registry.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;
use strata_schema_registry::http::SchemaRegistry;
use strata_schema_registry::registry::Registry;
use strata_schema_registry::validator::PayloadValidator;
use strata_schema_registry::wire::{limit_avro_allocation, split_header};
use strata_wire::records::{for_each_record, RecordsError};

/// Confluent's strategy class names, the only values Confluent Server
/// takes for `confluent.*.subject.name.strategy`.
const TOPIC_NAME: &str = "io.confluent.kafka.serializers.subject.TopicNameStrategy";
const RECORD_NAME: &str = "io.confluent.kafka.serializers.subject.RecordNameStrategy";
const TOPIC_RECORD_NAME: &str = "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy";

/// How the expected subject is derived from the topic and the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value`.
    Topic,
    /// The record's fully qualified name.
    Record,
    /// `<topic>-<record name>`.
    TopicRecord,
}

impl SubjectNameStrategy {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            TOPIC_NAME => Some(Self::Topic),
            RECORD_NAME => Some(Self::Record),
            TOPIC_RECORD_NAME => Some(Self::TopicRecord),
            _ => None,
        }
    }

    /// The topic config validator.
    pub(crate) fn validate(value: &str) -> Result<(), String> {
        match Self::parse(value) {
            Some(_) => Ok(()),
            None => Err(format!(
                "must be one of {TOPIC_NAME}, {RECORD_NAME}, {TOPIC_RECORD_NAME}"
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Topic => "TopicNameStrategy",
            Self::Record => "RecordNameStrategy",
            Self::TopicRecord => "TopicRecordNameStrategy",
        }
    }
}

/// `strata.value.schema.validation.mode`.
pub(crate) fn validate_mode(value: &str) -> Result<(), String> {
    match value.trim() {
        "id" | "payload" => Ok(()),
        _ => Err("must be id or payload".into()),
    }
}

/// A topic's validation settings (present only when a side is validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValidationConfig {
    pub(crate) key: Option<SubjectNameStrategy>,
    pub(crate) value: Option<SubjectNameStrategy>,
    /// `strata.value.schema.validation.mode=payload`: decode values too.
    pub(crate) value_payload: bool,
}

/// Why a batch was refused.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Records that failed, by batch index, with what was wrong.
    Records(Vec<(usize, String)>),
    /// The batch's records do not decode.
    Corrupt(RecordsError),
}

impl Refused {
    /// The partition-level message, as Kafka words a `RecordValidationException`.
    pub(crate) fn summary(errors: &[(usize, String)]) -> String {
        let shown: Vec<String> = errors
            .iter()
            .take(3)
            .map(|(i, m)| format!("RecordError(batchIndex={i}, message='{m}')"))
            .collect();
        format!(
            "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: [{}]",
            errors.len(),
            shown.join(", ")
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Key,
    Value,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Key => "key",
            Side::Value => "value",
        })
    }
}

/// A schema prepared for validation, and the text it was prepared from
/// (an id is reused only if its schema was hard-deleted and re-imported).
struct Prepared {
    text: String,
    validator: PayloadValidator,
}

/// Validates produced records against the Schema Registry the broker serves.
pub(crate) struct SchemaValidator {
    registry: Arc<SchemaRegistry>,
    prepared: RwLock<HashMap<u32, Arc<Prepared>>>,
}

impl SchemaValidator {
    /// A validator reading `registry`. `max_record_bytes` caps what one
    /// Avro length field may allocate (no payload can be longer).
    pub(crate) fn new(registry: Arc<SchemaRegistry>, max_record_bytes: usize) -> Self {
        limit_avro_allocation(max_record_bytes);
        SchemaValidator {
            registry,
            prepared: RwLock::new(HashMap::new()),
        }
    }

    /// Checks every record of `records` (a produce request's batch for
    /// `topic`) against `config`.
    pub(crate) fn check(
        &self,
        topic: &str,
        config: &ValidationConfig,
        records: &[u8],
    ) -> Result<(), Refused> {
        let registry = self.registry.read();
        let mut batch = BatchCheck {
            validator: self,
            registry: &registry,
            topic,
            config,
            schemas: Vec::new(),
            subjects: HashMap::new(),
        };
        let mut errors = Vec::new();
        for_each_record(records, |index, key, value| {
            let checked = config
                .key
                .map_or(Ok(()), |s| batch.record(Side::Key, s, key))
                .and_then(|()| {
                    config
                        .value
                        .map_or(Ok(()), |s| batch.record(Side::Value, s, value))
                });
            if let Err(why) = checked {
                errors.push((index, why));
            }
        })
        .map_err(Refused::Corrupt)?;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Refused::Records(errors))
        }
    }

    /// The prepared schema for `id`, from the cache or parsed now.
    fn prepare(&self, registry: &Registry, id: u32) -> Result<Arc<Prepared>, String> {
        let schema = registry
            .schema(id)
            .map_err(|_| format!("schema id {id} is not registered"))?;
        if let Some(p) = self.prepared.read().get(&id) {
            if p.text == schema.text {
                return Ok(p.clone());
            }
        }
        let parsed = registry
            .parse(schema.schema_type, &schema.text, &schema.references)
            .map_err(|e| format!("schema id {id} cannot be used: {e}"))?;
        let prepared = Arc::new(Prepared {
            text: schema.text.clone(),
            validator: PayloadValidator::new(parsed),
        });
        self.prepared.write().insert(id, prepared.clone());
        Ok(prepared)
    }
}

/// The state of one batch's check: what was already looked up.
struct BatchCheck<'a> {
    validator: &'a SchemaValidator,
    registry: &'a Registry,
    topic: &'a str,
    config: &'a ValidationConfig,
    /// Prepared schemas by id (few per batch: a linear scan).
    schemas: Vec<(u32, Result<Arc<Prepared>, String>)>,
    /// Subject verdicts by side, id and (Protobuf) record name.
    subjects: HashMap<(Side, u32, Option<String>), Result<(), String>>,
}

impl BatchCheck<'_> {
    fn schema(&mut self, id: u32) -> Result<Arc<Prepared>, String> {
        if let Some((_, p)) = self.schemas.iter().find(|(i, _)| *i == id) {
            return p.clone();
        }
        let p = self.validator.prepare(self.registry, id);
        self.schemas.push((id, p.clone()));
        p
    }

    /// Checks one key or value.
    fn record(
        &mut self,
        side: Side,
        strategy: SubjectNameStrategy,
        bytes: Option<&[u8]>,
    ) -> Result<(), String> {
        // Confluent Server lets null keys and values (tombstones) through.
        let Some(bytes) = bytes else { return Ok(()) };
        let (id, body) =
            split_header(bytes).map_err(|e| format!("{side} has no schema id: {e}"))?;
        let payload = side == Side::Value && self.config.value_payload;
        let prepared = if payload || strategy != SubjectNameStrategy::Topic {
            Some(self.schema(id).map_err(|e| format!("{side} {e}"))?)
        } else {
            None
        };
        // The record name keys the verdict only where it depends on the
        // payload (Protobuf's message indexes).
        let name = match &prepared {
            Some(p)
                if strategy != SubjectNameStrategy::Topic
                    && p.validator.name_depends_on_payload() =>
            {
                Some(record_name(side, id, strategy, p, body)?)
            }
            _ => None,
        };
        let key = (side, id, name);
        let verdict = match self.subjects.get(&key) {
            Some(v) => v.clone(),
            None => {
                let v = self.subject_check(side, id, strategy, prepared.as_deref(), body, &key.2);
                self.subjects.insert(key, v.clone());
                v
            }
        };
        verdict?;
        if let Some(p) = prepared.filter(|_| payload) {
            p.validator
                .validate(body)
                .map_err(|e| format!("value does not match schema id {id}: {e}"))?;
        }
        Ok(())
    }

    /// Is `id` a live version of the subject `strategy` names?
    fn subject_check(
        &self,
        side: Side,
        id: u32,
        strategy: SubjectNameStrategy,
        prepared: Option<&Prepared>,
        body: &[u8],
        name: &Option<String>,
    ) -> Result<(), String> {
        let subject = match strategy {
            SubjectNameStrategy::Topic => format!("{}-{side}", self.topic),
            _ => {
                let name = match (name, prepared) {
                    (Some(n), _) => n.clone(),
                    (None, Some(p)) => record_name(side, id, strategy, p, body)?,
                    (None, None) => unreachable!("record strategies prepare the schema"),
                };
                if strategy == SubjectNameStrategy::Record {
                    name
                } else {
                    format!("{}-{name}", self.topic)
                }
            }
        };
        let subjects = self
            .registry
            .subject_versions_of(id, false)
            .map_err(|_| format!("{side} schema id {id} is not registered"))?;
        if subjects.iter().any(|(s, _)| *s == subject) {
            Ok(())
        } else {
            Err(format!(
                "{side} schema id {id} is not registered under subject {subject}"
            ))
        }
    }
}

/// The record name a record strategy derives the subject from.
fn record_name(
    side: Side,
    id: u32,
    strategy: SubjectNameStrategy,
    prepared: &Prepared,
    body: &[u8],
) -> Result<String, String> {
    prepared
        .validator
        .record_name(body)
        .map_err(|e| format!("{side} of schema id {id}: {e}"))?
        .ok_or_else(|| {
            format!(
                "{side} schema id {id} has no record name for {}: {} needs a record schema",
                strategy.name(),
                strategy.name()
            )
        })
}

#[cfg(test)]
mod tests;
