//! The records of `_schemas`, keyed and shaped as Confluent's registry
//! writes them, so that a `_schemas` log reads the same in both.
//!
//! Keys are JSON objects whose `keytype` says what the record is:
//!
//! - `{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}` ->
//!   `{"subject","version","id","schemaType"?,"references"?,"schema","deleted"}`
//! - `{"keytype":"CONFIG","subject":null|"s","magic":0}` -> `{"compatibilityLevel":"BACKWARD"}`
//! - `{"keytype":"MODE","subject":null|"s","magic":0}` -> `{"mode":"READONLY"}`
//! - `{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}` -> `{"subject","version"}`
//!
//! A null value is a tombstone. Unknown key types (Confluent's `NOOP`) are
//! skipped on replay.

use serde::{Deserialize, Serialize};

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
    /// The schema text.
    pub schema: String,
    /// Soft-deleted.
    #[serde(default)]
    pub deleted: bool,
}

/// The value of a `CONFIG` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigValue {
    /// The level's name.
    #[serde(default)]
    pub compatibility_level: Option<String>,
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
}
