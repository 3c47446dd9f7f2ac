//! Protobuf schemas: `.proto` text compiled by protox (a pure-Rust
//! `protoc`) into prost-reflect descriptors.
//!
//! - Parsing: the schema is compiled as a file of its own; its `import`s
//!   resolve from the references (by reference name, which is the import
//!   path), then from the built-ins ([`builtin`]: the well-known types
//!   `google/protobuf/*.proto` and Confluent's `confluent/meta.proto` and
//!   `confluent/type/decimal.proto`), never from the file system.
//! - [`ProtobufSchema::canonical`]: a stable text rendering of the compiled
//!   `FileDescriptorProto` (comments, whitespace and source positions
//!   dropped), so layout and comment changes keep the id.
//! - A schema given as a base64-encoded `FileDescriptorProto` (what
//!   Confluent's Python and Go serializers register) is written as `.proto`
//!   text ([`render`], custom options included) and that text is the
//!   schema, as Confluent's `ProtobufSchema` turns a descriptor into a
//!   `ProtoFileElement`: [`ProtobufSchema::text`] is the text, and the same
//!   schema sent as text and as base64 has one canonical form. A reference
//!   given as base64 is compiled from its descriptor.
//! - [`ProtobufSchema::serialized`]: the compiled `FileDescriptorProto`,
//!   base64-encoded (Confluent's `format=serialized`, which the Python and
//!   Go deserializers ask for).
//! - [`ProtobufSchema::normalized`]: Confluent's normalized text
//!   (`ProtobufSchema.normalize()`, see [`render`]): schemas that differ in
//!   layout, comments, import order, option order or field order normalize
//!   to one text.
//! - [`compat`]: Confluent's Protobuf rules.

use std::collections::HashMap;

use prost_reflect::{DescriptorPool, FileDescriptor, MessageDescriptor};
use protox::file::{ChainFileResolver, File, FileResolver};

use crate::error::SchemaError;
use crate::schema::ResolvedReference;

mod builtin;
pub mod compat;
mod google_type;
#[cfg(test)]
pub(crate) use google_type::paths as google_type_paths;
mod render;
mod render_text;

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

/// What the compiler reads for a file: `.proto` text, or the bytes of a
/// `FileDescriptorProto`.
enum Source {
    Text(String),
    Descriptor(Vec<u8>),
}

/// Serves the root and the references by import path.
struct ReferenceResolver {
    files: HashMap<String, Source>,
}

impl FileResolver for ReferenceResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.files.get(name) {
            Some(Source::Text(source)) => File::from_source(name, source),
            Some(Source::Descriptor(bytes)) => from_descriptor(name, bytes.clone()),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

impl Source {
    /// A base64 `FileDescriptorProto` (Confluent accepts one wherever it
    /// accepts `.proto` text), or text. `.proto` text is never only base64
    /// characters (a declaration needs `;` or braces), so nothing is parsed
    /// twice.
    fn of(text: &str) -> Self {
        let trimmed = text.trim();
        let base64_chars = !trimmed.is_empty()
            && trimmed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        match base64_chars.then(|| descriptor_bytes(trimmed)).flatten() {
            Some(bytes) => Source::Descriptor(bytes),
            None => Source::Text(text.to_owned()),
        }
    }
}

/// The bytes of a base64 `FileDescriptorProto`, if `source` is one.
fn descriptor_bytes(source: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use prost::Message as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(source)
        .ok()?;
    prost_types::FileDescriptorProto::decode(bytes.as_slice()).ok()?;
    Some(bytes)
}

/// An encoded `FileDescriptorProto` compiled under `name`, its extension
/// options kept.
fn from_descriptor(name: &str, mut bytes: Vec<u8>) -> Result<File, protox::Error> {
    use prost::Message as _;
    // A later occurrence of a singular field wins when decoding: appending
    // the name renames the file without re-encoding (which would drop the
    // custom options prost does not know).
    let rename = prost_types::FileDescriptorProto {
        name: Some(name.to_owned()),
        ..Default::default()
    };
    rename.encode(&mut bytes).map_err(protox::Error::new)?;
    File::decode_file_descriptor_proto(bytes.as_slice()).map_err(protox::Error::new)
}

/// Compiles `root` (as [`ROOT`]) with its imports served from `references`
/// and the built-ins.
fn compile(
    root: Source,
    references: &[ResolvedReference],
) -> Result<(DescriptorPool, FileDescriptor), SchemaError> {
    let mut files: HashMap<String, Source> = references
        .iter()
        .map(|r| (r.name.clone(), Source::of(&r.schema)))
        .collect();
    files.insert(ROOT.to_owned(), root);
    let mut resolver = ChainFileResolver::new();
    resolver.add(ReferenceResolver { files });
    resolver.add(builtin::BuiltinResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(false);
    compiler
        .open_file(ROOT)
        .map_err(|e| SchemaError::invalid(TYPE, e.to_string()))?;
    let pool = compiler.descriptor_pool();
    let file = pool
        .get_file_by_name(ROOT)
        .ok_or_else(|| SchemaError::invalid(TYPE, "schema file missing after compiling"))?;
    Ok((pool, file))
}

impl ProtobufSchema {
    /// Compiles `text` with its imports served from `references`; a base64
    /// `FileDescriptorProto` is written as `.proto` text first (see the
    /// module doc).
    pub fn parse(text: &str, references: &[ResolvedReference]) -> Result<Self, SchemaError> {
        match Source::of(text) {
            Source::Text(text) => {
                let (pool, file) = compile(Source::Text(text.clone()), references)?;
                Ok(Self::new(text, pool, file))
            }
            descriptor => {
                let (_, file) = compile(descriptor, references)?;
                let text = render::render(&file, false);
                let (pool, file) =
                    compile(Source::Text(text.clone()), references).map_err(|e| {
                        SchemaError::invalid(TYPE, format!("the descriptor written as .proto: {e}"))
                    })?;
                Ok(Self::new(text, pool, file))
            }
        }
    }

    fn new(text: String, pool: DescriptorPool, file: FileDescriptor) -> Self {
        let mut proto = file.file_descriptor_proto().clone();
        proto.name = None;
        proto.source_code_info = None;
        // protoc leaves `syntax` out for proto2; an explicit "proto2" is the same file.
        if proto.syntax.as_deref() == Some("proto2") {
            proto.syntax = None;
        }
        // The descriptor, then the text written from it, which adds what
        // prost-types drops: custom options (`confluent.field_meta` tags
        // and the like), which Confluent's canonical text also holds.
        let canonical = format!("{proto:?}\n{}", render::render(&file, false));
        Self {
            text,
            pool,
            file,
            canonical,
        }
    }

    /// The schema text: as given, or written from a base64 descriptor.
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

    /// Confluent's normalized text (see [`render`]).
    pub fn normalized(&self) -> String {
        render::render(&self.file, true)
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
mod render_tests;
#[cfg(test)]
mod tests;
