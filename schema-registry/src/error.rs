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

/// A registry error with Confluent's `(HTTP status, error_code)`; the
/// messages are Confluent's (`io.confluent.kafka.schemaregistry.rest.exceptions.Errors`
/// and the exceptions it wraps), so clients that match on them keep working.
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
    /// 42207: an explicit id (IMPORT mode) for a schema already registered
    /// under another id.
    #[error("Schema already registered with id {existing} instead of input id {given}")]
    IdDoesNotMatch {
        /// The id the schema has.
        existing: u32,
        /// The id the request gave.
        given: u32,
    },
    /// 42208: a subject name with control characters, or `__GLOBAL`.
    #[error("The specified subject '{0}' is not a valid.")]
    InvalidSubject(String),
    /// 42209: a record too large for `_schemas`.
    #[error("Register operation failed because schema is too large")]
    SchemaTooLarge,
    /// 42210: a rule set that breaks Confluent's rules for rule sets.
    #[error("{0}")]
    InvalidRuleSet(String),
    /// 50001
    #[error("Error while storing the schema registry state: {0}")]
    Store(String),
    /// 50002: the store did not confirm a write in time; the write may
    /// still land (and is then applied), as with Confluent's
    /// `kafkastore.timeout.ms`.
    #[error("Write to the Kafka store timed out while waiting for {0}")]
    Timeout(String),
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
            IdDoesNotMatch { .. } => (422, 42207),
            InvalidSubject(_) => (422, 42208),
            SchemaTooLarge => (422, 42209),
            InvalidRuleSet(_) => (422, 42210),
            Store(_) => (500, 50001),
            Timeout(_) => (500, 50002),
        }
    }
}
