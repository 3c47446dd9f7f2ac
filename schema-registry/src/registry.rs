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
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;

use crate::compat::{check_detailed, CompatibilityLevel};
pub use crate::error::RegistryError;
use crate::records::{
    value, ConfigValue, DeleteSubjectValue, LogRecord, Metadata, ModeValue, RecordKey, RuleSet,
    SchemaReference, SchemaValue,
};
use crate::{ParsedSchema, ResolvedReference, SchemaType};

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
    /// Data-contract metadata.
    pub metadata: Option<Metadata>,
    /// Data-contract rules.
    pub rule_set: Option<RuleSet>,
    /// The schema text.
    pub text: String,
}

/// What makes two registrations one schema with one id (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Identity {
    schema_type: SchemaType,
    canonical: Arc<str>,
    references: Vec<SchemaReference>,
    metadata: Option<Metadata>,
    rule_set: Option<RuleSet>,
}

/// A schema text as submitted, for the canonical-form cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TextKey {
    schema_type: SchemaType,
    text: String,
    references: Vec<SchemaReference>,
}

/// A submitted schema parsed, and the text a new version would store.
type NewParse = (ParsedSchema, String);

/// A canonical form and how many stored schemas have the text it is for.
#[derive(Debug, Clone)]
struct KnownText {
    canonical: Arc<str>,
    uses: usize,
}

/// A subject's or the global config: Confluent's `Config` entity, as far as
/// this registry serves it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The compatibility level (`None`: not set at this level).
    pub compatibility: Option<CompatibilityLevel>,
    /// Metadata a registration starts from.
    pub default_metadata: Option<Metadata>,
    /// Metadata merged over every registration's.
    pub override_metadata: Option<Metadata>,
    /// Rules a registration starts from.
    pub default_rule_set: Option<RuleSet>,
    /// Rules merged over every registration's.
    pub override_rule_set: Option<RuleSet>,
}

impl Config {
    fn has_contract_defaults(&self) -> bool {
        self.default_metadata.is_some()
            || self.override_metadata.is_some()
            || self.default_rule_set.is_some()
            || self.override_rule_set.is_some()
    }

    fn from_value(v: ConfigValue) -> std::result::Result<Self, String> {
        Ok(Config {
            compatibility: v
                .compatibility_level
                .map(|l| l.parse::<CompatibilityLevel>())
                .transpose()
                .map_err(|e| e.to_string())?,
            default_metadata: v.default_metadata,
            override_metadata: v.override_metadata,
            default_rule_set: v.default_rule_set,
            override_rule_set: v.override_rule_set,
        })
    }

    fn to_value(&self) -> ConfigValue {
        ConfigValue {
            compatibility_level: self.compatibility.map(|l| l.as_str().to_owned()),
            default_metadata: self.default_metadata.clone(),
            override_metadata: self.override_metadata.clone(),
            default_rule_set: self.default_rule_set.clone(),
            override_rule_set: self.override_rule_set.clone(),
        }
    }
}

/// A `PUT /config` body: each field given replaces the stored one, the
/// others stay (Confluent's `ConfigValue.update`).
#[derive(Debug, Clone, Default)]
pub struct ConfigUpdate {
    /// A level's name.
    pub compatibility: Option<String>,
    /// See [`Config`].
    pub default_metadata: Option<Metadata>,
    /// See [`Config`].
    pub override_metadata: Option<Metadata>,
    /// See [`Config`].
    pub default_rule_set: Option<RuleSet>,
    /// See [`Config`].
    pub override_rule_set: Option<RuleSet>,
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

/// A reference to `-1` (latest) resolves differently over time, so texts
/// with one are not cached.
fn cacheable(references: &[SchemaReference]) -> bool {
    references.iter().all(|r| r.version != -1)
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

    /// Adds a schema read from the log under its id. A schema whose stored
    /// text no longer parses (a reference gone) keeps its text as identity.
    fn insert_schema(&mut self, schema: Schema) {
        let text_key = TextKey {
            schema_type: schema.schema_type,
            text: schema.text.clone(),
            references: schema.references.clone(),
        };
        let canonical = match self.known_texts.get_mut(&text_key) {
            Some(known) => {
                known.uses += 1;
                known.canonical.clone()
            }
            None => match self.parse(schema.schema_type, &schema.text, &schema.references) {
                Ok(parsed) => {
                    let canonical: Arc<str> = Arc::from(parsed.canonical());
                    if cacheable(&schema.references) {
                        let known = KnownText {
                            canonical: canonical.clone(),
                            uses: 1,
                        };
                        self.known_texts.insert(text_key, known);
                    }
                    canonical
                }
                Err(_) => Arc::from(schema.text.as_str()),
            },
        };
        let identity = Identity {
            schema_type: schema.schema_type,
            canonical,
            references: schema.references.clone(),
            metadata: schema.metadata.clone(),
            rule_set: schema.rule_set.clone(),
        };
        self.by_identity.insert(identity, schema.id);
        self.schemas.insert(schema.id, schema);
    }

    fn forget_if_unused(&mut self, id: u32) {
        let used = self
            .subjects
            .values()
            .any(|vs| vs.values().any(|v| v.id == id));
        if used {
            return;
        }
        let Some(s) = self.schemas.remove(&id) else {
            return;
        };
        self.by_identity.retain(|_, v| *v != s.id);
        let text_key = TextKey {
            schema_type: s.schema_type,
            text: s.text,
            references: s.references,
        };
        if let Some(known) = self.known_texts.get_mut(&text_key) {
            known.uses -= 1;
            if known.uses == 0 {
                self.known_texts.remove(&text_key);
            }
        }
    }

    /// The answer `render` makes for schema `id`, rendered once per state:
    /// every applied record drops what was rendered before.
    pub fn cached_json(&self, id: u32, render: impl FnOnce(&Schema) -> Bytes) -> Result<Bytes> {
        if let Some(bytes) = self
            .rendered
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            return Ok(bytes.clone());
        }
        let bytes = render(self.schema(id)?);
        self.rendered
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, bytes.clone());
        Ok(bytes)
    }

    /// The highest schema id ever read (`fetchMaxId`).
    pub fn max_id(&self) -> u32 {
        self.max_id
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

    /// Parses `new` (normalized with `normalize`); the text is what a new
    /// version would store.
    fn parse_new(&self, new: &NewSchema) -> Result<(ParsedSchema, String)> {
        let parsed = self.parse(new.schema_type, &new.text, &new.references)?;
        if new.normalize {
            let text = parsed.normalized();
            let parsed = self.parse(new.schema_type, &text, &new.references)?;
            return Ok((parsed, text));
        }
        Ok((parsed, new.text.clone()))
    }

    /// The canonical form of `new`: from the stored texts when the registry
    /// holds this exact text (no parse), otherwise by parsing, which also
    /// returns the parse for the caller to reuse.
    fn canonical_of(&self, new: &NewSchema) -> Result<(Arc<str>, Option<NewParse>)> {
        let key = TextKey {
            schema_type: new.schema_type,
            text: new.text.clone(),
            references: new.references.clone(),
        };
        if let Some(known) = self.known_texts.get(&key) {
            return Ok((known.canonical.clone(), None));
        }
        let (parsed, text) = self.parse_new(new)?;
        Ok((Arc::from(parsed.canonical()), Some((parsed, text))))
    }

    fn identity(
        new: &NewSchema,
        canonical: Arc<str>,
        metadata: Option<Metadata>,
        rule_set: Option<RuleSet>,
    ) -> Identity {
        Identity {
            schema_type: new.schema_type,
            canonical,
            references: new.references.clone(),
            metadata,
            rule_set,
        }
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

    // ----- config and mode -----

    /// The global compatibility level.
    pub fn global_config(&self) -> CompatibilityLevel {
        self.global_config
            .as_ref()
            .and_then(|c| c.compatibility)
            .unwrap_or_default()
    }

    /// A subject's own level, or the global one with `default_to_global`
    /// (40408). A subject config that sets only data-contract fields has the
    /// global level.
    pub fn subject_config(
        &self,
        subject: &str,
        default_to_global: bool,
    ) -> Result<CompatibilityLevel> {
        match self.subject_config.get(subject) {
            Some(config) => Ok(config.compatibility.unwrap_or(self.global_config())),
            None if default_to_global => Ok(self.global_config()),
            None => Err(RegistryError::SubjectConfigNotFound(subject.to_owned())),
        }
    }

    /// The whole config of the registry (`None`, level always set) or of a
    /// subject (its own; the global one with `default_to_global`; 40408).
    pub fn config(&self, subject: Option<&str>, default_to_global: bool) -> Result<Config> {
        let global = || Config {
            compatibility: Some(self.global_config()),
            ..self.global_config.clone().unwrap_or_default()
        };
        match subject {
            None => Ok(global()),
            Some(s) => match self.subject_config.get(s) {
                Some(config) => Ok(config.clone()),
                None if default_to_global => Ok(global()),
                None => Err(RegistryError::SubjectConfigNotFound(s.to_owned())),
            },
        }
    }

    /// The config a registration under `subject` uses: the subject's if it
    /// has one, else the global one (Confluent's `getConfigInScope`).
    fn config_in_scope(&self, subject: &str) -> Config {
        self.subject_config
            .get(subject)
            .or(self.global_config.as_ref())
            .cloned()
            .unwrap_or_default()
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
    /// The answer is the new level, or for a delete the level in force before.
    pub fn plan_config(
        &self,
        subject: Option<&str>,
        level: Option<&str>,
    ) -> Result<Planned<CompatibilityLevel>> {
        match level {
            Some(level) => {
                let update = ConfigUpdate {
                    compatibility: Some(level.to_owned()),
                    ..ConfigUpdate::default()
                };
                let planned = self.plan_config_update(subject, &update)?;
                Ok(Planned {
                    records: planned.records,
                    answer: planned.answer.compatibility.unwrap_or_default(),
                })
            }
            None => {
                self.check_writable_config(subject)?;
                let before = match subject {
                    None => self.global_config(),
                    Some(s) => self.subject_config(s, false)?,
                };
                let key = RecordKey::Config(subject.map(str::to_owned)).encode();
                Ok(Planned {
                    records: vec![(key, None)],
                    answer: before,
                })
            }
        }
    }

    /// Plans a `PUT /config[/{subject}]`: the fields given replace the stored
    /// ones (42203 for an unknown level, 42210 for an invalid rule set, 42208
    /// for an invalid subject, 42205 in read-only mode). The answer is the
    /// config as stored afterwards.
    pub fn plan_config_update(
        &self,
        subject: Option<&str>,
        update: &ConfigUpdate,
    ) -> Result<Planned<Config>> {
        let level = update
            .compatibility
            .as_deref()
            .map(|l| {
                l.parse::<CompatibilityLevel>()
                    .map_err(|_| RegistryError::InvalidCompatibilityLevel(l.to_owned()))
            })
            .transpose()?;
        for rules in [&update.default_rule_set, &update.override_rule_set]
            .into_iter()
            .flatten()
        {
            rules.validate().map_err(RegistryError::InvalidRuleSet)?;
        }
        if let Some(s) = subject {
            check_subject(s)?;
        }
        self.check_writable_config(subject)?;
        let stored = match subject {
            None => self.global_config.as_ref(),
            Some(s) => self.subject_config.get(s),
        };
        let mut config = stored.cloned().unwrap_or_default();
        if level.is_some() {
            config.compatibility = level;
        }
        let replace = |field: &mut Option<_>, given: &Option<_>| {
            if given.is_some() {
                field.clone_from(given);
            }
        };
        replace(&mut config.default_metadata, &update.default_metadata);
        replace(&mut config.override_metadata, &update.override_metadata);
        let replace_rules = |field: &mut Option<RuleSet>, given: &Option<RuleSet>| {
            if given.is_some() {
                field.clone_from(given);
            }
        };
        replace_rules(&mut config.default_rule_set, &update.default_rule_set);
        replace_rules(&mut config.override_rule_set, &update.override_rule_set);
        let key = RecordKey::Config(subject.map(str::to_owned)).encode();
        Ok(Planned {
            records: vec![(key, value(&config.to_value()))],
            answer: config,
        })
    }

    fn check_writable_config(&self, subject: Option<&str>) -> Result<()> {
        let mode = match subject {
            None => self.global_mode(),
            Some(s) => self.effective_mode(s),
        };
        if matches!(mode, Mode::ReadOnly | Mode::ReadOnlyOverride) {
            let what = subject.map_or("the registry".to_owned(), |s| format!("Subject {s}"));
            return Err(RegistryError::OperationNotPermitted(format!(
                "{what} is in read-only mode"
            )));
        }
        Ok(())
    }

    /// Plans setting (or with `None` deleting) the global or a subject's mode.
    pub fn plan_mode(
        &self,
        subject: Option<&str>,
        mode: Option<&str>,
        force: bool,
    ) -> Result<Planned<Mode>> {
        let mode = mode.map(str::parse::<Mode>).transpose()?;
        if let (Some(s), Some(_)) = (subject, mode) {
            check_subject(s)?;
        }
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
    ///
    /// As Confluent's `register` (outside IMPORT mode): a registration
    /// without `metadata` (or `ruleSet`) takes the latest live version's, and
    /// the config's defaults go under and its overrides over what results.
    /// The schema exactly as given is looked for first, as Confluent's
    /// `registerOrForward` does when the config has no defaults or overrides.
    pub fn plan_register(&self, subject: &str, new: &NewSchema) -> Result<Planned<u32>> {
        if let Some(rules) = &new.rule_set {
            rules.validate().map_err(RegistryError::InvalidRuleSet)?;
        }
        check_subject(subject)?;
        let mode = self.check_writable(subject)?;
        if let (Some(id), true) = (new.id, mode != Mode::Import) {
            if self.schemas.get(&id).is_none_or(|s| s.text != new.text) {
                return Err(RegistryError::OperationNotPermitted(format!(
                    "Subject {subject} is not in import mode"
                )));
            }
        }
        let config = self.config_in_scope(subject);
        let versions = self.subjects.get(subject);
        let live_here =
            |id: u32| versions.is_some_and(|vs| vs.values().any(|v| v.id == id && !v.deleted));
        let (canonical, parsed) = self.canonical_of(new)?;
        if new.version.is_none() && !config.has_contract_defaults() {
            let exact = Self::identity(
                new,
                canonical.clone(),
                new.metadata.clone(),
                new.rule_set.clone(),
            );
            if let Some(&id) = self.by_identity.get(&exact) {
                if live_here(id) && new.id.is_none_or(|i| i == id) {
                    return Ok(Planned {
                        records: Vec::new(),
                        answer: id,
                    });
                }
            }
        }
        let (metadata, rule_set) = match mode {
            Mode::Import => (new.metadata.clone(), new.rule_set.clone()),
            _ => self.contracts_for(subject, new, &config),
        };
        let identity = Self::identity(new, canonical, metadata.clone(), rule_set.clone());
        let known_id = self.by_identity.get(&identity).copied();
        if let Some(known) = known_id {
            if new.version.is_none() && live_here(known) && new.id.is_none_or(|i| i == known) {
                return Ok(Planned {
                    records: Vec::new(),
                    answer: known,
                });
            }
        }
        let id = match (new.id, known_id) {
            (Some(given), Some(existing)) if given != existing => {
                return Err(RegistryError::IdDoesNotMatch { existing, given })
            }
            (Some(id), known) => {
                if known.is_none() && self.schemas.contains_key(&id) {
                    return Err(RegistryError::OperationNotPermitted(format!(
                        "Overwrite new schema with id {id} is not permitted."
                    )));
                }
                id
            }
            (None, Some(known)) => known,
            (None, None) => self.max_id + 1,
        };
        let (parsed, text) = match parsed {
            Some(parsed) => parsed,
            None => self.parse_new(new)?,
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
            None => next,
            Some(v) if mode != Mode::Import && v != next => {
                return Err(RegistryError::InvalidSchema(
                    "Version is not one more than previous version".into(),
                ))
            }
            Some(v) if versions.is_some_and(|vs| vs.contains_key(&v)) => {
                return Err(RegistryError::OperationNotPermitted(format!(
                    "Version {v} already exists under subject {subject}"
                )))
            }
            Some(v) if v >= 1 => v,
            Some(v) => return Err(RegistryError::InvalidVersion(v.to_string())),
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
            metadata,
            rule_set,
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

    /// The metadata and rules a registration ends up with: its own, or the
    /// latest live version's, merged over the config's defaults and under
    /// its overrides (Confluent's `maybeSetMetadataRuleSet`).
    fn contracts_for(
        &self,
        subject: &str,
        new: &NewSchema,
        config: &Config,
    ) -> (Option<Metadata>, Option<RuleSet>) {
        let previous = self.subjects.get(subject).and_then(|vs| {
            vs.values()
                .rev()
                .find(|v| !v.deleted)
                .map(|v| &self.schemas[&v.id])
        });
        let metadata = new
            .metadata
            .as_ref()
            .or(previous.and_then(|p| p.metadata.as_ref()));
        let metadata = Metadata::merge(
            Metadata::merge(config.default_metadata.as_ref(), metadata).as_ref(),
            config.override_metadata.as_ref(),
        );
        let rule_set = new
            .rule_set
            .as_ref()
            .or(previous.and_then(|p| p.rule_set.as_ref()));
        let rule_set = RuleSet::merge(
            RuleSet::merge(config.default_rule_set.as_ref(), rule_set).as_ref(),
            config.override_rule_set.as_ref(),
        );
        (metadata, rule_set)
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
            metadata: schema.metadata.clone(),
            rule_set: schema.rule_set.clone(),
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
