//! [`PayloadValidator`]: a schema prepared once for validating many
//! payloads, as broker-side validation does for every record of a topic.
//!
//! [`validate_payload`] rebuilds apache-avro's name table and datum reader
//! on every call and decodes into `Value`s (a `String` per field name and
//! per string). The validator here compiles an Avro schema once into a flat
//! program of nodes (named types and recursive references resolved to node
//! indexes) and walks the bytes without allocating. It accepts exactly what
//! [`validate_payload`] accepts (a differential test checks it), with two
//! deliberate differences: nesting deeper than [`MAX_DEPTH`] is refused
//! instead of exhausting the stack, and apache-avro's allocation cap on
//! maps counts every entry rather than distinct keys.
//!
//! JSON Schema and Protobuf are already prepared by parsing (a compiled
//! `jsonschema::Validator`, a Protobuf descriptor pool), so their payloads
//! go through [`validate_payload`].

use apache_avro::schema::ResolvedSchema;
use apache_avro::types::Value;
use apache_avro::util::DEFAULT_MAX_ALLOCATION_BYTES;
use apache_avro::Schema;

use crate::avro_program::{AvroNode, AvroProgram};
use crate::error::{PayloadError, WireError};
use crate::schema::ParsedSchema;
use crate::wire::{split_message_indexes, validate_payload};

/// Deepest nesting of records, arrays, maps and unions an Avro payload may
/// have: deeper data (only possible with recursive schemas) is refused
/// rather than risking the stack. Each level is a frame of the walk, and
/// 256 of them fit a 2 MiB thread stack (tokio's default) with room to
/// spare even in an unoptimised build; 1024 did not.
pub const MAX_DEPTH: usize = 256;

const AVRO: &str = "AVRO";

/// A parsed schema ready to validate payloads (the bytes after the 5-byte
/// Confluent header) and to name the record a payload holds. Cheap to share
/// behind an `Arc`; `Send + Sync`.
#[derive(Debug)]
pub struct PayloadValidator {
    schema: ParsedSchema,
    avro: Option<AvroProgram>,
    /// Confluent's `ParsedSchema.name()` where it does not depend on the
    /// payload (Avro and JSON Schema).
    name: Option<String>,
}

impl PayloadValidator {
    /// Prepares `schema`.
    pub fn new(schema: ParsedSchema) -> Self {
        let (avro, name) = match &schema {
            ParsedSchema::Avro(s) => {
                let program = AvroProgram::compile(s.schema(), s.references())
                    .unwrap_or_else(AvroProgram::failing);
                (Some(program), avro_record_name(s.schema(), s.references()))
            }
            ParsedSchema::Json(s) => (None, json_title(s.value())),
            ParsedSchema::Protobuf(_) => (None, None),
        };
        PayloadValidator { schema, avro, name }
    }

    /// The schema this validator was prepared from.
    pub fn schema(&self) -> &ParsedSchema {
        &self.schema
    }

    /// Decodes `payload` (the bytes after the 5-byte header) with the
    /// schema, as [`validate_payload`] does.
    pub fn validate(&self, payload: &[u8]) -> Result<(), PayloadError> {
        match &self.avro {
            Some(program) => program.validate(payload),
            None => validate_payload(&self.schema, payload),
        }
    }

    /// The record name Confluent's `RecordNameStrategy` derives subjects
    /// from (`ParsedSchema.name()`): the full name of an Avro record schema,
    /// the `title` of a JSON Schema, and for Protobuf the full name of the
    /// message the payload's message indexes name (what the serializer
    /// registered). `None` when the schema has no such name (an Avro
    /// schema that is not a record, a JSON Schema without a title).
    pub fn record_name(&self, payload: &[u8]) -> Result<Option<String>, WireError> {
        match &self.schema {
            ParsedSchema::Protobuf(s) => {
                let (indexes, _) = split_message_indexes(payload)?;
                Ok(s.message_by_indexes(&indexes)
                    .map(|m| m.full_name().to_owned()))
            }
            _ => Ok(self.name.clone()),
        }
    }

    /// Whether [`record_name`](Self::record_name) depends on the payload.
    pub fn name_depends_on_payload(&self) -> bool {
        matches!(self.schema, ParsedSchema::Protobuf(_))
    }
}

/// Confluent's `AvroSchema.name()` where it is a record: its full name,
/// through a reference when the schema is only a name.
fn avro_record_name(schema: &Schema, references: &[Schema]) -> Option<String> {
    match schema {
        Schema::Record(r) => Some(r.name.fullname(None)),
        Schema::Ref { name } => {
            let mut schemata: Vec<&Schema> = references.iter().collect();
            schemata.push(schema);
            match ResolvedSchema::new_with_schemata(schemata)
                .ok()?
                .get_names()
                .get(name)
            {
                Some(Schema::Record(r)) => Some(r.name.fullname(None)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Confluent's `JsonSchema.name()`: the root's `title`.
fn json_title(schema: &serde_json::Value) -> Option<String> {
    match schema.get("title")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Validation walks the compiled program over the payload's bytes.
impl AvroProgram {
    fn validate(&self, payload: &[u8]) -> Result<(), PayloadError> {
        let mut reader = Reader {
            bytes: payload,
            at: 0,
            max_alloc: apache_avro::util::max_allocation_bytes(DEFAULT_MAX_ALLOCATION_BYTES),
        };
        self.walk(self.root, &mut reader, 0)
            .map_err(|e| PayloadError::invalid(AVRO, e))?;
        let left = payload.len() - reader.at;
        if left > 0 {
            return Err(PayloadError::invalid(
                AVRO,
                format!("{left} bytes left after the datum"),
            ));
        }
        Ok(())
    }

    fn walk(&self, node: usize, r: &mut Reader<'_>, depth: usize) -> Result<(), String> {
        match &self.nodes[node] {
            AvroNode::Null => Ok(()),
            AvroNode::Boolean => match r.take(1)?[0] {
                0 | 1 => Ok(()),
                b => Err(format!("invalid boolean byte {b}")),
            },
            AvroNode::Int => r.int().map(drop),
            AvroNode::Long => r.long().map(drop),
            AvroNode::Float => r.take(4).map(drop),
            AvroNode::Double => r.take(8).map(drop),
            AvroNode::Bytes => r.bytes().map(drop),
            AvroNode::String => r.string().map(drop),
            AvroNode::Fixed(size) => r.take(*size).map(drop),
            AvroNode::Enum(symbols) => {
                let index = r.int()?;
                if index < 0 || index as usize >= symbols.len() {
                    return Err(format!(
                        "enum index {index} out of range for {} symbols",
                        symbols.len()
                    ));
                }
                Ok(())
            }
            AvroNode::Array(items) => {
                let depth = deeper(depth)?;
                let mut total = 0usize;
                loop {
                    let count = r.block_len()?;
                    if count == 0 {
                        return Ok(());
                    }
                    total = r.collection_len::<Value>(total, count)?;
                    for _ in 0..count {
                        self.walk(*items, r, depth)?;
                    }
                }
            }
            AvroNode::Map(values) => {
                let depth = deeper(depth)?;
                let mut total = 0usize;
                loop {
                    let count = r.block_len()?;
                    if count == 0 {
                        return Ok(());
                    }
                    total = r.collection_len::<(String, Value)>(total, count)?;
                    for _ in 0..count {
                        r.string()?;
                        self.walk(*values, r, depth)?;
                    }
                }
            }
            AvroNode::Union(variants) => {
                let depth = deeper(depth)?;
                let index = r.long()?;
                let variant = usize::try_from(index)
                    .ok()
                    .and_then(|i| variants.get(i))
                    .ok_or_else(|| {
                        format!(
                            "union index {index} out of range for {} variants",
                            variants.len()
                        )
                    })?;
                self.walk(variant.1, r, depth)
            }
            AvroNode::Record(fields) => {
                let depth = deeper(depth)?;
                for (_, field) in fields.iter() {
                    self.walk(*field, r, depth)?;
                }
                Ok(())
            }
            AvroNode::BigDecimal => {
                let mut inner = Reader {
                    bytes: r.bytes()?,
                    at: 0,
                    max_alloc: r.max_alloc,
                };
                inner.bytes()?;
                inner.long().map(drop)
            }
            AvroNode::UuidString => {
                let s = r.string()?;
                if is_uuid(s.as_bytes()) {
                    Ok(())
                } else {
                    Err(format!("{s:?} is not a UUID"))
                }
            }
            AvroNode::UuidBytes => match r.bytes()?.len() {
                16 => Ok(()),
                n => Err(format!("a uuid needs 16 bytes, got {n}")),
            },
            AvroNode::Fail(why) => Err(why.clone()),
        }
    }
}

fn deeper(depth: usize) -> Result<usize, String> {
    if depth >= MAX_DEPTH {
        return Err(format!("datum nested deeper than {MAX_DEPTH} levels"));
    }
    Ok(depth + 1)
}

/// A cursor over an Avro datum that never reads out of bounds.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// apache-avro's allocation cap (`limit_avro_allocation`).
    max_alloc: usize,
}

const TRUNCATED: &str = "datum is truncated";

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(TRUNCATED)?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    /// apache-avro's varint: at most 10 bytes, high bits past 64 dropped.
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for j in 0..10 {
            let &b = self.bytes.get(self.at).ok_or(TRUNCATED)?;
            self.at += 1;
            value |= u64::from(b & 0x7f) << (j * 7);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn long(&mut self) -> Result<i64, String> {
        let z = self.varint()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn int(&mut self) -> Result<i32, String> {
        let v = self.long()?;
        i32::try_from(v).map_err(|_| format!("int value {v} out of range"))
    }

    fn len(&mut self) -> Result<usize, String> {
        let n = self.long()?;
        let n = usize::try_from(n).map_err(|_| format!("negative length {n}"))?;
        if n > self.max_alloc {
            return Err(format!(
                "length {n} exceeds the allocation limit {}",
                self.max_alloc
            ));
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.len()?;
        self.take(n)
    }

    fn string(&mut self) -> Result<&'a str, String> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|e| format!("string is not UTF-8: {e}"))
    }

    /// An array or map block count (a negative count is followed by the
    /// block's byte size).
    fn block_len(&mut self) -> Result<usize, String> {
        let raw = self.long()?;
        let count = if raw < 0 {
            self.long()?;
            raw.checked_neg().ok_or("block count out of range")?
        } else {
            raw
        };
        let count = count as usize;
        if count > self.max_alloc {
            return Err(format!(
                "block count {count} exceeds the allocation limit {}",
                self.max_alloc
            ));
        }
        Ok(count)
    }

    /// apache-avro's cap on a collection's decoded size.
    fn collection_len<T>(&self, total: usize, count: usize) -> Result<usize, String> {
        let total = total.checked_add(count).ok_or("collection too large")?;
        match total.checked_mul(std::mem::size_of::<T>()) {
            Some(bytes) if bytes <= self.max_alloc => Ok(total),
            _ => Err(format!(
                "{total} items exceed the allocation limit {}",
                self.max_alloc
            )),
        }
    }
}

/// The UUID forms the `uuid` crate parses (what apache-avro uses): 32 hex
/// digits, the hyphenated 8-4-4-4-12 form, that form in braces, or with
/// the `urn:uuid:` prefix (any case).
fn is_uuid(s: &[u8]) -> bool {
    fn hyphenated(s: &[u8]) -> bool {
        s.len() == 36
            && s.iter().enumerate().all(|(i, &c)| match i {
                8 | 13 | 18 | 23 => c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    }
    match s.len() {
        32 => s.iter().all(u8::is_ascii_hexdigit),
        36 => hyphenated(s),
        38 => s[0] == b'{' && s[37] == b'}' && hyphenated(&s[1..37]),
        45 => s[..9].eq_ignore_ascii_case(b"urn:uuid:") && hyphenated(&s[9..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
