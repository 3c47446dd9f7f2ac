//! The registry's state: subjects, versions, global schema ids, soft
//! deletes, compatibility config and mode.
//!
//! The state changes only through [`Registry::apply`], one `_schemas`
//! record at a time, both when the log is replayed at start and after a
//! write is durable. Write operations are therefore split in two: a `plan_*`
//! method validates against the current state and returns the records to
//! append (and the answer), and the caller applies those records once the
//! log has them. Callers serialize writes so a plan is applied to the state
//! it was made against.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use crate::compat::{check_detailed, CompatibilityLevel};
use crate::records::{
    value, ConfigValue, DeleteSubjectValue, LogRecord, ModeValue, RecordKey, SchemaReference,
    SchemaValue,
};
use crate::{ParsedSchema, ResolvedReference, SchemaType};

/// A registry error with Confluent's `(HTTP status, error_code)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// 40401
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    /// 40402
    #[error("Version {0} not found.")]
    VersionNotFound(i32),
    /// 40403
    #[error("{0}")]
    SchemaNotFound(String),
    /// 40404
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    /// 40405
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    /// 40406
    #[error("Subject '{0}' Version {1} was soft deleted.Set permanent=true to delete permanently")]
    VersionSoftDeleted(String, i32),
    /// 40407
    #[error("Subject '{0}' Version {1} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted(String, i32),
    /// 40408
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectConfigNotFound(String),
    /// 40409
    #[error("Subject '{0}' does not have subject-level mode configured")]
    SubjectModeNotFound(String),
    /// 409
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]", .messages.join(", "))]
    Incompatible {
        /// The subject.
        subject: String,
        /// Confluent-style incompatibility messages.
        messages: Vec<String>,
    },
    /// 42201
    #[error("{0}")]
    InvalidSchema(String),
    /// 42202
    #[error("The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")]
    InvalidVersion(String),
    /// 42203
    #[error("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")]
    InvalidCompatibilityLevel(String),
    /// 42204
    #[error("Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT")]
    InvalidMode(String),
    /// 42205
    #[error("{0}")]
    OperationNotPermitted(String),
    /// 42206
    #[error("One or more references exist to the schema {{magic=1,keytype=SCHEMA,subject={0},version={1}}}.")]
    ReferenceExists(String, i32),
    /// 50001
    #[error("Error while storing the schema registry state: {0}")]
    Store(String),
}

impl RegistryError {
    /// `(HTTP status, Confluent error_code)`.
    pub fn status_and_code(&self) -> (u16, u32) {
        use RegistryError::*;
        match self {
            SubjectNotFound(_) => (404, 40401),
            VersionNotFound(_) => (404, 40402),
            SchemaNotFound(_) => (404, 40403),
            SubjectSoftDeleted(_) => (404, 40404),
            SubjectNotSoftDeleted(_) => (404, 40405),
            VersionSoftDeleted(..) => (404, 40406),
            VersionNotSoftDeleted(..) => (404, 40407),
            SubjectConfigNotFound(_) => (404, 40408),
            SubjectModeNotFound(_) => (404, 40409),
            Incompatible { .. } => (409, 409),
            InvalidSchema(_) => (422, 42201),
            InvalidVersion(_) => (422, 42202),
            InvalidCompatibilityLevel(_) => (422, 42203),
            InvalidMode(_) => (422, 42204),
            OperationNotPermitted(_) => (422, 42205),
            ReferenceExists(..) => (422, 42206),
            Store(_) => (500, 50001),
        }
    }
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, RegistryError>;

/// A subject's or the registry's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Reads and writes (the default).
    #[default]
    ReadWrite,
    /// Reads only.
    ReadOnly,
    /// Reads only, overriding subject modes.
    ReadOnlyOverride,
    /// Writes with explicit ids and versions, without compatibility checks.
    Import,
}

impl Mode {
    /// Confluent's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadWrite => "READWRITE",
            Mode::ReadOnly => "READONLY",
            Mode::ReadOnlyOverride => "READONLY_OVERRIDE",
            Mode::Import => "IMPORT",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "READWRITE" => Ok(Mode::ReadWrite),
            "READONLY" => Ok(Mode::ReadOnly),
            "READONLY_OVERRIDE" => Ok(Mode::ReadOnlyOverride),
            "IMPORT" => Ok(Mode::Import),
            _ => Err(RegistryError::InvalidMode(s.to_owned())),
        }
    }
}

/// A registered schema, shared by every version that has its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The global id.
    pub id: u32,
    /// The format.
    pub schema_type: SchemaType,
    /// The references.
    pub references: Vec<SchemaReference>,
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
    /// An explicit version (IMPORT mode).
    pub version: Option<i32>,
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
    by_identity: HashMap<(SchemaType, String, Vec<SchemaReference>), u32>,
    max_id: u32,
    global_config: Option<CompatibilityLevel>,
    subject_config: BTreeMap<String, CompatibilityLevel>,
    global_mode: Option<Mode>,
    subject_mode: BTreeMap<String, Mode>,
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
                        let identity = self
                            .parse(schema_type, &v.schema, &v.references)
                            .map(|p| p.canonical().to_owned())
                            .unwrap_or_else(|_| v.schema.clone());
                        self.by_identity
                            .insert((schema_type, identity, v.references.clone()), v.id);
                        self.schemas.insert(
                            v.id,
                            Schema {
                                id: v.id,
                                schema_type,
                                references: v.references.clone(),
                                text: v.schema.clone(),
                            },
                        );
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
                let level = match value {
                    None => None,
                    Some(bytes) => {
                        let v: ConfigValue = serde_json::from_slice(bytes).map_err(bad)?;
                        v.compatibility_level
                            .map(|l| l.parse::<CompatibilityLevel>())
                            .transpose()
                            .map_err(|e| e.to_string())?
                    }
                };
                match (subject, level) {
                    (None, level) => self.global_config = level,
                    (Some(s), Some(level)) => {
                        self.subject_config.insert(s.clone(), level);
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

    fn forget_if_unused(&mut self, id: u32) {
        let used = self
            .subjects
            .values()
            .any(|vs| vs.values().any(|v| v.id == id));
        if !used {
            if let Some(s) = self.schemas.remove(&id) {
                self.by_identity.retain(|_, v| *v != s.id);
            }
        }
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

    fn parse_new(&self, new: &NewSchema) -> Result<(ParsedSchema, String)> {
        let parsed = self.parse(new.schema_type, &new.text, &new.references)?;
        if new.normalize {
            let text = parsed.normalized();
            let parsed = self.parse(new.schema_type, &text, &new.references)?;
            return Ok((parsed, text));
        }
        Ok((parsed, new.text.clone()))
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

    /// Looks a schema up under a subject (40401, 40403).
    pub fn lookup(&self, subject: &str, new: &NewSchema, deleted: bool) -> Result<SubjectVersion> {
        let versions = self.versions_map(subject, deleted)?;
        let (parsed, _) = self.parse_new(new)?;
        let identity = (
            new.schema_type,
            parsed.canonical().to_owned(),
            new.references.clone(),
        );
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

    // ----- config and mode -----

    /// The global compatibility level.
    pub fn global_config(&self) -> CompatibilityLevel {
        self.global_config.unwrap_or_default()
    }

    /// A subject's own level, or the global one with `default_to_global` (40408).
    pub fn subject_config(
        &self,
        subject: &str,
        default_to_global: bool,
    ) -> Result<CompatibilityLevel> {
        match self.subject_config.get(subject) {
            Some(level) => Ok(*level),
            None if default_to_global => Ok(self.global_config()),
            None => Err(RegistryError::SubjectConfigNotFound(subject.to_owned())),
        }
    }

    /// The global mode.
    pub fn global_mode(&self) -> Mode {
        self.global_mode.unwrap_or_default()
    }

    /// A subject's own mode, or the global one with `default_to_global` (40409).
    pub fn subject_mode(&self, subject: &str, default_to_global: bool) -> Result<Mode> {
        match self.subject_mode.get(subject) {
            Some(mode) => Ok(*mode),
            None if default_to_global => Ok(self.global_mode()),
            None => Err(RegistryError::SubjectModeNotFound(subject.to_owned())),
        }
    }

    fn effective_mode(&self, subject: &str) -> Mode {
        let global = self.global_mode();
        if global == Mode::ReadOnlyOverride {
            return global;
        }
        self.subject_mode.get(subject).copied().unwrap_or(global)
    }

    fn check_writable(&self, subject: &str) -> Result<Mode> {
        match self.effective_mode(subject) {
            Mode::ReadOnly | Mode::ReadOnlyOverride => Err(RegistryError::OperationNotPermitted(
                format!("Subject {subject} is in read-only mode"),
            )),
            mode => Ok(mode),
        }
    }

    /// Plans setting (or with `None` deleting) the global or a subject's level.
    /// The answer is the level in force before.
    pub fn plan_config(
        &self,
        subject: Option<&str>,
        level: Option<&str>,
    ) -> Result<Planned<CompatibilityLevel>> {
        let level = level
            .map(|l| {
                l.parse::<CompatibilityLevel>()
                    .map_err(|_| RegistryError::InvalidCompatibilityLevel(l.to_owned()))
            })
            .transpose()?;
        let before = match subject {
            None => self.global_config(),
            Some(s) => self.subject_config(s, level.is_some())?,
        };
        let key = RecordKey::Config(subject.map(str::to_owned)).encode();
        let record = level.map(|l| ConfigValue {
            compatibility_level: Some(l.as_str().to_owned()),
        });
        Ok(Planned {
            records: vec![(key, record.as_ref().and_then(value))],
            answer: level.unwrap_or(before),
        })
    }

    /// Plans setting (or with `None` deleting) the global or a subject's mode.
    pub fn plan_mode(
        &self,
        subject: Option<&str>,
        mode: Option<&str>,
        force: bool,
    ) -> Result<Planned<Mode>> {
        let mode = mode.map(str::parse::<Mode>).transpose()?;
        if mode == Some(Mode::Import) && !force {
            let has_schemas = match subject {
                None => !self.subjects.is_empty(),
                Some(s) => self.subjects.contains_key(s),
            };
            if has_schemas {
                return Err(RegistryError::OperationNotPermitted(
                    "Cannot import since found existing subjects".into(),
                ));
            }
        }
        let before = match subject {
            None => self.global_mode(),
            Some(s) => self.subject_mode(s, mode.is_some())?,
        };
        let key = RecordKey::Mode(subject.map(str::to_owned)).encode();
        let record = mode.map(|m| ModeValue {
            mode: m.as_str().to_owned(),
        });
        Ok(Planned {
            records: vec![(key, record.as_ref().and_then(value))],
            answer: mode.unwrap_or(before),
        })
    }

    // ----- compatibility -----

    /// Checks `new` against one version (`Some`) or, per the subject's level,
    /// its live versions (`None`). Returns the incompatibility messages.
    pub fn check_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSpec>,
        new: &NewSchema,
    ) -> Result<Vec<String>> {
        let level = self.subject_config(subject, true)?;
        let (parsed, _) = self.parse_new(new)?;
        let existing: Vec<(i32, Schema)> = match version {
            Some(spec) => {
                let v = self.version(subject, spec, false)?;
                vec![(v.version, v.schema)]
            }
            None => match self.subjects.get(subject) {
                None => Vec::new(),
                Some(vs) => vs
                    .iter()
                    .filter(|(_, v)| !v.deleted)
                    .map(|(n, v)| (*n, self.schemas[&v.id].clone()))
                    .collect(),
            },
        };
        self.incompatibilities(&parsed, &existing, level)
    }

    fn incompatibilities(
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

    // ----- writes -----

    /// Plans registering `new` under `subject`; the answer is its id. An
    /// already-registered live schema plans no records.
    pub fn plan_register(&self, subject: &str, new: &NewSchema) -> Result<Planned<u32>> {
        let mode = self.check_writable(subject)?;
        if mode != Mode::Import && (new.id.is_some() || new.version.is_some()) {
            if let Some(id) = new.id {
                let existing = self.schemas.get(&id);
                if existing.is_none_or(|s| s.text != new.text) {
                    return Err(RegistryError::OperationNotPermitted(format!(
                        "Subject {subject} is not in import mode"
                    )));
                }
            }
        }
        let (parsed, text) = self.parse_new(new)?;
        let identity = (
            new.schema_type,
            parsed.canonical().to_owned(),
            new.references.clone(),
        );
        let known_id = self.by_identity.get(&identity).copied();
        let versions = self.subjects.get(subject);
        if let (Some(id), Some(vs)) = (known_id, versions) {
            if vs.values().any(|v| v.id == id && !v.deleted) && new.id.is_none_or(|i| i == id) {
                return Ok(Planned {
                    records: Vec::new(),
                    answer: id,
                });
            }
        }
        let id = match (new.id, known_id) {
            (Some(id), Some(known)) if id != known => {
                return Err(RegistryError::OperationNotPermitted(format!(
                    "Overwrite new schema with id {id} is not permitted: the schema has id {known}"
                )))
            }
            (Some(id), _) => {
                if self.schemas.get(&id).is_some_and(|s| {
                    s.schema_type != new.schema_type || s.references != new.references
                }) || (known_id.is_none() && self.schemas.contains_key(&id))
                {
                    return Err(RegistryError::OperationNotPermitted(format!(
                        "Overwrite new schema with id {id} is not permitted"
                    )));
                }
                id
            }
            (None, Some(known)) => known,
            (None, None) => self.max_id + 1,
        };
        if mode != Mode::Import {
            let level = self.subject_config(subject, true)?;
            let live: Vec<(i32, Schema)> = versions
                .into_iter()
                .flat_map(|vs| vs.iter())
                .filter(|(_, v)| !v.deleted)
                .map(|(n, v)| (*n, self.schemas[&v.id].clone()))
                .collect();
            let messages = self.incompatibilities(&parsed, &live, level)?;
            if !messages.is_empty() {
                return Err(RegistryError::Incompatible {
                    subject: subject.to_owned(),
                    messages,
                });
            }
        }
        let next = versions
            .and_then(|vs| vs.keys().next_back().copied())
            .unwrap_or(0)
            + 1;
        let version = match new.version {
            Some(v) if versions.is_some_and(|vs| vs.contains_key(&v)) => {
                return Err(RegistryError::OperationNotPermitted(format!(
                    "Version {v} already exists under subject {subject}"
                )))
            }
            Some(v) if v >= 1 => v,
            Some(v) => return Err(RegistryError::InvalidVersion(v.to_string())),
            None => next,
        };
        let text = match known_id {
            Some(known) if known == id => self.schemas[&known].text.clone(),
            _ => text,
        };
        let record = SchemaValue {
            subject: subject.to_owned(),
            version,
            id,
            schema_type: (new.schema_type != SchemaType::Avro)
                .then(|| new.schema_type.as_str().to_owned()),
            references: new.references.clone(),
            schema: text,
            deleted: false,
        };
        let key = RecordKey::Schema {
            subject: subject.to_owned(),
            version,
        };
        Ok(Planned {
            records: vec![(key.encode(), value(&record))],
            answer: id,
        })
    }

    fn schema_record(&self, subject: &str, version: i32, v: Version, deleted: bool) -> LogRecord {
        let schema = &self.schemas[&v.id];
        let record = SchemaValue {
            subject: subject.to_owned(),
            version,
            id: v.id,
            schema_type: (schema.schema_type != SchemaType::Avro)
                .then(|| schema.schema_type.as_str().to_owned()),
            references: schema.references.clone(),
            schema: schema.text.clone(),
            deleted,
        };
        let key = RecordKey::Schema {
            subject: subject.to_owned(),
            version,
        };
        (key.encode(), value(&record))
    }

    /// Plans a soft (or, after one, permanent) delete of one version; the
    /// answer is the version number.
    pub fn plan_delete_version(
        &self,
        subject: &str,
        spec: VersionSpec,
        permanent: bool,
    ) -> Result<Planned<i32>> {
        self.check_writable(subject)?;
        let versions = self.versions_map(subject, permanent)?;
        let found = match spec {
            VersionSpec::Latest => versions.iter().rev().find(|(_, v)| permanent || !v.deleted),
            VersionSpec::Number(n) => versions.get_key_value(&n),
        };
        let (n, v) = found.ok_or(RegistryError::VersionNotFound(match spec {
            VersionSpec::Latest => -1,
            VersionSpec::Number(n) => n,
        }))?;
        let (n, v) = (*n, *v);
        if !self.referenced_by(subject, n).is_empty() {
            return Err(RegistryError::ReferenceExists(subject.to_owned(), n));
        }
        let record = match (permanent, v.deleted) {
            (false, true) => return Err(RegistryError::VersionSoftDeleted(subject.to_owned(), n)),
            (true, false) => {
                return Err(RegistryError::VersionNotSoftDeleted(subject.to_owned(), n))
            }
            (false, false) => self.schema_record(subject, n, v, true),
            (true, true) => (
                RecordKey::Schema {
                    subject: subject.to_owned(),
                    version: n,
                }
                .encode(),
                None,
            ),
        };
        Ok(Planned {
            records: vec![record],
            answer: n,
        })
    }

    /// Plans a soft (or, after one, permanent) delete of a subject; the
    /// answer is the versions deleted.
    pub fn plan_delete_subject(&self, subject: &str, permanent: bool) -> Result<Planned<Vec<i32>>> {
        self.check_writable(subject)?;
        let versions = self
            .subjects
            .get(subject)
            .ok_or_else(|| RegistryError::SubjectNotFound(subject.to_owned()))?;
        let live: Vec<i32> = versions
            .iter()
            .filter(|(_, v)| !v.deleted)
            .map(|(n, _)| *n)
            .collect();
        for n in versions.keys() {
            if !self.referenced_by(subject, *n).is_empty() {
                return Err(RegistryError::ReferenceExists(subject.to_owned(), *n));
            }
        }
        if permanent {
            if !live.is_empty() {
                return Err(RegistryError::SubjectNotSoftDeleted(subject.to_owned()));
            }
            let mut records: Vec<LogRecord> = versions
                .keys()
                .map(|n| {
                    let key = RecordKey::Schema {
                        subject: subject.to_owned(),
                        version: *n,
                    };
                    (key.encode(), None)
                })
                .collect();
            records.push((RecordKey::DeleteSubject(subject.to_owned()).encode(), None));
            if self.subject_config.contains_key(subject) {
                records.push((RecordKey::Config(Some(subject.to_owned())).encode(), None));
            }
            if self.subject_mode.contains_key(subject) {
                records.push((RecordKey::Mode(Some(subject.to_owned())).encode(), None));
            }
            return Ok(Planned {
                records,
                answer: versions.keys().copied().collect(),
            });
        }
        let Some(&last) = live.last() else {
            return Err(RegistryError::SubjectSoftDeleted(subject.to_owned()));
        };
        let mut records: Vec<LogRecord> = live
            .iter()
            .map(|n| self.schema_record(subject, *n, versions[n], true))
            .collect();
        let marker = DeleteSubjectValue {
            subject: subject.to_owned(),
            version: last,
        };
        records.push((
            RecordKey::DeleteSubject(subject.to_owned()).encode(),
            value(&marker),
        ));
        Ok(Planned {
            records,
            answer: live,
        })
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
