//! How schemas and versions are rendered in answers: Confluent leaves out
//! `schemaType` for Avro and empty `references`, and renders `format`.

use serde_json::{json, Value};

use super::body::Params;
use super::errors::ApiError;
use crate::registry::{Registry, Schema, SubjectVersion};
use crate::schema::{FormatName, SchemaFormat};
use crate::SchemaType;

pub(super) fn schema_fields(
    out: &mut serde_json::Map<String, Value>,
    schema: &Schema,
    text: String,
) {
    if schema.schema_type != SchemaType::Avro {
        out.insert("schemaType".into(), json!(schema.schema_type.as_str()));
    }
    if !schema.references.is_empty() {
        out.insert("references".into(), json!(schema.references));
    }
    if let Some(metadata) = &schema.metadata {
        out.insert("metadata".into(), json!(metadata));
    }
    if let Some(rule_set) = &schema.rule_set {
        out.insert("ruleSet".into(), json!(rule_set));
    }
    out.insert("schema".into(), Value::String(text));
}

pub(super) fn version_json(v: &SubjectVersion, text: String) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("subject".into(), json!(v.subject));
    out.insert("version".into(), json!(v.version));
    out.insert("id".into(), json!(v.schema.id));
    schema_fields(&mut out, &v.schema, text);
    Value::Object(out)
}

/// The `format` query parameter: absent or empty is the text as stored; a
/// name the schema's type does not know is the default form, as Confluent's
/// `formattedString` answers it ("for forward compatibility of formats");
/// a format Confluent renders and this registry does not (PROTOBUF
/// `ignore_extensions`) is 400 rather than a form it did not ask for.
pub(super) fn formatted(
    registry: &Registry,
    schema: &Schema,
    p: &Params,
) -> Result<String, ApiError> {
    let name = match p.get("format").map(|f| f.trim()) {
        None | Some("") => return Ok(schema.text.clone()),
        Some(name) => name,
    };
    let format = match SchemaFormat::for_type(schema.schema_type, name) {
        FormatName::Rendered(format) => format,
        FormatName::Unknown => SchemaFormat::Default,
        FormatName::NotRendered => {
            return Err(ApiError::BadRequest(format!(
                "Unsupported format '{name}' for {} schemas (supported: {})",
                schema.schema_type,
                SchemaFormat::names(schema.schema_type)
            )))
        }
    };
    let parsed = registry.parse(schema.schema_type, &schema.text, &schema.references)?;
    Ok(parsed.formatted(format))
}
