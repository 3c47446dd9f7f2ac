//! JSON Schema (drafts 4, 6, 7, 2019-09 and 2020-12, detected from
//! `$schema`, 2020-12 when absent) on the `jsonschema` crate.
//!
//! - Parsing: the text must be JSON and a valid schema of its draft;
//!   `$ref`s to other documents resolve only from the references given
//!   (registered under their reference name, as an absolute URI or relative
//!   to the root's `$id`); nothing is ever fetched (the crate is built
//!   without its HTTP and file resolvers).
//! - [`JsonSchema::canonical`]: the schema JSON with object keys sorted and
//!   no whitespace; [`JsonSchema::normalized`] is the same string.
//! - [`compat`]: Confluent's JSON Schema compatibility rules (listed there).

use std::collections::HashMap;

use serde_json::Value;

use crate::error::SchemaError;
use crate::schema::ResolvedReference;

pub mod compat;

const TYPE: &str = "JSON";
/// Where a root schema without `$id` lives, so relative references resolve.
const DEFAULT_BASE: &str = "json-schema:///";

/// A parsed JSON Schema with its compiled validator.
pub struct JsonSchema {
    text: String,
    value: Value,
    references: HashMap<String, Value>,
    validator: jsonschema::Validator,
    canonical: String,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSchema")
            .field("canonical", &self.canonical)
            .field("references", &self.references.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl JsonSchema {
    /// Parses and compiles `text`; `$ref`s resolve only from `references`.
    pub fn parse(text: &str, references: &[ResolvedReference]) -> Result<Self, SchemaError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| SchemaError::invalid(TYPE, format!("not JSON: {e}")))?;
        if !value.is_object() && !value.is_boolean() {
            return Err(SchemaError::invalid(
                TYPE,
                "a schema must be a JSON object or boolean",
            ));
        }
        let mut parsed_refs = HashMap::new();
        for r in references {
            let v: Value = serde_json::from_str(&r.schema).map_err(|e| {
                SchemaError::invalid(TYPE, format!("reference {} is not JSON: {e}", r.name))
            })?;
            parsed_refs.insert(r.name.clone(), v);
        }
        let validator = Self::compile(&value, &parsed_refs)?;
        let canonical = canonical_json(&value);
        Ok(Self {
            text: text.to_owned(),
            value,
            references: parsed_refs,
            validator,
            canonical,
        })
    }

    fn compile(
        value: &Value,
        parsed_refs: &HashMap<String, Value>,
    ) -> Result<jsonschema::Validator, SchemaError> {
        let root_id = value.get("$id").and_then(Value::as_str);
        let mut resources: Vec<(String, &Value)> = Vec::new();
        for (name, v) in parsed_refs {
            for uri in reference_uris(name, root_id) {
                resources.push((uri, v));
            }
        }
        let mut registry = jsonschema::Registry::new();
        for (uri, v) in resources {
            registry = registry
                .add(&uri, v)
                .map_err(|e| SchemaError::invalid(TYPE, format!("reference uri {uri}: {e}")))?;
        }
        let registry = registry
            .prepare()
            .map_err(|e| SchemaError::invalid(TYPE, format!("references: {e}")))?;
        jsonschema::options()
            .with_registry(&registry)
            .build(value)
            .map_err(|e| SchemaError::invalid(TYPE, e.to_string()))
    }

    /// The schema text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The schema as JSON.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The referenced schemas by reference name.
    pub fn references(&self) -> &HashMap<String, Value> {
        &self.references
    }

    /// The compiled validator (for payload validation).
    pub fn validator(&self) -> &jsonschema::Validator {
        &self.validator
    }

    /// Sorted-key, whitespace-free JSON: the "same schema" string.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// What `normalize=true` stores: the canonical string.
    pub fn normalized(&self) -> String {
        self.canonical.clone()
    }
}

/// The URIs a reference named `name` is registered under: the name itself
/// when it is absolute, else the name resolved against the default base and
/// against the root's `$id` directory.
fn reference_uris(name: &str, root_id: Option<&str>) -> Vec<String> {
    if name.contains("://") || name.starts_with("urn:") {
        return vec![name.to_owned()];
    }
    let relative = name.trim_start_matches("./");
    let mut uris = vec![format!("{DEFAULT_BASE}{relative}")];
    if let Some(id) = root_id {
        if let Some(slash) = id.rfind('/') {
            if id.contains("://") {
                uris.push(format!("{}{relative}", &id[..=slash]));
            }
        }
    }
    uris
}

/// Compact JSON with object keys sorted, whatever serde_json's map order.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod compat_array_tests;
#[cfg(test)]
mod compat_tests;
#[cfg(test)]
mod tests;
