//! Compatibility checks as Confluent's `isCompatibleWithPrevious` makes
//! them: the config's `validateFields` adds the reserved-field checks, its
//! `compatibilityGroup` narrows the versions checked against to those in
//! the new schema's group, and the level decides the rest.

use super::{Config, NewSchema, Registry, RegistryError, Result, Schema, VersionSpec};
use crate::compat::{check_detailed, CompatibilityLevel};
use crate::records::Metadata;
use crate::ParsedSchema;

/// The metadata property listing a schema's reserved field names
/// (Confluent's `ParsedSchema.RESERVED`), comma-separated.
const RESERVED: &str = "confluent:reserved";

impl Registry {
    /// Checks `new` against one version (`Some`) or, per the subject's
    /// level, its live versions (`None`); returns the incompatibility
    /// messages. `latest` of a subject without live versions checks against
    /// nothing (compatible), a numbered version that is missing or
    /// soft-deleted is 40402, as Confluent's `CompatibilityResource` (6.0+).
    /// The config in scope may normalize `new` (`normalize`), validate its
    /// fields and narrow the versions (see [`Registry::incompatibilities`]).
    pub fn check_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSpec>,
        new: &NewSchema,
    ) -> Result<Vec<String>> {
        let new = self.with_config_normalize(subject, new);
        let config = self.config_in_scope(subject);
        let level = self.subject_config(subject, true)?;
        let (parsed, _) = self.parse_new(&new)?;
        self.validate_fields(&parsed, &config)?;
        let live = || {
            self.subjects
                .get(subject)
                .into_iter()
                .flat_map(|vs| vs.iter())
                .filter(|(_, v)| !v.deleted)
        };
        let existing: Vec<(i32, Schema)> = match version {
            Some(VersionSpec::Latest) => live()
                .next_back()
                .map(|(n, v)| (*n, self.schemas[&v.id].clone()))
                .into_iter()
                .collect(),
            Some(VersionSpec::Number(n)) => {
                let (n, v) = live()
                    .find(|(k, _)| **k == n)
                    .ok_or(RegistryError::VersionNotFound(n))?;
                vec![(*n, self.schemas[&v.id].clone())]
            }
            None => live()
                .map(|(n, v)| (*n, self.schemas[&v.id].clone()))
                .collect(),
        };
        self.incompatibilities(&parsed, new.metadata.as_ref(), &existing, level, &config)
    }

    /// Confluent's `ParsedSchema.validate(strict)` with `validateFields` on:
    /// a JSON object schema's property names may not start with `$$`
    /// (42201). Avro names are always checked strictly when parsed, and a
    /// Protobuf schema that parses is already fully resolved.
    pub(super) fn validate_fields(&self, parsed: &ParsedSchema, config: &Config) -> Result<()> {
        if config.validate_fields != Some(true) {
            return Ok(());
        }
        if let ParsedSchema::Json(s) = parsed {
            let restricted = s
                .value()
                .get("properties")
                .and_then(|p| p.as_object())
                .and_then(|p| p.keys().find(|k| k.starts_with("$$")));
            if let Some(field) = restricted {
                return Err(RegistryError::InvalidSchema(format!(
                    "Invalid schema, details: #/properties/{field}: Field names cannot start with $$ prefix"
                )));
            }
        }
        Ok(())
    }

    /// The messages why `parsed` (with `metadata`) may not follow
    /// `existing` (ascending, live) at `level` under `config`: with
    /// `validateFields`, reserved fields removed since the latest version
    /// or used as top-level fields; with `compatibilityGroup`, only the
    /// versions whose property of that name equals the new schema's (both
    /// possibly absent) are checked.
    pub(super) fn incompatibilities(
        &self,
        parsed: &ParsedSchema,
        metadata: Option<&Metadata>,
        existing: &[(i32, Schema)],
        level: CompatibilityLevel,
        config: &Config,
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        if config.validate_fields == Some(true) {
            out = reserved_field_errors(parsed, metadata, existing.last().map(|(_, s)| s));
        }
        let group_of =
            |m: Option<&Metadata>, group: &str| m.and_then(|m| m.properties.get(group)).cloned();
        let grouped: Vec<(i32, Schema)>;
        let existing = match &config.compatibility_group {
            None => existing,
            Some(group) => {
                let wanted = group_of(metadata, group);
                grouped = existing
                    .iter()
                    .filter(|(_, s)| group_of(s.metadata.as_ref(), group) == wanted)
                    .cloned()
                    .collect();
                &grouped
            }
        };
        let reserved_only = !out.is_empty();
        out.extend(self.level_incompatibilities(parsed, existing, level)?);
        if reserved_only && out.iter().all(|m| !m.starts_with("{compatibility:")) {
            out.push(format!(
                "{{validateFields: 'true', compatibility: '{level}'}}"
            ));
        }
        Ok(out)
    }

    fn level_incompatibilities(
        &self,
        parsed: &ParsedSchema,
        existing: &[(i32, Schema)],
        level: CompatibilityLevel,
    ) -> Result<Vec<String>> {
        if level == CompatibilityLevel::None || existing.is_empty() {
            return Ok(Vec::new());
        }
        let parsed_existing = existing
            .iter()
            .map(|(_, s)| self.parse(s.schema_type, &s.text, &s.references))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| RegistryError::Store(format!("a stored schema does not parse: {e}")))?;
        Ok(match check_detailed(parsed, &parsed_existing, level) {
            None => Vec::new(),
            Some(failure) => {
                let (version, old) = &existing[failure.existing_index];
                let mut out = failure.differences;
                out.push(format!("{{oldSchemaVersion: {version}}}"));
                out.push(format!("{{oldSchema: '{}'}}", old.text));
                out.push(format!("{{compatibility: '{level}'}}"));
                out
            }
        })
    }
}

/// The names listed in `metadata`'s `confluent:reserved` property.
fn reserved_fields(metadata: Option<&Metadata>) -> Vec<String> {
    let Some(list) = metadata.and_then(|m| m.properties.get(RESERVED)) else {
        return Vec::new();
    };
    let mut fields: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

/// Confluent's `validateReservedFields`, with its messages.
fn reserved_field_errors(
    parsed: &ParsedSchema,
    metadata: Option<&Metadata>,
    previous: Option<&Schema>,
) -> Vec<String> {
    let reserved = reserved_fields(metadata);
    let mut out = Vec::new();
    if let Some(previous) = previous {
        for field in reserved_fields(previous.metadata.as_ref()) {
            if !reserved.contains(&field) {
                out.push(format!(
                    "The new schema has reserved field {field} removed from its metadata which is present in the old schema's metadata."
                ));
            }
        }
    }
    for field in reserved {
        if has_top_level_field(parsed, &field) {
            out.push(format!(
                "The new schema has field that conflicts with the reserved field {field}."
            ));
        }
    }
    out
}

/// Whether the schema's top-level record (Avro), object (JSON) or first
/// message (Protobuf) has a field of this name (Confluent's
/// `hasTopLevelField`).
fn has_top_level_field(parsed: &ParsedSchema, field: &str) -> bool {
    match parsed {
        ParsedSchema::Avro(s) => match s.schema() {
            apache_avro::Schema::Record(record) => record.fields.iter().any(|f| f.name == field),
            _ => false,
        },
        ParsedSchema::Json(s) => s
            .value()
            .get("properties")
            .and_then(|p| p.as_object())
            .is_some_and(|p| p.contains_key(field)),
        ParsedSchema::Protobuf(s) => s
            .file()
            .messages()
            .next()
            .is_some_and(|m| m.get_field_by_name(field).is_some()),
    }
}
