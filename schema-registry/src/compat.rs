//! Confluent's compatibility levels and the one entry point that applies
//! them to any format.
//!
//! BACKWARD: the new schema reads data written with the existing one.
//! FORWARD: the existing schema reads data written with the new one.
//! FULL: both. The `_TRANSITIVE` levels check every existing version, the
//! others only the latest; NONE checks nothing.

use std::fmt;
use std::str::FromStr;

use crate::schema::ParsedSchema;
use crate::{avro, json, protobuf};

/// A subject's or the registry's compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompatibilityLevel {
    /// `NONE`
    None,
    /// `BACKWARD`, Confluent's default.
    #[default]
    Backward,
    /// `BACKWARD_TRANSITIVE`
    BackwardTransitive,
    /// `FORWARD`
    Forward,
    /// `FORWARD_TRANSITIVE`
    ForwardTransitive,
    /// `FULL`
    Full,
    /// `FULL_TRANSITIVE`
    FullTransitive,
}

impl CompatibilityLevel {
    /// Every level.
    pub const ALL: [CompatibilityLevel; 7] = [
        CompatibilityLevel::None,
        CompatibilityLevel::Backward,
        CompatibilityLevel::BackwardTransitive,
        CompatibilityLevel::Forward,
        CompatibilityLevel::ForwardTransitive,
        CompatibilityLevel::Full,
        CompatibilityLevel::FullTransitive,
    ];

    /// Confluent's name, e.g. `BACKWARD_TRANSITIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityLevel::None => "NONE",
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether every existing version is checked rather than the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::FullTransitive
        )
    }

    fn backward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Backward
                | CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    fn forward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Forward
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compatibility name that is not one of Confluent's (its 42203).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid compatibility level: {0}")]
pub struct InvalidCompatibilityLevel(pub String);

impl InvalidCompatibilityLevel {
    /// Confluent's error code: 42203 "Invalid compatibility level".
    pub fn error_code(&self) -> u32 {
        42203
    }
}

impl FromStr for CompatibilityLevel {
    type Err = InvalidCompatibilityLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.to_ascii_uppercase();
        CompatibilityLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == upper)
            .ok_or_else(|| InvalidCompatibilityLevel(s.to_owned()))
    }
}

/// Checks `new` against `existing` (oldest first) at `level`.
///
/// Returns Confluent-style messages, empty when compatible. Existing
/// versions are checked newest first and the check stops at the first
/// incompatible one, whose differences are followed by
/// `{oldSchema: '...'}` and `{compatibility: 'LEVEL'}` as Confluent's
/// verbose answer lists them (the caller, knowing version numbers, can use
/// [`check_detailed`] to add `{oldSchemaVersion: N}`).
pub fn check(
    new: &ParsedSchema,
    existing: &[ParsedSchema],
    level: CompatibilityLevel,
) -> Vec<String> {
    match check_detailed(new, existing, level) {
        None => Vec::new(),
        Some(failure) => {
            let mut out = failure.differences;
            out.push(format!(
                "{{oldSchema: '{}'}}",
                existing[failure.existing_index].text()
            ));
            out.push(format!("{{compatibility: '{level}'}}"));
            out
        }
    }
}

/// The first existing version (newest first) that `new` is incompatible
/// with at `level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatible {
    /// Index into `existing` of the incompatible version.
    pub existing_index: usize,
    /// Confluent-style messages, one per difference.
    pub differences: Vec<String>,
}

/// Like [`check`], but says which existing version failed; `None` when
/// compatible.
pub fn check_detailed(
    new: &ParsedSchema,
    existing: &[ParsedSchema],
    level: CompatibilityLevel,
) -> Option<Incompatible> {
    if level == CompatibilityLevel::None || existing.is_empty() {
        return None;
    }
    let first = if level.is_transitive() {
        0
    } else {
        existing.len() - 1
    };
    for index in (first..existing.len()).rev() {
        let old = &existing[index];
        let mut differences = Vec::new();
        if level.backward() {
            differences.extend(pair(new, old, "new", "old"));
        }
        if level.forward() {
            differences.extend(pair(old, new, "old", "new"));
        }
        if !differences.is_empty() {
            return Some(Incompatible {
                existing_index: index,
                differences,
            });
        }
    }
    None
}

/// Messages for `reader` failing to read data of `writer`.
fn pair(
    reader: &ParsedSchema,
    writer: &ParsedSchema,
    reader_role: &str,
    writer_role: &str,
) -> Vec<String> {
    match (reader, writer) {
        (ParsedSchema::Avro(r), ParsedSchema::Avro(w)) => avro::compat::incompatibilities(r, w)
            .iter()
            .map(|i| i.describe(reader_role, writer_role))
            .collect(),
        (ParsedSchema::Json(r), ParsedSchema::Json(w)) => json::compat::incompatibilities(r, w)
            .iter()
            .map(|i| i.describe(reader_role, writer_role))
            .collect(),
        (ParsedSchema::Protobuf(r), ParsedSchema::Protobuf(w)) => {
            protobuf::compat::incompatibilities(r, w)
                .iter()
                .map(|i| i.describe(reader_role, writer_role))
                .collect()
        }
        _ => vec!["Incompatible because of different schema type".to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SchemaType;

    fn avro(text: &str) -> ParsedSchema {
        ParsedSchema::parse(SchemaType::Avro, text, &[]).unwrap()
    }

    #[test]
    fn level_names_round_trip() {
        for l in CompatibilityLevel::ALL {
            assert_eq!(l.as_str().parse::<CompatibilityLevel>().unwrap(), l);
        }
        assert_eq!(
            "full_transitive".parse::<CompatibilityLevel>().unwrap(),
            CompatibilityLevel::FullTransitive
        );
        let err = "SIDEWAYS".parse::<CompatibilityLevel>().unwrap_err();
        assert_eq!(err.error_code(), 42203);
        assert_eq!(CompatibilityLevel::default(), CompatibilityLevel::Backward);
    }

    const V1: &str = r#"{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}"#;
    const V2_REQUIRED_B: &str = r#"{"type":"record","name":"r","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}"#;
    const V2_DEFAULTS: &str = r#"{"type":"record","name":"r","fields":[{"name":"a","type":"int","default":0},{"name":"b","type":"string","default":"x"}]}"#;
    const V_ONLY_B: &str =
        r#"{"type":"record","name":"r","fields":[{"name":"b","type":"string","default":"x"}]}"#;

    #[test]
    fn none_and_empty_history_accept_anything() {
        assert!(check(&avro(V2_REQUIRED_B), &[avro(V1)], CompatibilityLevel::None).is_empty());
        assert!(check(
            &avro(V2_REQUIRED_B),
            &[],
            CompatibilityLevel::FullTransitive
        )
        .is_empty());
    }

    #[test]
    fn backward_rejects_added_field_without_default() {
        let msgs = check(
            &avro(V2_REQUIRED_B),
            &[avro(V1)],
            CompatibilityLevel::Backward,
        );
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert_eq!(
            msgs[0],
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'b' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'b'}"
        );
        assert_eq!(msgs[1], format!("{{oldSchema: '{V1}'}}"));
        assert_eq!(msgs[2], "{compatibility: 'BACKWARD'}");
        // The same change is forward compatible: the old reader skips `b`.
        assert!(check(
            &avro(V2_REQUIRED_B),
            &[avro(V1)],
            CompatibilityLevel::Forward
        )
        .is_empty());
    }

    #[test]
    fn forward_rejects_removed_field_without_default() {
        // Old schema has `a` without default; the new one drops it: old readers
        // cannot fill `a` from new data.
        let msgs = check(&avro(V_ONLY_B), &[avro(V1)], CompatibilityLevel::Forward);
        assert!(
            msgs[0].contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
            "{msgs:?}"
        );
        assert!(msgs[0]
            .contains("in the old schema has no default value and is missing in the new schema"));
        assert!(check(&avro(V_ONLY_B), &[avro(V1)], CompatibilityLevel::Backward).is_empty());
        assert!(!check(&avro(V_ONLY_B), &[avro(V1)], CompatibilityLevel::Full).is_empty());
    }

    #[test]
    fn transitive_checks_every_version_non_transitive_only_latest() {
        // v1: a; v2: a(default) + b(default); new: b only (default). New is
        // backward compatible with both (a is dropped, b has a default) and
        // forward compatible with v2 (`a` has a default there) but not with
        // v1 (v1 reads new data: `a` missing, no default).
        let history = [avro(V1), avro(V2_DEFAULTS)];
        let new = avro(V_ONLY_B);
        assert!(check(&new, &history, CompatibilityLevel::Forward).is_empty());
        let msgs = check(&new, &history, CompatibilityLevel::ForwardTransitive);
        assert!(!msgs.is_empty());
        let detail = check_detailed(&new, &history, CompatibilityLevel::ForwardTransitive).unwrap();
        assert_eq!(detail.existing_index, 0);
        assert!(check(&new, &history, CompatibilityLevel::BackwardTransitive).is_empty());
        assert!(!check(&new, &history, CompatibilityLevel::FullTransitive).is_empty());
        assert!(check(&new, &history, CompatibilityLevel::Full).is_empty());
    }

    #[test]
    fn different_types_are_incompatible() {
        let json = ParsedSchema::parse(SchemaType::Json, r#"{"type":"object"}"#, &[]).unwrap();
        let msgs = check(&json, &[avro(V1)], CompatibilityLevel::Backward);
        assert_eq!(msgs[0], "Incompatible because of different schema type");
    }
}
