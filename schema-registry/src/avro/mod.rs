//! Avro schemas on apache-avro's schema model.
//!
//! - Parsing: the schema JSON plus the referenced named types (Confluent's
//!   Avro references name a record, enum or fixed defined by another
//!   subject); a schema that does not parse, a default that does not match
//!   its field, or an unknown named type is a [`SchemaError`].
//! - [`AvroSchema::canonical`]: apache-avro's compact serialization of the
//!   parsed schema (fixed key order, no whitespace, names fully qualified),
//!   which keeps `doc`, `default`, `aliases` and custom properties as
//!   Confluent's `Schema.toString()` does: two texts that differ only in
//!   layout share one id, a changed default gets a new one.
//! - [`AvroSchema::resolved`]: the schema with every named type its
//!   references define written out at its first use, as Java's
//!   `Schema.toString()` prints a schema parsed together with its
//!   references (Confluent's `format=resolved`).
//! - [`AvroSchema::parsing_canonical_form`] and
//!   [`AvroSchema::fingerprint64`]: the Avro specification's Parsing
//!   Canonical Form and its CRC-64-AVRO (Rabin) fingerprint.
//! - [`compat`]: the specification's schema-resolution rules.

use std::collections::HashMap;

use apache_avro::schema::{InnerDecimalSchema, Name, UuidSchema};
use apache_avro::Schema;

use crate::error::SchemaError;
use crate::schema::ResolvedReference;

pub mod compat;

const TYPE: &str = "AVRO";

/// A parsed Avro schema with the named types its references define.
#[derive(Debug)]
pub struct AvroSchema {
    text: String,
    schema: Schema,
    references: Vec<Schema>,
    canonical: String,
}

impl AvroSchema {
    /// Parses `text`, resolving named types from `references` (their order
    /// does not matter; references may refer to each other).
    pub fn parse(text: &str, references: &[ResolvedReference]) -> Result<Self, SchemaError> {
        let (schema, references) = if references.is_empty() {
            (Schema::parse_str(text).map_err(invalid)?, Vec::new())
        } else {
            Schema::parse_str_with_list(text, references.iter().map(|r| r.schema.as_str()))
                .map_err(invalid)?
        };
        let canonical = serde_json::to_string(&schema)
            .map_err(|e| SchemaError::invalid(TYPE, format!("cannot serialize schema: {e}")))?;
        Ok(Self {
            text: text.to_owned(),
            schema,
            references,
            canonical,
        })
    }

    /// The schema text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The apache-avro model of the schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The named types defined by the references.
    pub fn references(&self) -> &[Schema] {
        &self.references
    }

    /// See the module doc: the "same schema" string.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// What `normalize=true` stores: the canonical string, which is valid
    /// Avro schema JSON with the same references.
    pub fn normalized(&self) -> String {
        self.canonical.clone()
    }

    /// See the module doc: the schema standing alone, references inlined.
    pub fn resolved(&self) -> String {
        if self.references.is_empty() {
            return self.canonical.clone();
        }
        let mut definitions = HashMap::new();
        for reference in &self.references {
            if let Ok(mut value) = serde_json::to_value(reference) {
                // A reference's own named types are defined inside it.
                let mut inner = Vec::new();
                collect_definitions(&mut value, &mut inner);
                for (name, definition) in inner {
                    definitions.entry(name).or_insert(definition);
                }
            }
        }
        let Ok(mut root) = serde_json::to_value(&self.schema) else {
            return self.canonical.clone();
        };
        let mut defined = std::collections::HashSet::new();
        inline_references(&mut root, &definitions, &mut defined);
        root.to_string()
    }

    /// The Parsing Canonical Form of the Avro specification (drops `doc`,
    /// `aliases`, defaults and custom properties; references stay names).
    pub fn parsing_canonical_form(&self) -> String {
        self.schema.canonical_form()
    }

    /// The 64-bit Rabin fingerprint (CRC-64-AVRO) of the Parsing Canonical
    /// Form, as the specification and Java's `parsingFingerprint64` compute it.
    pub fn fingerprint64(&self) -> i64 {
        let fp = self.schema.fingerprint::<apache_avro::rabin::Rabin>();
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&fp.bytes[..8]);
        i64::from_le_bytes(bytes)
    }

    /// Every named type visible to this schema (its own and its references'),
    /// by full name.
    pub(crate) fn names(&self) -> HashMap<Name, &Schema> {
        let mut names = HashMap::new();
        for s in self.references.iter().chain(std::iter::once(&self.schema)) {
            collect_names(s, &mut names);
        }
        names
    }
}

fn invalid(e: apache_avro::Error) -> SchemaError {
    SchemaError::invalid(TYPE, e.to_string())
}

/// The full name of a named type's JSON (`name` plus `namespace`).
fn full_name(object: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let name = object.get("name")?.as_str()?;
    match object.get("namespace").and_then(|n| n.as_str()) {
        Some(ns) if !ns.is_empty() && !name.contains('.') => Some(format!("{ns}.{name}")),
        _ => Some(name.to_owned()),
    }
}

/// Every named type defined in `value` (records, enums, fixed), by full name.
fn collect_definitions(value: &mut serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    match value {
        serde_json::Value::Array(items) => {
            for item in items {
                collect_definitions(item, out);
            }
        }
        serde_json::Value::Object(object) => {
            if matches!(
                object.get("type").and_then(|t| t.as_str()),
                Some("record" | "error" | "enum" | "fixed")
            ) {
                if let Some(name) = full_name(object) {
                    out.push((name, serde_json::Value::Object(object.clone())));
                }
            }
            for (key, child) in object.iter_mut() {
                if matches!(key.as_str(), "type" | "items" | "values" | "fields") {
                    collect_definitions(child, out);
                }
            }
        }
        _ => {}
    }
}

/// Replaces the first use of each name in `definitions` by its definition.
fn inline_references(
    value: &mut serde_json::Value,
    definitions: &HashMap<String, serde_json::Value>,
    defined: &mut std::collections::HashSet<String>,
) {
    match value {
        serde_json::Value::String(name) => {
            if let Some(definition) = definitions.get(name.as_str()) {
                if defined.insert(name.clone()) {
                    *value = definition.clone();
                    inline_references(value, definitions, defined);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                inline_references(item, definitions, defined);
            }
        }
        serde_json::Value::Object(object) => {
            if let Some(name) = full_name(object) {
                if object.get("type").and_then(|t| t.as_str()).is_some() {
                    defined.insert(name);
                }
            }
            if let Some(fields) = object.get_mut("fields").and_then(|f| f.as_array_mut()) {
                for field in fields {
                    if let Some(t) = field.get_mut("type") {
                        inline_references(t, definitions, defined);
                    }
                }
            }
            for key in ["items", "values"] {
                if let Some(child) = object.get_mut(key) {
                    inline_references(child, definitions, defined);
                }
            }
            if let Some(t) = object.get_mut("type") {
                if !t.is_string() {
                    inline_references(t, definitions, defined);
                }
            }
        }
        _ => {}
    }
}

fn collect_names<'a>(schema: &'a Schema, names: &mut HashMap<Name, &'a Schema>) {
    match schema {
        Schema::Record(r) if names.insert(r.name.clone(), schema).is_none() => {
            for f in &r.fields {
                collect_names(&f.schema, names);
            }
        }
        Schema::Enum(e) => {
            names.insert(e.name.clone(), schema);
        }
        Schema::Fixed(f) | Schema::Duration(f) => {
            names.insert(f.name.clone(), schema);
        }
        Schema::Decimal(d) => {
            if let InnerDecimalSchema::Fixed(f) = &d.inner {
                names.insert(f.name.clone(), schema);
            }
        }
        Schema::Uuid(UuidSchema::Fixed(f)) => {
            names.insert(f.name.clone(), schema);
        }
        Schema::Array(a) => collect_names(&a.items, names),
        Schema::Map(m) => collect_names(&m.types, names),
        Schema::Union(u) => {
            for v in u.variants() {
                collect_names(v, names);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
