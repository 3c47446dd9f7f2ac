//! Typed errors of the format core and their Confluent error codes.

/// A schema that cannot be registered: Confluent answers these with HTTP 422
/// and error code 42201 ("Invalid schema").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The schema text does not parse or is not a valid schema of its type.
    #[error("invalid {schema_type} schema: {message}")]
    Invalid {
        /// `AVRO`, `JSON` or `PROTOBUF`.
        schema_type: &'static str,
        /// What is wrong, lowercase, without a trailing period.
        message: String,
    },
    /// The `schemaType` given is not one of Confluent's names.
    #[error("unknown schema type: {0}")]
    UnknownType(String),
}

impl SchemaError {
    /// Confluent's error code for this error (`42201` Invalid schema).
    pub fn error_code(&self) -> u32 {
        42201
    }

    pub(crate) fn invalid(schema_type: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            schema_type,
            message: message.into(),
        }
    }
}

/// A record key or value that does not carry Confluent's wire-format header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer than 5 bytes: no room for the magic byte and schema id.
    #[error("payload of {0} bytes is too short for the 5-byte schema header")]
    TooShort(usize),
    /// The first byte is not the magic byte 0.
    #[error("unknown magic byte {0}, expected 0")]
    BadMagic(u8),
    /// The Protobuf message-index array is truncated or malformed.
    #[error("malformed protobuf message indexes: {0}")]
    BadMessageIndexes(&'static str),
}

/// A payload that does not decode with its schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The wire-format header is malformed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The bytes after the header do not decode as the schema says.
    #[error("payload does not match its {schema_type} schema: {message}")]
    Invalid {
        /// `AVRO`, `JSON` or `PROTOBUF`.
        schema_type: &'static str,
        /// What did not decode.
        message: String,
    },
}

impl PayloadError {
    pub(crate) fn invalid(schema_type: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            schema_type,
            message: message.into(),
        }
    }
}
