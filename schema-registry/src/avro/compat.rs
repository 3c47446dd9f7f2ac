//! Avro schema resolution (the specification's "Schema Resolution"), as
//! Java's `SchemaCompatibility` implements it and Confluent reports it.
//!
//! The reader is the schema that decodes, the writer the one that encoded:
//! BACKWARD checks the new schema reading data of the old one, FORWARD the
//! old reading the new. Rules:
//!
//! - identical primitive types match; promotions `int -> long, float,
//!   double`, `long -> float, double`, `float -> double`, `string <-> bytes`;
//!   logical types resolve as their underlying type (as in Java);
//! - records, enums and fixed match when the reader's unqualified name equals
//!   the writer's, or a reader alias names the writer (`NAME_MISMATCH`);
//! - every reader field must exist in the writer (by name or by one of the
//!   reader field's aliases) or have a default
//!   (`READER_FIELD_MISSING_DEFAULT_VALUE`); writer fields the reader lacks
//!   are skipped; matching fields resolve recursively;
//! - enum symbols the writer has and the reader lacks are
//!   `MISSING_ENUM_SYMBOLS` unless the reader enum has a `default`;
//! - fixed sizes must be equal (`FIXED_SIZE_MISMATCH`);
//! - arrays resolve by items, maps by values;
//! - a writer union resolves when every branch resolves; a reader union
//!   when some branch resolves the writer (`MISSING_UNION_BRANCH`);
//! - anything else is `TYPE_MISMATCH`.
//!
//! Recursive named types are checked once per (reader, writer) name pair.

use std::collections::{BTreeSet, HashMap, HashSet};

use apache_avro::schema::{
    EnumSchema, FixedSchema, InnerDecimalSchema, Name, RecordSchema, UnionSchema, UuidSchema,
};
use apache_avro::Schema;

use super::AvroSchema;

/// One incompatibility found while resolving a writer with a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// Java's `SchemaIncompatibilityType` name, e.g. `READER_FIELD_MISSING_DEFAULT_VALUE`.
    pub error_type: &'static str,
    /// JSON-pointer-like location in the reader schema, e.g. `/fields/1`.
    pub path: String,
    /// Java's incompatibility message (Confluent's `additionalInfo`).
    pub info: String,
}

impl Incompatibility {
    /// Confluent's message for this incompatibility, naming the reader and
    /// the writer by their roles (`new`/`old`).
    pub fn describe(&self, reader_role: &str, writer_role: &str) -> String {
        let p = &self.path;
        let description = match self.error_type {
            "FIXED_SIZE_MISMATCH" => format!(
                "The size of FIXED type field at path '{p}' in the {reader_role} schema does not match with the {writer_role} schema"
            ),
            "TYPE_MISMATCH" => format!(
                "The type (path '{p}') of a field in the {reader_role} schema does not match with the {writer_role} schema"
            ),
            "NAME_MISMATCH" => format!("The name of the schema has changed (path '{p}')"),
            "MISSING_ENUM_SYMBOLS" => format!(
                "The {reader_role} schema is missing enum symbols '{}' at path '{p}' in the {writer_role} schema",
                self.info
            ),
            "MISSING_UNION_BRANCH" => format!(
                "The {reader_role} schema is missing a type inside a union field at path '{p}' in the {writer_role} schema"
            ),
            "READER_FIELD_MISSING_DEFAULT_VALUE" => format!(
                "The field '{}' at path '{p}' in the {reader_role} schema has no default value and is missing in the {writer_role} schema",
                self.info
            ),
            _ => String::new(),
        };
        format!(
            "{{errorType:'{}', description:'{description}', additionalInfo:'{}'}}",
            self.error_type, self.info
        )
    }
}

/// Every reason `reader` cannot decode data written with `writer`; empty when
/// it can.
pub fn incompatibilities(reader: &AvroSchema, writer: &AvroSchema) -> Vec<Incompatibility> {
    let mut checker = Checker {
        reader_names: reader.names(),
        writer_names: writer.names(),
        in_progress: HashSet::new(),
        out: Vec::new(),
    };
    let mut path = Vec::new();
    checker.check(reader.schema(), writer.schema(), &mut path);
    checker.out
}

/// The writer or reader schema with logical types reduced to their
/// underlying Avro type, which is all resolution looks at.
enum Base<'a> {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(&'a Schema),
    Map(&'a Schema),
    Union(&'a UnionSchema),
    Record(&'a RecordSchema),
    Enum(&'a EnumSchema),
    Fixed(&'a FixedSchema),
}

impl Base<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Base::Null => "NULL",
            Base::Boolean => "BOOLEAN",
            Base::Int => "INT",
            Base::Long => "LONG",
            Base::Float => "FLOAT",
            Base::Double => "DOUBLE",
            Base::Bytes => "BYTES",
            Base::String => "STRING",
            Base::Array(_) => "ARRAY",
            Base::Map(_) => "MAP",
            Base::Union(_) => "UNION",
            Base::Record(_) => "RECORD",
            Base::Enum(_) => "ENUM",
            Base::Fixed(_) => "FIXED",
        }
    }
}

struct Checker<'a> {
    reader_names: HashMap<Name, &'a Schema>,
    writer_names: HashMap<Name, &'a Schema>,
    in_progress: HashSet<(String, String)>,
    out: Vec<Incompatibility>,
}

fn base<'a>(schema: &'a Schema, names: &HashMap<Name, &'a Schema>) -> Base<'a> {
    match schema {
        Schema::Ref { name } => match names.get(name) {
            Some(s) if !matches!(s, Schema::Ref { .. }) => base(s, names),
            // Parsing guarantees every name resolves; an unknown one cannot
            // match anything, like a type of its own.
            _ => Base::Null,
        },
        Schema::Null => Base::Null,
        Schema::Boolean => Base::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Base::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Base::Long,
        Schema::Float => Base::Float,
        Schema::Double => Base::Double,
        Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => Base::Bytes,
        Schema::String | Schema::Uuid(UuidSchema::String) => Base::String,
        Schema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Bytes => Base::Bytes,
            InnerDecimalSchema::Fixed(f) => Base::Fixed(f),
        },
        Schema::Uuid(UuidSchema::Fixed(f)) | Schema::Fixed(f) | Schema::Duration(f) => {
            Base::Fixed(f)
        }
        Schema::Array(a) => Base::Array(&a.items),
        Schema::Map(m) => Base::Map(&m.types),
        Schema::Union(u) => Base::Union(u),
        Schema::Record(r) => Base::Record(r),
        Schema::Enum(e) => Base::Enum(e),
    }
}

fn render(path: &[String]) -> String {
    if path.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}", path.join("/"))
    }
}

/// Java's `schemaNameEquals`: unqualified names equal, or a reader alias
/// names the writer's full name.
fn names_match(
    reader: &Name,
    reader_aliases: Option<&Vec<apache_avro::schema::Alias>>,
    writer: &Name,
) -> bool {
    if reader.name() == writer.name() {
        return true;
    }
    let writer_full = writer.fullname(None);
    reader_aliases.is_some_and(|aliases| {
        aliases
            .iter()
            .any(|a| a.fullname(reader.namespace()) == writer_full)
    })
}

impl<'a> Checker<'a> {
    fn push(&mut self, error_type: &'static str, path: &[String], info: String) {
        self.out.push(Incompatibility {
            error_type,
            path: render(path),
            info,
        });
    }

    fn mismatch(&mut self, r: &Base<'_>, w: &Base<'_>, path: &[String]) {
        let info = format!(
            "reader type: {} not compatible with writer type: {}",
            r.type_name(),
            w.type_name()
        );
        self.push("TYPE_MISMATCH", path, info);
    }

    /// Whether `reader` resolves `writer`, without recording anything.
    fn compatible(&mut self, reader: &'a Schema, writer: &'a Schema) -> bool {
        let saved = std::mem::take(&mut self.out);
        let mut path = Vec::new();
        self.check(reader, writer, &mut path);
        let ok = self.out.is_empty();
        self.out = saved;
        ok
    }

    fn check(&mut self, reader: &'a Schema, writer: &'a Schema, path: &mut Vec<String>) {
        let r = base(reader, &self.reader_names);
        let w = base(writer, &self.writer_names);
        match (&r, &w) {
            (Base::Union(ru), Base::Union(wu)) => {
                for (i, branch) in wu.variants().iter().enumerate() {
                    if !ru.variants().iter().any(|rb| self.compatible(rb, branch)) {
                        path.push(i.to_string());
                        let info = format!(
                            "reader union lacking writer type: {}",
                            base(branch, &self.writer_names).type_name()
                        );
                        self.push("MISSING_UNION_BRANCH", path, info);
                        path.pop();
                    }
                }
            }
            (_, Base::Union(wu)) => {
                for branch in wu.variants() {
                    self.check(reader, branch, path);
                }
            }
            (Base::Union(ru), _) => {
                if !ru.variants().iter().any(|rb| self.compatible(rb, writer)) {
                    let info = format!("reader union lacking writer type: {}", w.type_name());
                    self.push("MISSING_UNION_BRANCH", path, info);
                }
            }
            (Base::Null, Base::Null)
            | (Base::Boolean, Base::Boolean)
            | (Base::Int, Base::Int)
            | (Base::Long, Base::Long | Base::Int)
            | (Base::Float, Base::Float | Base::Long | Base::Int)
            | (Base::Double, Base::Double | Base::Float | Base::Long | Base::Int)
            | (Base::Bytes, Base::Bytes | Base::String)
            | (Base::String, Base::String | Base::Bytes) => {}
            (Base::Array(ri), Base::Array(wi)) => {
                path.push("items".to_owned());
                self.check(ri, wi, path);
                path.pop();
            }
            (Base::Map(rv), Base::Map(wv)) => {
                path.push("values".to_owned());
                self.check(rv, wv, path);
                path.pop();
            }
            (Base::Fixed(rf), Base::Fixed(wf)) => {
                if !names_match(&rf.name, rf.aliases.as_ref(), &wf.name) {
                    path.push("name".to_owned());
                    self.push(
                        "NAME_MISMATCH",
                        path,
                        format!("expected: {}", wf.name.fullname(None)),
                    );
                    path.pop();
                }
                if rf.size != wf.size {
                    path.push("size".to_owned());
                    let info = format!("expected: {}, found: {}", wf.size, rf.size);
                    self.push("FIXED_SIZE_MISMATCH", path, info);
                    path.pop();
                }
            }
            (Base::Enum(re), Base::Enum(we)) => {
                if !names_match(&re.name, re.aliases.as_ref(), &we.name) {
                    path.push("name".to_owned());
                    self.push(
                        "NAME_MISMATCH",
                        path,
                        format!("expected: {}", we.name.fullname(None)),
                    );
                    path.pop();
                }
                let missing: BTreeSet<&str> = we
                    .symbols
                    .iter()
                    .filter(|s| !re.symbols.contains(s))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() && re.default.is_none() {
                    path.push("symbols".to_owned());
                    let list: Vec<&str> = missing.into_iter().collect();
                    self.push(
                        "MISSING_ENUM_SYMBOLS",
                        path,
                        format!("[{}]", list.join(", ")),
                    );
                    path.pop();
                }
            }
            (Base::Record(rr), Base::Record(wr)) => self.check_records(rr, wr, path),
            _ => self.mismatch(&r, &w, path),
        }
    }

    fn check_records(
        &mut self,
        reader: &'a RecordSchema,
        writer: &'a RecordSchema,
        path: &mut Vec<String>,
    ) {
        let key = (reader.name.fullname(None), writer.name.fullname(None));
        if !self.in_progress.insert(key.clone()) {
            // Already being checked higher up: a recursive type.
            return;
        }
        if !names_match(&reader.name, reader.aliases.as_ref(), &writer.name) {
            path.push("name".to_owned());
            self.push(
                "NAME_MISMATCH",
                path,
                format!("expected: {}", writer.name.fullname(None)),
            );
            path.pop();
        }
        for (i, field) in reader.fields.iter().enumerate() {
            path.push("fields".to_owned());
            path.push(i.to_string());
            let writer_field = writer.lookup.get(&field.name).or_else(|| {
                field
                    .aliases
                    .iter()
                    .find_map(|alias| writer.lookup.get(alias))
            });
            match writer_field {
                Some(&wi) => {
                    path.push("type".to_owned());
                    self.check(&field.schema, &writer.fields[wi].schema, path);
                    path.pop();
                }
                None => {
                    let enum_default = matches!(
                        base(&field.schema, &self.reader_names),
                        Base::Enum(e) if e.default.is_some()
                    );
                    if field.default.is_none() && !enum_default {
                        self.push(
                            "READER_FIELD_MISSING_DEFAULT_VALUE",
                            path,
                            field.name.clone(),
                        );
                    }
                }
            }
            path.pop();
            path.pop();
        }
        self.in_progress.remove(&key);
    }
}
