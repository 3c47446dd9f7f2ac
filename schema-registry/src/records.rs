//! The records of `_schemas`, keyed and shaped as Confluent's registry
//! writes them, so that a `_schemas` log reads the same in both.
//!
//! Keys are JSON objects whose `keytype` says what the record is:
//!
//! - `{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}` ->
//!   `{"subject","version","id","schemaType"?,"references"?,"metadata"?,"ruleSet"?,"schema","deleted"}`
//! - `{"keytype":"CONFIG","subject":null|"s","magic":0}` ->
//!   `{"compatibilityLevel"?,"defaultMetadata"?,"overrideMetadata"?,"defaultRuleSet"?,"overrideRuleSet"?}`
//! - `{"keytype":"MODE","subject":null|"s","magic":0}` -> `{"mode":"READONLY"}`
//! - `{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}` -> `{"subject","version"}`
//!
//! A null value is a tombstone. Unknown key types (Confluent's `NOOP`) are
//! skipped on replay, and so are value fields this registry does not use
//! (Confluent's `md5`, `alias`, `normalize`, ...).
//!
//! [`Metadata`] and [`RuleSet`] are Confluent's data-contract entities
//! (`io.confluent.kafka.schemaregistry.client.rest.entities.Metadata`,
//! `RuleSet`, `Rule`): typed, so that two spellings of one contract (keys in
//! another order, a rule without its default `kind`) compare equal, as
//! Confluent's sorted collections and defaults make them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize};

/// One record to append to `_schemas`: key and value (`None` = tombstone).
pub type LogRecord = (Vec<u8>, Option<Vec<u8>>);

/// A decoded `_schemas` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// One version of a subject.
    Schema {
        /// The subject.
        subject: String,
        /// The version number.
        version: i32,
    },
    /// The global (`None`) or a subject's compatibility level.
    Config(Option<String>),
    /// The global (`None`) or a subject's mode.
    Mode(Option<String>),
    /// A soft delete of a subject's versions up to a version.
    DeleteSubject(String),
    /// A key type this registry does not use (Confluent's `NOOP`, ...).
    Other,
}

#[derive(Serialize, Deserialize)]
struct RawKey {
    keytype: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<i32>,
    #[serde(default)]
    magic: i32,
}

impl RecordKey {
    /// The key's bytes, as Confluent writes them.
    pub fn encode(&self) -> Vec<u8> {
        let raw = match self {
            RecordKey::Schema { subject, version } => RawKey {
                keytype: "SCHEMA".into(),
                subject: Some(subject.clone()),
                version: Some(*version),
                magic: 1,
            },
            RecordKey::Config(subject) => RawKey {
                keytype: "CONFIG".into(),
                subject: subject.clone(),
                version: None,
                magic: 0,
            },
            RecordKey::Mode(subject) => RawKey {
                keytype: "MODE".into(),
                subject: subject.clone(),
                version: None,
                magic: 0,
            },
            RecordKey::DeleteSubject(subject) => RawKey {
                keytype: "DELETE_SUBJECT".into(),
                subject: Some(subject.clone()),
                version: None,
                magic: 0,
            },
            RecordKey::Other => RawKey {
                keytype: "NOOP".into(),
                subject: None,
                version: None,
                magic: 0,
            },
        };
        serde_json::to_vec(&raw).expect("keys always serialize")
    }

    /// Decodes a key; `Err` when it is not a JSON key object at all.
    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: RawKey = serde_json::from_slice(bytes)?;
        Ok(match (raw.keytype.as_str(), raw.subject, raw.version) {
            ("SCHEMA", Some(subject), Some(version)) => RecordKey::Schema { subject, version },
            ("CONFIG", subject, _) => RecordKey::Config(subject),
            ("MODE", subject, _) => RecordKey::Mode(subject),
            ("DELETE_SUBJECT", Some(subject), _) => RecordKey::DeleteSubject(subject),
            _ => RecordKey::Other,
        })
    }
}

/// A reference as registered: `name` is what the schema uses, `subject`
/// and `version` what it resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SchemaReference {
    /// The name the referencing schema uses.
    pub name: String,
    /// The referenced subject.
    pub subject: String,
    /// The referenced version.
    pub version: i32,
}

/// The value of a `SCHEMA` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaValue {
    /// The subject.
    pub subject: String,
    /// The version.
    pub version: i32,
    /// The global schema id.
    pub id: u32,
    /// `JSON` or `PROTOBUF`; absent means AVRO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
    /// References, absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
    /// Data-contract metadata, absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Data-contract rules, absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<RuleSet>,
    /// The schema text.
    pub schema: String,
    /// Soft-deleted.
    #[serde(default)]
    pub deleted: bool,
}

/// The value of a `CONFIG` record: a subject's (or the global) config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigValue {
    /// The level's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility_level: Option<String>,
    /// Metadata a registration starts from (merged under its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_metadata: Option<Metadata>,
    /// Metadata merged over every registration's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_metadata: Option<Metadata>,
    /// Rules a registration starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_rule_set: Option<RuleSet>,
    /// Rules merged over every registration's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_rule_set: Option<RuleSet>,
    /// The subject this one stands for: requests naming it act on that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Normalize schemas on register, lookup and compatibility checks when
    /// the request does not ask to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    /// Check field names and `confluent:reserved` fields on register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate_fields: Option<bool>,
    /// The metadata property whose value splits the versions into groups
    /// checked for compatibility separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility_group: Option<String>,
}

/// The value of a `MODE` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeValue {
    /// The mode's name.
    pub mode: String,
}

/// The value of a `DELETE_SUBJECT` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteSubjectValue {
    /// The subject.
    pub subject: String,
    /// Every version up to this one is soft-deleted.
    pub version: i32,
}

/// `null` reads as the default (Confluent's entities turn a null collection
/// into an empty one).
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Confluent's `Metadata`: tags by schema path, free-form properties and
/// the names of sensitive properties. Empty parts are left out when written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Metadata {
    /// Tags by path.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tags: BTreeMap<String, BTreeSet<String>>,
    /// Properties.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub properties: BTreeMap<String, String>,
    /// Names of sensitive properties.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub sensitive: BTreeSet<String>,
}

impl Metadata {
    /// Confluent's `Metadata.mergeMetadata`: `new` wins key by key (a tag
    /// path's whole set is replaced), sensitive names are united.
    pub fn merge(old: Option<&Metadata>, new: Option<&Metadata>) -> Option<Metadata> {
        match (old, new) {
            (None, new) => new.cloned(),
            (old, None) => old.cloned(),
            (Some(old), Some(new)) => {
                let mut out = old.clone();
                out.tags.extend(new.tags.clone());
                out.properties.extend(new.properties.clone());
                out.sensitive.extend(new.sensitive.iter().cloned());
                Some(out)
            }
        }
    }
}

/// A rule's kind (Confluent's `RuleKind`), `TRANSFORM` when absent.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum RuleKind {
    /// Changes the data.
    #[default]
    Transform,
    /// Checks the data.
    Condition,
}

/// When a rule applies (Confluent's `RuleMode`), `WRITEREAD` when absent.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum RuleMode {
    /// Migration to a newer version.
    Upgrade,
    /// Migration to an older version.
    Downgrade,
    /// Both migrations.
    Updown,
    /// On write.
    Write,
    /// On read.
    Read,
    /// On write and on read.
    #[default]
    Writeread,
}

impl RuleMode {
    fn is_migration(self) -> bool {
        matches!(
            self,
            RuleMode::Upgrade | RuleMode::Downgrade | RuleMode::Updown
        )
    }
}

/// Confluent's `Rule`. Absent strings stay absent; `kind` and `mode` take
/// their defaults; `disabled` is always written, as Confluent writes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// The rule's name, unique within its rule set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// `TRANSFORM` or `CONDITION`.
    #[serde(default, deserialize_with = "null_default")]
    pub kind: RuleKind,
    /// When it applies.
    #[serde(default, deserialize_with = "null_default")]
    pub mode: RuleMode,
    /// The rule executor's type (`CEL`, `ENCRYPT`, ...).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub rule_type: Option<String>,
    /// The tags the rule applies to.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub tags: BTreeSet<String>,
    /// Executor parameters.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub params: BTreeMap<String, String>,
    /// The rule body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// Action on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_success: Option<String>,
    /// Action on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// Disabled rules are kept but not run.
    #[serde(default, deserialize_with = "null_default")]
    pub disabled: bool,
}

/// Confluent's `RuleSet`: migration, domain and encoding rules. Empty lists
/// are left out when written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSet {
    /// Rules run when data moves between versions.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub migration_rules: Vec<Rule>,
    /// Rules run on write and read.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub domain_rules: Vec<Rule>,
    /// Rules run on the encoded payload.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub encoding_rules: Vec<Rule>,
}

impl RuleSet {
    /// Confluent's `RuleSet.validate`: every rule has a name (a letter or
    /// `_`, then letters, digits or `_`) unique in the set and a type;
    /// migration rules are `UPGRADE`, `DOWNGRADE` or `UPDOWN`, domain and
    /// encoding rules `WRITE`, `READ` or `WRITEREAD`. The error is
    /// Confluent's message (answered with 42210).
    pub fn validate(&self) -> Result<(), String> {
        let mut names = BTreeSet::new();
        let groups = [
            (
                &self.migration_rules,
                true,
                "Migration rules can only be UPGRADE, DOWNGRADE, UPDOWN",
            ),
            (
                &self.domain_rules,
                false,
                "Domain rules can only be WRITE, READ, WRITEREAD",
            ),
            (
                &self.encoding_rules,
                false,
                "Encoding rules can only be WRITE, READ, WRITEREAD",
            ),
        ];
        for (rules, migration, wrong_mode) in groups {
            for rule in rules {
                let name = rule.name.as_deref().ok_or("Missing rule name")?;
                if !names.insert(name) {
                    return Err(format!("Found rule with duplicate name '{name}'"));
                }
                validate_rule_name(name)?;
                if rule.rule_type.is_none() {
                    return Err("Missing rule type".into());
                }
                if rule.mode.is_migration() != migration {
                    return Err(wrong_mode.into());
                }
            }
        }
        Ok(())
    }

    /// Confluent's `RuleSet.mergeRuleSets`: per list, `new`'s rules replace
    /// `old`'s of the same name and follow the rest.
    pub fn merge(old: Option<&RuleSet>, new: Option<&RuleSet>) -> Option<RuleSet> {
        fn merge_rules(old: &[Rule], new: &[Rule]) -> Vec<Rule> {
            let mut out: Vec<Rule> = old
                .iter()
                .filter(|o| !new.iter().any(|n| n.name == o.name))
                .cloned()
                .collect();
            out.extend(new.iter().cloned());
            out
        }
        match (old, new) {
            (None, new) => new.cloned(),
            (old, None) => old.cloned(),
            (Some(old), Some(new)) => Some(RuleSet {
                migration_rules: merge_rules(&old.migration_rules, &new.migration_rules),
                domain_rules: merge_rules(&old.domain_rules, &new.domain_rules),
                encoding_rules: merge_rules(&old.encoding_rules, &new.encoding_rules),
            }),
        }
    }
}

fn validate_rule_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("Empty rule name".into());
    };
    if !(first.is_alphabetic() || first == '_') {
        return Err(format!("Illegal initial character in rule name: {name}"));
    }
    if !chars.all(|c| c.is_alphanumeric() || c == '_') {
        return Err(format!("Illegal character in rule name: {name}"));
    }
    Ok(())
}

/// Serializes a record value.
pub(crate) fn value<T: Serialize>(v: &T) -> Option<Vec<u8>> {
    Some(serde_json::to_vec(v).expect("values always serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_confluents() {
        let key = RecordKey::Schema {
            subject: "s".into(),
            version: 1,
        };
        assert_eq!(
            String::from_utf8(key.encode()).unwrap(),
            r#"{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}"#
        );
        assert_eq!(
            String::from_utf8(RecordKey::Config(None).encode()).unwrap(),
            r#"{"keytype":"CONFIG","subject":null,"magic":0}"#
        );
        assert_eq!(RecordKey::decode(&key.encode()).unwrap(), key);
        assert_eq!(
            RecordKey::decode(br#"{"keytype":"NOOP","magic":0}"#).unwrap(),
            RecordKey::Other
        );
        assert_eq!(
            RecordKey::decode(br#"{"keytype":"MODE","subject":"x","magic":0}"#).unwrap(),
            RecordKey::Mode(Some("x".into()))
        );
    }

    #[test]
    fn schema_values_omit_avro_type_and_empty_references() {
        let v = SchemaValue {
            subject: "s".into(),
            version: 1,
            id: 3,
            schema_type: None,
            references: vec![],
            metadata: None,
            rule_set: None,
            schema: "\"string\"".into(),
            deleted: false,
        };
        let text = String::from_utf8(value(&v).unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"subject":"s","version":1,"id":3,"schema":"\"string\"","deleted":false}"#
        );
        let back: SchemaValue = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    /// A value as Confluent 7.4+ writes it: `md5`, encoded sensitive
    /// properties and other unknown fields are skipped; metadata and rules
    /// are read, and written back under the same names.
    #[test]
    fn schema_values_carry_confluents_metadata_and_rule_set() {
        let confluent = r#"{"subject":"orders-value","version":2,"id":7,"md5":"q80Kl3v0bJa7mJp8JjZ5LA==","schemaType":"JSON","metadata":{"tags":{"$.card":["PII"]},"properties":{"owner":"team-a","confluent:version":"2"},"sensitive":["secret"],"__enc__":"x"},"ruleSet":{"domainRules":[{"name":"checkCard","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"message.card != ''","params":{"b":"2","a":"1"},"onFailure":"DLQ","disabled":false}],"encodingRules":[{"name":"encrypt","type":"ENCRYPT","tags":["PII"]}]},"schema":"{}","deleted":false}"#;
        let v: SchemaValue = serde_json::from_str(confluent).unwrap();
        let metadata = v.metadata.as_ref().unwrap();
        assert_eq!(metadata.properties["owner"], "team-a");
        assert!(metadata.tags["$.card"].contains("PII"));
        let rules = v.rule_set.as_ref().unwrap();
        let check = &rules.domain_rules[0];
        assert_eq!(
            (check.kind, check.mode),
            (RuleKind::Condition, RuleMode::Write)
        );
        assert_eq!(check.params.keys().collect::<Vec<_>>(), ["a", "b"]);
        let encrypt = &rules.encoding_rules[0];
        assert_eq!(
            (encrypt.kind, encrypt.mode),
            (RuleKind::Transform, RuleMode::Writeread)
        );
        assert!(rules.validate().is_ok());
        let written: serde_json::Value = serde_json::from_slice(&value(&v).unwrap()).unwrap();
        assert_eq!(
            written["metadata"]["sensitive"],
            serde_json::json!(["secret"])
        );
        assert_eq!(written["ruleSet"]["domainRules"][0]["kind"], "CONDITION");
        assert_eq!(written["ruleSet"]["encodingRules"][0]["mode"], "WRITEREAD");
        assert_eq!(written["ruleSet"]["encodingRules"][0]["disabled"], false);
        assert!(written["ruleSet"].get("migrationRules").is_none());
        assert!(written.get("md5").is_none());
        let back: SchemaValue = serde_json::from_value(written).unwrap();
        assert_eq!(back, v);
        // Explicit nulls read as absent or empty.
        let nulls: SchemaValue = serde_json::from_str(
            r#"{"subject":"s","version":1,"id":1,"schema":"\"int\"","metadata":{"properties":null},"ruleSet":null}"#,
        )
        .unwrap();
        assert_eq!(nulls.metadata, Some(Metadata::default()));
        assert_eq!(nulls.rule_set, None);
    }

    #[test]
    fn merges_are_confluents() {
        let m = |json: &str| serde_json::from_str::<Metadata>(json).unwrap();
        let merged = Metadata::merge(
            Some(&m(
                r#"{"tags":{"a":["x"]},"properties":{"k":"old","o":"1"},"sensitive":["s1"]}"#,
            )),
            Some(&m(
                r#"{"tags":{"a":["y"]},"properties":{"k":"new"},"sensitive":["s2"]}"#,
            )),
        )
        .unwrap();
        assert_eq!(
            merged,
            m(r#"{"tags":{"a":["y"]},"properties":{"k":"new","o":"1"},"sensitive":["s1","s2"]}"#)
        );
        assert_eq!(Metadata::merge(None, None), None);
        let r = |json: &str| serde_json::from_str::<RuleSet>(json).unwrap();
        let merged = RuleSet::merge(
            Some(&r(r#"{"domainRules":[{"name":"a","type":"CEL","expr":"1"},{"name":"b","type":"CEL"}]}"#)),
            Some(&r(r#"{"domainRules":[{"name":"a","type":"CEL","expr":"2"}]}"#)),
        )
        .unwrap();
        let names: Vec<_> = merged
            .domain_rules
            .iter()
            .map(|x| (x.name.clone().unwrap(), x.expr.clone()))
            .collect();
        assert_eq!(
            names,
            [
                ("b".to_string(), None),
                ("a".to_string(), Some("2".to_string()))
            ]
        );
    }
}
