//! Planned writes: registration and deletes.

use super::{
    check_subject, Mode, NewSchema, Planned, Registry, RegistryError, Result, Schema, Version,
    VersionSpec,
};
use crate::records::{value, DeleteSubjectValue, LogRecord, RecordKey, SchemaValue};
use crate::SchemaType;

impl Registry {
    /// Plans registering `new` under `subject`; the answer is its id. An
    /// already-registered live schema plans no records.
    ///
    /// As Confluent's `register` (outside IMPORT mode): a registration
    /// without `metadata` (or `ruleSet`) takes the latest live version's, and
    /// the config's defaults go under and its overrides over what results.
    /// The schema exactly as given is looked for first, as Confluent's
    /// `registerOrForward` does when the config has no defaults or overrides:
    /// one already live under the subject (with the same id, if one is
    /// given) is answered whatever the mode. Otherwise, as Confluent's
    /// `checkRegisterMode`, an explicit id needs IMPORT mode and a
    /// registration without one READWRITE (42205 both). The config in scope
    /// may normalize the schema (`normalize`), validate its fields
    /// (`validateFields`) and narrow the compatibility check
    /// (`compatibilityGroup`).
    pub fn plan_register(&self, subject: &str, new: &NewSchema) -> Result<Planned<u32>> {
        let new = &*self.with_config_normalize(subject, new);
        if let Some(rules) = &new.rule_set {
            rules.validate().map_err(RegistryError::InvalidRuleSet)?;
        }
        check_subject(subject)?;
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
        let mode = self.check_writable(subject)?;
        match (new.id, mode) {
            (Some(_), Mode::Import) | (None, Mode::ReadWrite) => {}
            (Some(_), _) => {
                return Err(RegistryError::OperationNotPermitted(format!(
                    "Subject {subject} in context  is not in import mode"
                )))
            }
            (None, _) => {
                return Err(RegistryError::OperationNotPermitted(format!(
                    "Subject {subject} in context  is not in read-write mode"
                )))
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
            self.validate_fields(&parsed, &config)?;
            let level = self.subject_config(subject, true)?;
            let live: Vec<(i32, Schema)> = versions
                .into_iter()
                .flat_map(|vs| vs.iter())
                .filter(|(_, v)| !v.deleted)
                .map(|(n, v)| (*n, self.schemas[&v.id].clone()))
                .collect();
            let messages =
                self.incompatibilities(&parsed, metadata.as_ref(), &live, level, &config)?;
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
