//! Config and mode: compatibility levels, data-contract defaults and
//! overrides, and READWRITE / READONLY / IMPORT, global and per subject.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::{check_subject, NewSchema, Planned, Registry, RegistryError, Result};
use crate::compat::CompatibilityLevel;
use crate::records::{value, ConfigValue, Metadata, ModeValue, RecordKey, RuleSet};

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
    /// The subject this one is an alias of (see [`Registry::alias_of`]).
    pub alias: Option<String>,
    /// Normalize when a register, lookup or compatibility request does not
    /// say to.
    pub normalize: Option<bool>,
    /// Validate field names and reserved fields on register.
    pub validate_fields: Option<bool>,
    /// Check compatibility only against versions whose metadata property of
    /// this name has the new schema's value.
    pub compatibility_group: Option<String>,
}

impl Config {
    pub(super) fn has_contract_defaults(&self) -> bool {
        self.default_metadata.is_some()
            || self.override_metadata.is_some()
            || self.default_rule_set.is_some()
            || self.override_rule_set.is_some()
    }

    pub(super) fn from_value(v: ConfigValue) -> std::result::Result<Self, String> {
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
            alias: v.alias,
            normalize: v.normalize,
            validate_fields: v.validate_fields,
            compatibility_group: v.compatibility_group,
        })
    }

    fn to_value(&self) -> ConfigValue {
        ConfigValue {
            compatibility_level: self.compatibility.map(|l| l.as_str().to_owned()),
            default_metadata: self.default_metadata.clone(),
            override_metadata: self.override_metadata.clone(),
            default_rule_set: self.default_rule_set.clone(),
            override_rule_set: self.override_rule_set.clone(),
            alias: self.alias.clone(),
            normalize: self.normalize,
            validate_fields: self.validate_fields,
            compatibility_group: self.compatibility_group.clone(),
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
    /// `Some(None)`: given as `null`, which clears the stored value (as
    /// Confluent's `ConfigValue.update` does for a present field).
    pub alias: Option<Option<String>>,
    /// See [`ConfigUpdate::alias`].
    pub normalize: Option<Option<bool>>,
    /// See [`ConfigUpdate::alias`].
    pub validate_fields: Option<Option<bool>>,
    /// See [`ConfigUpdate::alias`].
    pub compatibility_group: Option<Option<String>>,
}

impl Registry {
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
    /// has one, its unset `normalize`, `validateFields` and
    /// `compatibilityGroup` taken from the global one; else the global one
    /// (Confluent's `getConfigInScope` and `Config.mergeConfigs`).
    pub(super) fn config_in_scope(&self, subject: &str) -> Config {
        let global = self.global_config.clone().unwrap_or_default();
        let Some(own) = self.subject_config.get(subject) else {
            return global;
        };
        let mut config = own.clone();
        config.normalize = config.normalize.or(global.normalize);
        config.validate_fields = config.validate_fields.or(global.validate_fields);
        if config.compatibility_group.is_none() {
            config.compatibility_group = global.compatibility_group;
        }
        config
    }

    /// `new` normalized when the config in scope says so and the request
    /// did not (Confluent's resources read `normalize` from it when the
    /// query parameter is false).
    pub(super) fn with_config_normalize<'a>(
        &self,
        subject: &str,
        new: &'a NewSchema,
    ) -> Cow<'a, NewSchema> {
        if new.normalize || self.config_in_scope(subject).normalize != Some(true) {
            return Cow::Borrowed(new);
        }
        Cow::Owned(NewSchema {
            normalize: true,
            ..new.clone()
        })
    }

    /// The subject `subject` is an alias of, if its own config names one
    /// (Confluent's `AliasFilter`: one step, no chains).
    pub fn alias_of(&self, subject: &str) -> Option<&str> {
        self.subject_config
            .get(subject)
            .and_then(|c| c.alias.as_deref())
            .filter(|a| !a.is_empty())
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

    pub(super) fn effective_mode(&self, subject: &str) -> Mode {
        let global = self.global_mode();
        if global == Mode::ReadOnlyOverride {
            return global;
        }
        self.subject_mode.get(subject).copied().unwrap_or(global)
    }

    pub(super) fn check_writable(&self, subject: &str) -> Result<Mode> {
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
        if let Some(alias) = &update.alias {
            config.alias.clone_from(alias);
        }
        if let Some(normalize) = update.normalize {
            config.normalize = normalize;
        }
        if let Some(validate) = update.validate_fields {
            config.validate_fields = validate;
        }
        if let Some(group) = &update.compatibility_group {
            config.compatibility_group.clone_from(group);
        }
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

    /// The metadata and rules a registration ends up with: its own, or the
    /// latest live version's, merged over the config's defaults and under
    /// its overrides (Confluent's `maybeSetMetadataRuleSet`).
    pub(super) fn contracts_for(
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
}
