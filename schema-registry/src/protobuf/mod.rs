//! Protobuf schemas: `.proto` text compiled by protox (a pure-Rust
//! `protoc`) into prost-reflect descriptors.
//!
//! - Parsing: the schema is compiled as a file of its own; its `import`s
//!   resolve from the references (by reference name, which is the import
//!   path) and from the well-known types (`google/protobuf/*.proto`), never
//!   from the file system. Confluent's own `confluent/meta.proto` and
//!   `confluent/type/decimal.proto` are not built in yet: register them as
//!   references.
//! - [`ProtobufSchema::canonical`]: a stable text rendering of the compiled
//!   `FileDescriptorProto` (comments, whitespace and source positions
//!   dropped), so layout and comment changes keep the id.
//! - A schema or reference given as a base64-encoded `FileDescriptorProto`
//!   (as Confluent's Python and Go serializers register them) is accepted
//!   when the text does not parse as `.proto`, and kept as given.
//! - [`ProtobufSchema::serialized`]: the compiled `FileDescriptorProto`,
//!   base64-encoded (Confluent's `format=serialized`, which the Python and
//!   Go deserializers ask for).
//! - [`ProtobufSchema::normalized`]: the text as given (Confluent's
//!   Protobuf normalization, which re-prints the `.proto`, is not done).
//! - [`compat`]: Confluent's Protobuf rules.

use std::collections::HashMap;

use prost_reflect::{DescriptorPool, FileDescriptor, MessageDescriptor};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use crate::error::SchemaError;
use crate::schema::ResolvedReference;

pub mod compat;

const TYPE: &str = "PROTOBUF";
/// The name the schema itself is compiled under.
const ROOT: &str = "__strata_root__.proto";

/// A compiled Protobuf schema.
#[derive(Debug)]
pub struct ProtobufSchema {
    text: String,
    pool: DescriptorPool,
    file: FileDescriptor,
    canonical: String,
}

/// Serves the root text and the references by import path.
struct ReferenceResolver {
    files: HashMap<String, String>,
}

impl FileResolver for ReferenceResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.files.get(name) {
            Some(source) => File::from_source(name, source).or_else(|error| {
                // Confluent also accepts a base64-encoded FileDescriptorProto
                // (what the Python and Go serializers register).
                from_descriptor(name, source).ok_or(error)
            }),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// A base64 `FileDescriptorProto`, compiled under `name`.
fn from_descriptor(name: &str, source: &str) -> Option<File> {
    use base64::Engine as _;
    use prost::Message as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(source.trim())
        .ok()?;
    let mut proto = prost_types::FileDescriptorProto::decode(bytes.as_slice()).ok()?;
    proto.name = Some(name.to_owned());
    Some(File::from_file_descriptor_proto(proto))
}

impl ProtobufSchema {
    /// Compiles `text` with its imports served from `references`.
    pub fn parse(text: &str, references: &[ResolvedReference]) -> Result<Self, SchemaError> {
        let mut files: HashMap<String, String> = references
            .iter()
            .map(|r| (r.name.clone(), r.schema.clone()))
            .collect();
        files.insert(ROOT.to_owned(), text.to_owned());
        let mut resolver = ChainFileResolver::new();
        resolver.add(ReferenceResolver { files });
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true).include_source_info(false);
        compiler
            .open_file(ROOT)
            .map_err(|e| SchemaError::invalid(TYPE, e.to_string()))?;
        let pool = compiler.descriptor_pool();
        let file = pool
            .get_file_by_name(ROOT)
            .ok_or_else(|| SchemaError::invalid(TYPE, "schema file missing after compiling"))?;
        let mut proto = file.file_descriptor_proto().clone();
        proto.name = None;
        proto.source_code_info = None;
        let canonical = format!("{proto:?}");
        Ok(Self {
            text: text.to_owned(),
            pool,
            file,
            canonical,
        })
    }

    /// The schema text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every descriptor the schema and its imports define.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// The schema's own file.
    pub fn file(&self) -> &FileDescriptor {
        &self.file
    }

    /// The "same schema" string (see the module doc).
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The schema's `FileDescriptorProto` (without a file name, which the
    /// reader chooses, and without source positions), base64-encoded.
    pub fn serialized(&self) -> String {
        use base64::Engine as _;
        use prost::Message as _;
        let mut proto = self.file.file_descriptor_proto().clone();
        proto.name = None;
        proto.source_code_info = None;
        base64::engine::general_purpose::STANDARD.encode(proto.encode_to_vec())
    }

    /// The text as given: Protobuf normalization is not implemented.
    pub fn normalized(&self) -> String {
        self.text.clone()
    }

    /// The message a Confluent message-index path names: `[0]` is the
    /// file's first message, `[1, 2]` the third nested message of the
    /// second. `None` when an index is out of range.
    pub fn message_by_indexes(&self, indexes: &[i32]) -> Option<MessageDescriptor> {
        let (&first, rest) = indexes.split_first()?;
        let mut message = self.file.messages().nth(usize::try_from(first).ok()?)?;
        for &i in rest {
            let next = message.child_messages().nth(usize::try_from(i).ok()?)?;
            message = next;
        }
        Some(message)
    }
}

#[cfg(test)]
mod tests;
