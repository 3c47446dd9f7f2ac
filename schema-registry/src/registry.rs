//! The registry's state: subjects, versions, global schema ids, soft
//! deletes, config (compatibility level and data-contract defaults and
//! overrides) and mode.
//!
//! The state changes only through [`Registry::apply`], one `_schemas`
//! record at a time, both when the log is replayed at start and after a
//! write is durable. Write operations are therefore split in two: a `plan_*`
//! method validates against the current state and returns the records to
//! append (and the answer), and the caller applies those records once the
//! log has them. Callers serialize writes so a plan is applied to the state
//! it was made against.
//!
//! **Same schema, same id.** As in Confluent (whose `MD5.ofSchema` hashes
//! the canonical text, the references, the metadata and the rule set), one
//! id stands for one [`Identity`]: format, canonical form, references,
//! `metadata` and `ruleSet`. A registration that differs from an existing
//! version only in its metadata or rules is a new version with a new id.
//!
//! **Reads are cheap.** Every stored text's canonical form is remembered, so
//! registering or looking up a text the registry already holds (what
//! serializers do on every cache miss) costs hash lookups, not a parse; and
//! [`Registry::cached_json`] keeps a rendered answer per schema id until the
//! next applied record.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;

use axum::body::Bytes;

pub use crate::error::RegistryError;
use crate::records::{
    ConfigValue, DeleteSubjectValue, LogRecord, Metadata, ModeValue, RecordKey, RuleSet,
    SchemaReference, SchemaValue,
};
use crate::{ParsedSchema, ResolvedReference, SchemaType};

mod checks;
mod config;
mod identity;
mod writes;

pub use config::{Config, ConfigUpdate, Mode};
use identity::{Identity, KnownText, TextKey};

/// Shorthand.
pub type Result<T> = std::result::Result<T, RegistryError>;

/// A registered schema, shared by every version that has its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The global id.
    pub id: u32,
    /// The format.
    pub schema_type: SchemaType,
    /// The references.
    pub references: Vec<SchemaReference>,
    /// Data-contract metadata.
    pub metadata: Option<Metadata>,
    /// Data-contract rules.
    pub rule_set: Option<RuleSet>,
    /// The schema text.
    pub text: String,
}

/// One version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// The schema id.
    pub id: u32,
    /// Soft-deleted.
    pub deleted: bool,
}

/// What a version request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    /// `latest` or `-1`.
    Latest,
    /// A version number.
    Number(i32),
}

impl VersionSpec {
    /// Parses `latest`, `-1` or a positive version (42202 otherwise).
    pub fn parse(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("latest") {
            return Ok(VersionSpec::Latest);
        }
        match s.parse::<i32>() {
            Ok(-1) => Ok(VersionSpec::Latest),
            Ok(n) if n >= 1 => Ok(VersionSpec::Number(n)),
            _ => Err(RegistryError::InvalidVersion(s.to_owned())),
        }
    }
}

/// A schema submitted for registration, lookup or a compatibility check.
#[derive(Debug, Clone, Default)]
pub struct NewSchema {
    /// The format.
    pub schema_type: SchemaType,
    /// The text.
    pub text: String,
    /// The references.
    pub references: Vec<SchemaReference>,
    /// An explicit id (IMPORT mode).
    pub id: Option<u32>,
    /// An explicit version (IMPORT mode, or the next version).
    pub version: Option<i32>,
    /// Data-contract metadata (`None`: inherit the latest version's).
    pub metadata: Option<Metadata>,
    /// Data-contract rules (`None`: inherit the latest version's).
    pub rule_set: Option<RuleSet>,
    /// Store and compare the normalized form.
    pub normalize: bool,
}

/// A subject/version/schema triple as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectVersion {
    /// The subject.
    pub subject: String,
    /// The version.
    pub version: i32,
    /// The schema.
    pub schema: Schema,
    /// Soft-deleted.
    pub deleted: bool,
}

/// A planned write: records to append, then the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned<T> {
    /// Records to append before answering (may be empty).
    pub records: Vec<LogRecord>,
    /// The answer once they are applied.
    pub answer: T,
}

/// The registry state.
#[derive(Debug, Default)]
pub struct Registry {
    subjects: BTreeMap<String, BTreeMap<i32, Version>>,
    schemas: BTreeMap<u32, Schema>,
    by_identity: HashMap<Identity, u32>,
    known_texts: HashMap<TextKey, KnownText>,
    max_id: u32,
    global_config: Option<Config>,
    subject_config: BTreeMap<String, Config>,
    global_mode: Option<Mode>,
    subject_mode: BTreeMap<String, Mode>,
    /// Rendered answers by schema id, emptied by every applied record.
    rendered: RwLock<HashMap<u32, Bytes>>,
}

/// Confluent's `QualifiedSubject.isValidSubject` for the default context: no
/// control characters, and not the reserved `__GLOBAL`.
fn check_subject(subject: &str) -> Result<()> {
    if subject.is_empty() || subject == "__GLOBAL" || subject.chars().any(char::is_control) {
        return Err(RegistryError::InvalidSubject(subject.to_owned()));
    }
    Ok(())
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    // ----- replay -----

    /// Applies one `_schemas` record. Unreadable records are skipped and
    /// reported in the `Err`, so that one bad record does not stop a replay.
    pub fn apply(&mut self, key: &[u8], value: Option<&[u8]>) -> std::result::Result<(), String> {
        self.rendered
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let key = RecordKey::decode(key).map_err(|e| format!("unreadable key: {e}"))?;
        let bad = |e: serde_json::Error| format!("unreadable value of {key:?}: {e}");
        match &key {
            RecordKey::Schema { subject, version } => match value {
                None => {
                    if let Some(versions) = self.subjects.get_mut(subject) {
                        if let Some(v) = versions.remove(version) {
                            if versions.is_empty() {
                                self.subjects.remove(subject);
                            }
                            self.forget_if_unused(v.id);
                        }
                    }
                }
                Some(bytes) => {
                    let v: SchemaValue = serde_json::from_slice(bytes).map_err(bad)?;
                    let schema_type = SchemaType::from_optional(v.schema_type.as_deref())
                        .map_err(|e| e.to_string())?;
                    if !self.schemas.contains_key(&v.id) {
                        self.insert_schema(Schema {
                            id: v.id,
                            schema_type,
                            references: v.references,
                            metadata: v.metadata,
                            rule_set: v.rule_set,
                            text: v.schema,
                        });
                    }
                    self.max_id = self.max_id.max(v.id);
                    let previous = self.subjects.entry(subject.clone()).or_default().insert(
                        *version,
                        Version {
                            id: v.id,
                            deleted: v.deleted,
                        },
                    );
                    if let Some(p) = previous {
                        if p.id != v.id {
                            self.forget_if_unused(p.id);
                        }
                    }
                }
            },
            RecordKey::Config(subject) => {
                let config = match value {
                    None => None,
                    Some(bytes) => {
                        let v: ConfigValue = serde_json::from_slice(bytes).map_err(bad)?;
                        Some(Config::from_value(v)?)
                    }
                };
                match (subject, config) {
                    (None, config) => self.global_config = config,
                    (Some(s), Some(config)) => {
                        self.subject_config.insert(s.clone(), config);
                    }
                    (Some(s), None) => {
                        self.subject_config.remove(s);
                    }
                }
            }
            RecordKey::Mode(subject) => {
                let mode = match value {
                    None => None,
                    Some(bytes) => {
                        let v: ModeValue = serde_json::from_slice(bytes).map_err(bad)?;
                        Some(v.mode.parse::<Mode>().map_err(|e| e.to_string())?)
                    }
                };
                match (subject, mode) {
                    (None, mode) => self.global_mode = mode,
                    (Some(s), Some(mode)) => {
                        self.subject_mode.insert(s.clone(), mode);
                    }
                    (Some(s), None) => {
                        self.subject_mode.remove(s);
                    }
                }
            }
            RecordKey::DeleteSubject(subject) => {
                if let Some(bytes) = value {
                    let v: DeleteSubjectValue = serde_json::from_slice(bytes).map_err(bad)?;
                    if let Some(versions) = self.subjects.get_mut(subject) {
                        for (_, ver) in versions.range_mut(..=v.version) {
                            ver.deleted = true;
                        }
                    }
                }
            }
            RecordKey::Other => {}
        }
        Ok(())
    }

    // ----- schemas -----

    /// Resolves references transitively to their texts (42201 when one is missing).
    pub fn resolve(&self, references: &[SchemaReference]) -> Result<Vec<ResolvedReference>> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        self.resolve_into(references, &mut out, &mut seen)?;
        Ok(out)
    }

    fn resolve_into(
        &self,
        references: &[SchemaReference],
        out: &mut Vec<ResolvedReference>,
        seen: &mut BTreeSet<String>,
    ) -> Result<()> {
        for r in references {
            if !seen.insert(r.name.clone()) {
                continue;
            }
            let versions = self.subjects.get(&r.subject).ok_or_else(|| {
                RegistryError::InvalidSchema(format!(
                    "Invalid schema: reference {} to subject '{}' not found",
                    r.name, r.subject
                ))
            })?;
            let version = if r.version == -1 {
                versions.iter().rev().find(|(_, v)| !v.deleted)
            } else {
                versions.get_key_value(&r.version)
            };
            let (_, v) = version.ok_or_else(|| {
                RegistryError::InvalidSchema(format!(
                    "Invalid schema: reference {} to subject '{}' version {} not found",
                    r.name, r.subject, r.version
                ))
            })?;
            let schema = &self.schemas[&v.id];
            self.resolve_into(&schema.references, out, seen)?;
            out.push(ResolvedReference::new(&r.name, &schema.text));
        }
        Ok(())
    }

    /// Parses a schema with its references resolved from the registry.
    pub fn parse(
        &self,
        schema_type: SchemaType,
        text: &str,
        references: &[SchemaReference],
    ) -> Result<ParsedSchema> {
        let resolved = self.resolve(references)?;
        ParsedSchema::parse(schema_type, text, &resolved)
            .map_err(|e| RegistryError::InvalidSchema(format!("Invalid schema: {e}")))
    }

    /// The newest version of `subject` holding schema `id` (live ones only
    /// unless `deleted`).
    pub fn version_with_id(&self, subject: &str, id: u32, deleted: bool) -> Option<i32> {
        self.subjects
            .get(subject)?
            .iter()
            .rev()
            .find(|(_, v)| v.id == id && (deleted || !v.deleted))
            .map(|(n, _)| *n)
    }

    /// The schema with this id (40403).
    pub fn schema(&self, id: u32) -> Result<&Schema> {
        self.schemas
            .get(&id)
            .ok_or_else(|| RegistryError::SchemaNotFound(format!("Schema {id} not found")))
    }

    /// Every (subject, version) that uses schema `id`.
    pub fn subject_versions_of(&self, id: u32, deleted: bool) -> Result<Vec<(String, i32)>> {
        self.schema(id)?;
        Ok(self
            .subjects
            .iter()
            .flat_map(|(s, vs)| {
                vs.iter()
                    .filter(move |(_, v)| v.id == id && (deleted || !v.deleted))
                    .map(move |(n, _)| (s.clone(), *n))
            })
            .collect())
    }

    /// Every live (or, with `deleted`, every) subject/version, for `GET /schemas`.
    pub fn all_versions(&self, deleted: bool) -> Vec<SubjectVersion> {
        self.subjects
            .iter()
            .flat_map(|(s, vs)| {
                vs.iter()
                    .filter(move |(_, v)| deleted || !v.deleted)
                    .map(move |(n, v)| SubjectVersion {
                        subject: s.clone(),
                        version: *n,
                        schema: self.schemas[&v.id].clone(),
                        deleted: v.deleted,
                    })
            })
            .collect()
    }

    // ----- subjects and versions -----

    /// Subjects with a live version; with `deleted` also those whose every
    /// version is soft-deleted; with `deleted_only` only those.
    pub fn subjects(&self, prefix: &str, deleted: bool, deleted_only: bool) -> Vec<String> {
        self.subjects
            .iter()
            .filter(|(s, _)| s.starts_with(prefix))
            .filter(|(_, vs)| {
                let live = vs.values().any(|v| !v.deleted);
                if deleted_only {
                    !live
                } else {
                    live || deleted
                }
            })
            .map(|(s, _)| s.clone())
            .collect()
    }

    fn versions_map(&self, subject: &str, deleted: bool) -> Result<&BTreeMap<i32, Version>> {
        match self.subjects.get(subject) {
            Some(vs) if deleted || vs.values().any(|v| !v.deleted) => Ok(vs),
            _ => Err(RegistryError::SubjectNotFound(subject.to_owned())),
        }
    }

    /// A subject's version numbers (40401).
    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>> {
        Ok(self
            .versions_map(subject, deleted)?
            .iter()
            .filter(|(_, v)| deleted || !v.deleted)
            .map(|(n, _)| *n)
            .collect())
    }

    /// One version (40401, 40402).
    pub fn version(
        &self,
        subject: &str,
        spec: VersionSpec,
        deleted: bool,
    ) -> Result<SubjectVersion> {
        let versions = self.versions_map(subject, deleted)?;
        let found = match spec {
            VersionSpec::Latest => versions.iter().rev().find(|(_, v)| deleted || !v.deleted),
            VersionSpec::Number(n) => versions
                .get_key_value(&n)
                .filter(|(_, v)| deleted || !v.deleted),
        };
        let (n, v) = found.ok_or(RegistryError::VersionNotFound(match spec {
            VersionSpec::Latest => -1,
            VersionSpec::Number(n) => n,
        }))?;
        Ok(SubjectVersion {
            subject: subject.to_owned(),
            version: *n,
            schema: self.schemas[&v.id].clone(),
            deleted: v.deleted,
        })
    }

    /// Ids of live schemas that reference `subject` at `version`.
    pub fn referenced_by(&self, subject: &str, version: i32) -> Vec<u32> {
        let mut ids: BTreeSet<u32> = BTreeSet::new();
        for vs in self.subjects.values() {
            for v in vs.values().filter(|v| !v.deleted) {
                let schema = &self.schemas[&v.id];
                if schema
                    .references
                    .iter()
                    .any(|r| r.subject == subject && r.version == version)
                {
                    ids.insert(v.id);
                }
            }
        }
        ids.into_iter().collect()
    }

    /// Looks a schema up under a subject: the same format, canonical form,
    /// references, metadata and rules (40401, 40403).
    pub fn lookup(&self, subject: &str, new: &NewSchema, deleted: bool) -> Result<SubjectVersion> {
        let versions = self.versions_map(subject, deleted)?;
        let new = &*self.with_config_normalize(subject, new);
        let (canonical, _) = self.canonical_of(new)?;
        // As given: a lookup inherits no metadata or rules (Confluent's
        // lookUpSchemaUnderSubject hashes the request as it is).
        let identity = Self::identity(new, canonical, new.metadata.clone(), new.rule_set.clone());
        let not_found = || RegistryError::SchemaNotFound("Schema not found".into());
        let id = *self.by_identity.get(&identity).ok_or_else(not_found)?;
        let (n, v) = versions
            .iter()
            .rev()
            .find(|(_, v)| v.id == id && (deleted || !v.deleted))
            .ok_or_else(not_found)?;
        Ok(SubjectVersion {
            subject: subject.to_owned(),
            version: *n,
            schema: self.schemas[&id].clone(),
            deleted: v.deleted,
        })
    }

    /// The latest version of `subject` whose metadata properties hold every
    /// `(key, value)` pair (40401, 40403).
    pub fn latest_with_metadata(
        &self,
        subject: &str,
        wanted: &[(&String, &String)],
        deleted: bool,
    ) -> Result<SubjectVersion> {
        let versions = self.versions_map(subject, deleted)?;
        let (n, v) = versions
            .iter()
            .rev()
            .filter(|(_, v)| deleted || !v.deleted)
            .find(|(_, v)| {
                self.schemas[&v.id].metadata.as_ref().is_some_and(|m| {
                    wanted
                        .iter()
                        .all(|(k, val)| m.properties.get(k.as_str()) == Some(*val))
                })
            })
            .ok_or_else(|| RegistryError::SchemaNotFound("Schema not found".into()))?;
        Ok(SubjectVersion {
            subject: subject.to_owned(),
            version: *n,
            schema: self.schemas[&v.id].clone(),
            deleted: v.deleted,
        })
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
