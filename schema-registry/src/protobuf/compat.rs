//! Confluent's Protobuf compatibility rules (its `SchemaDiff` on the
//! compiled descriptors).
//!
//! The writer is Confluent's "original", the reader its "update". Messages
//! are matched by name (without the package, so a package rename alone is
//! compatible, as in Confluent 7.x+), fields by number across the whole
//! message whatever their oneof. Incompatible, and reported:
//!
//! - `MESSAGE_REMOVED`: a message of the writer is missing in the reader
//!   (a renamed message is a removal);
//! - `FIELD_KIND_CHANGED`: scalar/enum vs message vs map;
//! - `FIELD_SCALAR_KIND_CHANGED`: outside one wire-compatible group
//!   (`int32 int64 uint32 uint64 bool` and enums; `sint32 sint64`;
//!   `string bytes`; `fixed32 sfixed32`; `fixed64 sfixed64`; `float`; `double`);
//! - `FIELD_NUMERIC_LABEL_CHANGED`: a numeric field became or stopped being
//!   `repeated` (string/bytes label changes are compatible);
//! - `FIELD_NAMED_TYPE_CHANGED`: a message-typed field names another message,
//!   or the same message changed incompatibly;
//! - `REQUIRED_FIELD_ADDED` / `REQUIRED_FIELD_REMOVED` (proto2 `required`);
//! - `ONEOF_FIELD_REMOVED`: a member of a surviving oneof removed;
//! - `MULTIPLE_FIELDS_MOVED_TO_ONEOF` / `FIELD_MOVED_TO_EXISTING_ONEOF`:
//!   previously independent fields made mutually exclusive.
//!
//! Compatible, and silent: messages, enums, enum constants, fields and
//! oneofs added or removed (a whole oneof removed), field renames, package
//! changes, fields moved out of a oneof.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use prost_reflect::{Cardinality, FieldDescriptor, Kind, MessageDescriptor};

use super::ProtobufSchema;

/// One incompatible difference between two Protobuf schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// Confluent's `Difference.Type` name, e.g. `FIELD_SCALAR_KIND_CHANGED`.
    pub error_type: &'static str,
    /// Confluent's path, e.g. `#/Order/3`.
    pub path: String,
}

impl Incompatibility {
    /// Confluent's message, naming the reader (update) and writer (original)
    /// by their roles.
    pub fn describe(&self, reader_role: &str, writer_role: &str) -> String {
        let (a, b, p) = (reader_role, writer_role, &self.path);
        let description = match self.error_type {
            "MESSAGE_REMOVED" => {
                format!("The {a} schema is missing a MESSAGE type at path '{p}' in the {b} schema")
            }
            "FIELD_KIND_CHANGED" => format!(
                "The type of a field at path '{p}' in the {a} schema does not match the {b} schema"
            ),
            "FIELD_SCALAR_KIND_CHANGED" => format!(
                "The kind of a SCALAR field at path '{p}' in the {a} schema does not match its kind in the {b} schema"
            ),
            "FIELD_NAMED_TYPE_CHANGED" => format!(
                "The type of a MESSAGE field at path '{p}' in the {a} schema does not match its type in the {b} schema"
            ),
            "FIELD_NUMERIC_LABEL_CHANGED" => format!(
                "The label for a NUMERIC field at path '{p}' in the {a} schema does not match its label in the {b} schema"
            ),
            "REQUIRED_FIELD_ADDED" => format!(
                "A required field  at path '{p}' in the {a} schema is missing in the {b} schema"
            ),
            "REQUIRED_FIELD_REMOVED" => format!(
                "The {a} schema is missing a required field at path: '{p}' in the {b} schema"
            ),
            "ONEOF_FIELD_REMOVED" => format!(
                "The {a} schema is missing a oneof field at path '{p}' in the {b} schema"
            ),
            "MULTIPLE_FIELDS_MOVED_TO_ONEOF" => format!(
                "Multiple fields in the oneof at path '{p}' in the {a} schema are outside a oneof in the {b} schema"
            ),
            "FIELD_MOVED_TO_EXISTING_ONEOF" => format!(
                "A field in the oneof at path '{p}' in the {a} schema is outside an existing oneof in the {b} schema"
            ),
            _ => String::new(),
        };
        format!(
            "{{errorType:\"{}\", description:\"{description}\"}}",
            self.error_type
        )
    }
}

/// Every incompatible difference for `reader` decoding data of `writer`.
pub fn incompatibilities(reader: &ProtobufSchema, writer: &ProtobufSchema) -> Vec<Incompatibility> {
    let mut diff = Diff {
        seen: HashSet::new(),
        out: Vec::new(),
    };
    let original: Vec<MessageDescriptor> = writer.file().messages().collect();
    let update: Vec<MessageDescriptor> = reader.file().messages().collect();
    diff.compare_messages(&original, &update, "#");
    diff.out
}

struct Diff {
    seen: HashSet<(String, String)>,
    out: Vec<Incompatibility>,
}

/// The name of a message below its package: `Outer.Inner`.
fn local_name(m: &MessageDescriptor) -> &str {
    let full = m.full_name();
    let package = m.package_name();
    if package.is_empty() {
        full
    } else {
        full.strip_prefix(package)
            .and_then(|s| s.strip_prefix('.'))
            .unwrap_or(full)
    }
}

#[derive(PartialEq, Eq)]
enum FieldKind {
    Scalar,
    Message,
    Map,
}

fn field_kind(f: &FieldDescriptor) -> FieldKind {
    if f.is_map() {
        FieldKind::Map
    } else if matches!(f.kind(), Kind::Message(_)) {
        FieldKind::Message
    } else {
        FieldKind::Scalar
    }
}

/// Wire-compatible scalar groups, after Confluent's `ScalarKind`.
fn scalar_group(kind: &Kind) -> u8 {
    match kind {
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Bool | Kind::Enum(_) => 0,
        Kind::Sint32 | Kind::Sint64 => 1,
        Kind::String | Kind::Bytes => 2,
        Kind::Fixed32 | Kind::Sfixed32 => 3,
        Kind::Fixed64 | Kind::Sfixed64 => 4,
        Kind::Float => 5,
        Kind::Double => 6,
        Kind::Message(_) => 7,
    }
}

/// The real (not proto3-`optional` synthetic) oneof a field belongs to.
fn real_oneof(f: &FieldDescriptor) -> Option<String> {
    f.containing_oneof()
        .filter(|o| !o.is_synthetic())
        .map(|o| o.name().to_owned())
}

impl Diff {
    fn add(&mut self, error_type: &'static str, path: String) {
        self.out.push(Incompatibility { error_type, path });
    }

    fn compare_messages(
        &mut self,
        original: &[MessageDescriptor],
        update: &[MessageDescriptor],
        path: &str,
    ) {
        let updates: HashMap<&str, &MessageDescriptor> = update
            .iter()
            .filter(|m| !m.is_map_entry())
            .map(|m| (m.name(), m))
            .collect();
        for o in original.iter().filter(|m| !m.is_map_entry()) {
            let p = format!("{path}/{}", o.name());
            match updates.get(o.name()) {
                None => self.add("MESSAGE_REMOVED", p),
                Some(u) => self.compare_message(o, u, &p),
            }
        }
    }

    fn compare_message(
        &mut self,
        original: &MessageDescriptor,
        update: &MessageDescriptor,
        path: &str,
    ) {
        let key = (
            original.full_name().to_owned(),
            update.full_name().to_owned(),
        );
        if !self.seen.insert(key) {
            return;
        }
        let ofields: BTreeMap<u32, FieldDescriptor> =
            original.fields().map(|f| (f.number(), f)).collect();
        let ufields: BTreeMap<u32, FieldDescriptor> =
            update.fields().map(|f| (f.number(), f)).collect();
        let o_oneof: HashMap<u32, String> = ofields
            .iter()
            .filter_map(|(n, f)| real_oneof(f).map(|o| (*n, o)))
            .collect();
        let u_oneof: HashMap<u32, String> = ufields
            .iter()
            .filter_map(|(n, f)| real_oneof(f).map(|o| (*n, o)))
            .collect();
        let o_oneofs: BTreeSet<&String> = o_oneof.values().collect();
        let u_oneofs: BTreeSet<&String> = u_oneof.values().collect();

        // A removed oneof none of whose members survive is a compatible deletion.
        let deleted: HashSet<&String> = o_oneofs
            .iter()
            .filter(|name| !u_oneofs.contains(*name))
            .filter(|name| {
                !o_oneof
                    .iter()
                    .any(|(n, o)| o == **name && ufields.contains_key(n))
            })
            .copied()
            .collect();

        // Newly introduced mutual exclusion.
        for oneof in &u_oneofs {
            let mut groups = BTreeSet::new();
            let mut moved_in = 0;
            for (n, o) in &u_oneof {
                if o != *oneof {
                    continue;
                }
                if let Some(orig) = o_oneof.get(n) {
                    groups.insert(format!("oneof:{orig}"));
                } else if ofields.contains_key(n) {
                    groups.insert(format!("field:{n}"));
                    moved_in += 1;
                }
            }
            if groups.len() > 1 {
                let t = if moved_in > 1 {
                    "MULTIPLE_FIELDS_MOVED_TO_ONEOF"
                } else {
                    "FIELD_MOVED_TO_EXISTING_ONEOF"
                };
                self.add(t, format!("{path}/{oneof}"));
            }
        }

        let numbers: BTreeSet<u32> = ofields.keys().chain(ufields.keys()).copied().collect();
        for n in numbers {
            match (ofields.get(&n), ufields.get(&n)) {
                (Some(o), None) => {
                    if let Some(oneof) = o_oneof.get(&n) {
                        if !deleted.contains(oneof) {
                            self.add("ONEOF_FIELD_REMOVED", format!("{path}/{oneof}/{n}"));
                        }
                    } else if o.cardinality() == Cardinality::Required {
                        self.add("REQUIRED_FIELD_REMOVED", format!("{path}/{n}"));
                    }
                }
                (None, Some(u)) => {
                    if !u_oneof.contains_key(&n) && u.cardinality() == Cardinality::Required {
                        self.add("REQUIRED_FIELD_ADDED", format!("{path}/{n}"));
                    }
                }
                (Some(o), Some(u)) => {
                    let p = match u_oneof.get(&n) {
                        Some(oneof) => format!("{path}/{oneof}/{n}"),
                        None => format!("{path}/{n}"),
                    };
                    self.compare_field(o, u, &p);
                }
                (None, None) => {}
            }
        }

        let onested: Vec<MessageDescriptor> = original.child_messages().collect();
        let unested: Vec<MessageDescriptor> = update.child_messages().collect();
        self.compare_messages(&onested, &unested, path);
    }

    fn compare_field(&mut self, o: &FieldDescriptor, u: &FieldDescriptor, path: &str) {
        let (ok, uk) = (field_kind(o), field_kind(u));
        if ok != uk {
            self.add("FIELD_KIND_CHANGED", path.to_owned());
            return;
        }
        match ok {
            FieldKind::Scalar => {
                if scalar_group(&o.kind()) != scalar_group(&u.kind()) {
                    self.add("FIELD_SCALAR_KIND_CHANGED", path.to_owned());
                } else if o.is_list() != u.is_list() && scalar_group(&o.kind()) != 2 {
                    self.add("FIELD_NUMERIC_LABEL_CHANGED", path.to_owned());
                }
            }
            FieldKind::Message => {
                if let (Kind::Message(om), Kind::Message(um)) = (o.kind(), u.kind()) {
                    self.compare_named(&om, &um, path);
                }
            }
            FieldKind::Map => {
                if let (Kind::Message(om), Kind::Message(um)) = (o.kind(), u.kind()) {
                    self.compare_field(&om.map_entry_key_field(), &um.map_entry_key_field(), path);
                    self.compare_field(
                        &om.map_entry_value_field(),
                        &um.map_entry_value_field(),
                        path,
                    );
                }
            }
        }
    }

    fn compare_named(&mut self, o: &MessageDescriptor, u: &MessageDescriptor, path: &str) {
        if local_name(o) != local_name(u) {
            self.add("FIELD_NAMED_TYPE_CHANGED", path.to_owned());
            return;
        }
        let before = self.out.len();
        let p = format!("#/{}", local_name(o));
        self.compare_message(o, u, &p);
        if self.out.len() > before {
            self.add("FIELD_NAMED_TYPE_CHANGED", path.to_owned());
        }
    }
}
