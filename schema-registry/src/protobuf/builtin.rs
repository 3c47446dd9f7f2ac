//! The imports every schema may use without a reference: the well-known
//! types protox ships (`google/protobuf/*.proto`), the googleapis common
//! types Confluent bundles (`google/type/*.proto`, [`super::google_type`])
//! and the two files
//! Confluent's registry and serializers ship, `confluent/meta.proto` (the
//! `confluent.*_meta` options that carry docs, params and data-contract
//! tags) and `confluent/type/decimal.proto`. Confluent's Python and Go
//! serializers never register these as references: they expect the
//! registry to know them. A reference of the same name wins over a
//! built-in, as in Confluent.

use protox::file::{File, FileResolver, GoogleFileResolver};

use super::google_type::GOOGLE_TYPE_FILES;

/// `confluent/meta.proto`: the package, messages, fields and extension
/// numbers of Confluent's (schema-registry's `protobuf-types` module,
/// `io.confluent.protobuf.MetaProto`).
pub(super) const CONFLUENT_META: &str = r#"syntax = "proto3";
package confluent;

import "google/protobuf/descriptor.proto";

option go_package = "../confluent";
option java_outer_classname = "MetaProto";
option java_package = "io.confluent.protobuf";

message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
}

extend google.protobuf.FileOptions {
  Meta file_meta = 1088;
}
extend google.protobuf.MessageOptions {
  Meta message_meta = 1088;
}
extend google.protobuf.FieldOptions {
  Meta field_meta = 1088;
}
extend google.protobuf.EnumOptions {
  Meta enum_meta = 1088;
}
extend google.protobuf.EnumValueOptions {
  Meta enum_value_meta = 1088;
}
"#;

/// `confluent/type/decimal.proto`: the message of Confluent's
/// (`io.confluent.protobuf.type.DecimalProto`).
pub(super) const CONFLUENT_DECIMAL: &str = r#"syntax = "proto3";
package confluent.type;

option go_package = "../type";
option java_outer_classname = "DecimalProto";
option java_package = "io.confluent.protobuf.type";

message Decimal {
  // The two's-complement representation of the unscaled integer value in big-endian byte order.
  bytes value = 1;
  // The precision.
  uint32 precision = 2;
  // The scale.
  int32 scale = 3;
}
"#;

/// The import paths served here.
pub(super) const CONFLUENT_FILES: [(&str, &str); 2] = [
    ("confluent/meta.proto", CONFLUENT_META),
    ("confluent/type/decimal.proto", CONFLUENT_DECIMAL),
];

/// Serves the well-known types, `google/type/*.proto` and Confluent's files.
pub(super) struct BuiltinResolver {
    google: GoogleFileResolver,
}

impl BuiltinResolver {
    pub(super) fn new() -> Self {
        Self {
            google: GoogleFileResolver::new(),
        }
    }
}

impl FileResolver for BuiltinResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        let bundled = CONFLUENT_FILES
            .iter()
            .chain(GOOGLE_TYPE_FILES.iter())
            .find(|(path, _)| *path == name);
        match bundled {
            Some((path, source)) => File::from_source(path, source),
            None => self.google.open_file(name),
        }
    }
}
