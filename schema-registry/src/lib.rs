//! Confluent-compatible Schema Registry: the format core.
//!
//! This crate holds what the registry knows about schemas, independent of
//! HTTP and storage:
//!
//! - [`SchemaType`] and [`ParsedSchema`]: parse a schema text of one of
//!   Confluent's three formats (AVRO, JSON, PROTOBUF) together with its
//!   references, already resolved by the caller to their schema texts. A
//!   parse failure is a [`SchemaError`] that the HTTP surface maps to
//!   Confluent's `42201 Invalid schema`.
//! - [`ParsedSchema::canonical`]: the string that decides "same schema"
//!   (the registry returns the same id for the same canonical string), and
//!   [`ParsedSchema::normalized`] for Confluent's `normalize=true`.
//! - [`compat::check`]: Confluent's compatibility levels with
//!   Confluent-style messages, one checker per format ([`avro`], [`json`],
//!   [`protobuf`] document the rules each covers).
//! - [`wire`] and [`validate_payload`]: the Confluent wire format (magic
//!   byte, schema id, Protobuf message indexes) and payload decoding for
//!   broker-side validation; [`validator::PayloadValidator`], a schema
//!   prepared once for validating every record of a topic.
//!
//! Every type here is `Send + Sync` and cheap to clone ([`ParsedSchema`]
//! shares its parsed form behind an `Arc`), so an axum router state and a
//! `_schemas`-log-backed store can cache parsed schemas by id.

pub mod avro;
pub mod avro_program;
pub mod compat;
mod error;
pub mod http;
pub mod json;
pub mod protobuf;
pub mod records;
pub mod registry;
mod schema;
pub mod validator;
pub mod wire;

pub use compat::{check, CompatibilityLevel};
pub use error::{PayloadError, SchemaError, WireError};
pub use schema::{ParsedSchema, ResolvedReference, SchemaType};
pub use wire::validate_payload;
