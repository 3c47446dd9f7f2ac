//! [`SchemaType`], [`ResolvedReference`] and [`ParsedSchema`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::SchemaError;
use crate::{avro, json, protobuf};

/// One of Confluent's schema formats. Requests without `schemaType` mean
/// [`SchemaType::Avro`] (the [`Default`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SchemaType {
    /// `AVRO`
    #[default]
    Avro,
    /// `JSON` (JSON Schema)
    Json,
    /// `PROTOBUF`
    Protobuf,
}

impl SchemaType {
    /// Confluent's name: `AVRO`, `JSON` or `PROTOBUF`.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }

    /// Parses an optional `schemaType`: absent means AVRO, as Confluent does.
    pub fn from_optional(name: Option<&str>) -> Result<Self, SchemaError> {
        name.map_or(Ok(SchemaType::Avro), str::parse)
    }

    /// Every type, in the order `GET /schemas/types` lists them.
    pub const ALL: [SchemaType; 3] = [SchemaType::Json, SchemaType::Protobuf, SchemaType::Avro];
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SchemaType {
    type Err = SchemaError;

    /// Confluent's names, case-insensitively (its REST layer upper-cases).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(SchemaType::Avro),
            "JSON" => Ok(SchemaType::Json),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            _ => Err(SchemaError::UnknownType(s.to_owned())),
        }
    }
}

/// A schema reference whose target the caller already looked up.
///
/// `name` is the reference's `name` as registered: for Avro the full name of
/// the referenced type, for JSON Schema the URI the root schema's `$ref`
/// uses, for Protobuf the import path. `schema` is the referenced
/// version's schema text. The caller passes references transitively (the
/// references of references too); the registry never fetches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedReference {
    /// The reference name.
    pub name: String,
    /// The referenced schema text.
    pub schema: String,
}

impl ResolvedReference {
    /// A reference named `name` resolved to `schema`.
    pub fn new(name: impl Into<String>, schema: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            schema: schema.into(),
        }
    }
}

/// A parsed, valid schema of one of the three formats.
///
/// Cloning is cheap: the parsed form is shared.
#[derive(Debug, Clone)]
pub enum ParsedSchema {
    /// An Avro schema.
    Avro(Arc<avro::AvroSchema>),
    /// A JSON Schema.
    Json(Arc<json::JsonSchema>),
    /// A Protobuf file.
    Protobuf(Arc<protobuf::ProtobufSchema>),
}

impl ParsedSchema {
    /// Parses `text` as a schema of `schema_type`, resolving references only
    /// from `references`.
    pub fn parse(
        schema_type: SchemaType,
        text: &str,
        references: &[ResolvedReference],
    ) -> Result<Self, SchemaError> {
        Ok(match schema_type {
            SchemaType::Avro => {
                ParsedSchema::Avro(Arc::new(avro::AvroSchema::parse(text, references)?))
            }
            SchemaType::Json => {
                ParsedSchema::Json(Arc::new(json::JsonSchema::parse(text, references)?))
            }
            SchemaType::Protobuf => {
                ParsedSchema::Protobuf(Arc::new(protobuf::ProtobufSchema::parse(text, references)?))
            }
        })
    }

    /// The schema's format.
    pub fn schema_type(&self) -> SchemaType {
        match self {
            ParsedSchema::Avro(_) => SchemaType::Avro,
            ParsedSchema::Json(_) => SchemaType::Json,
            ParsedSchema::Protobuf(_) => SchemaType::Protobuf,
        }
    }

    /// The schema text as given.
    pub fn text(&self) -> &str {
        match self {
            ParsedSchema::Avro(s) => s.text(),
            ParsedSchema::Json(s) => s.text(),
            ParsedSchema::Protobuf(s) => s.text(),
        }
    }

    /// The string that decides "same schema": two schemas of one type whose
    /// canonical strings are equal (and whose references are equal) get one id.
    /// Whitespace, key order and (Protobuf) comments do not matter; anything
    /// that changes what a reader does (Avro defaults, docs, aliases) does,
    /// as in Confluent.
    pub fn canonical(&self) -> &str {
        match self {
            ParsedSchema::Avro(s) => s.canonical(),
            ParsedSchema::Json(s) => s.canonical(),
            ParsedSchema::Protobuf(s) => s.canonical(),
        }
    }

    /// The schema text Confluent's `normalize=true` would store instead of
    /// the text given: it parses as the same type with the same references.
    pub fn normalized(&self) -> String {
        match self {
            ParsedSchema::Avro(s) => s.normalized(),
            ParsedSchema::Json(s) => s.normalized(),
            ParsedSchema::Protobuf(s) => s.normalized(),
        }
    }
}

/// What `format=` asks of `GET /schemas/ids/{id}` and a version's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemaFormat {
    /// `default`: the canonical form (Protobuf: the text as stored).
    Default,
    /// `resolved` (AVRO): references written out in place.
    Resolved,
    /// `serialized` (PROTOBUF): a base64 `FileDescriptorProto`.
    Serialized,
}

/// What a `format` name is for a schema type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormatName {
    /// A format rendered here.
    Rendered(SchemaFormat),
    /// One Confluent renders for the type and this registry does not.
    NotRendered,
    /// One the type does not have (Confluent answers the default form).
    Unknown,
}

impl SchemaFormat {
    /// What `name` (any case) is for `schema_type`. Confluent's set: AVRO
    /// `default`, `resolved`; PROTOBUF `default`, `ignore_extensions`,
    /// `serialized`; JSON none (every name is the default form).
    pub(crate) fn for_type(schema_type: SchemaType, name: &str) -> FormatName {
        let name = name.to_ascii_lowercase();
        match (schema_type, name.as_str()) {
            (SchemaType::Avro | SchemaType::Protobuf, "default") => {
                FormatName::Rendered(SchemaFormat::Default)
            }
            (SchemaType::Avro, "resolved") => FormatName::Rendered(SchemaFormat::Resolved),
            (SchemaType::Protobuf, "serialized") => FormatName::Rendered(SchemaFormat::Serialized),
            (SchemaType::Protobuf, "ignore_extensions") => FormatName::NotRendered,
            _ => FormatName::Unknown,
        }
    }

    /// The names [`SchemaFormat::for_type`] accepts for `schema_type`.
    pub(crate) fn names(schema_type: SchemaType) -> &'static str {
        match schema_type {
            SchemaType::Avro => "default, resolved",
            SchemaType::Json => "default",
            SchemaType::Protobuf => "default, serialized",
        }
    }
}

impl ParsedSchema {
    /// The schema rendered in `format`.
    pub(crate) fn formatted(&self, format: SchemaFormat) -> String {
        match (self, format) {
            (ParsedSchema::Avro(s), SchemaFormat::Resolved) => s.resolved(),
            (ParsedSchema::Protobuf(s), SchemaFormat::Serialized) => s.serialized(),
            (ParsedSchema::Protobuf(s), _) => s.text().to_owned(),
            (s, _) => s.canonical().to_owned(),
        }
    }
}
