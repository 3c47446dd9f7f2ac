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
