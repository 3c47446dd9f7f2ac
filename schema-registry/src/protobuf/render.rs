//! A compiled file written back as `.proto` text, in the layout of
//! Confluent's `ProtobufSchemaUtils.toString`: `syntax`, `package`,
//! imports, options, messages, enums, `extend` blocks, services, two-space
//! indents, no comments. Type names are fully qualified with a leading dot
//! (as a descriptor holds them and as Confluent's normalized form writes
//! them), map fields are written as `map<K, V>`.
//!
//! Two modes:
//! - as is ([`render`] with `normalize == false`): declaration order is
//!   kept, so the text compiles back to the same descriptor (the same
//!   canonical form, hence the same id). This is how a base64
//!   `FileDescriptorProto` becomes text. Unlike Confluent's printer it keeps
//!   a `oneof` at its first field and a nested message before the map field
//!   that follows it, because field and nested-type order decide the
//!   descriptor (and the message indexes clients write).
//! - normalized (Confluent's `ProtobufSchema.normalize()`, which
//!   `normalize=true` applies): imports sorted and deduplicated, options
//!   sorted by name (and message-valued options by key), fields sorted by
//!   number, oneofs after the fields ordered by their first field number,
//!   reserved ranges and names one a line in order, enum values sorted by
//!   number. Message, enum, service and method order is kept, as in
//!   Confluent (message indexes depend on it).
//!
//! A field's `json_name` is written only when it differs from the default
//! protoc derives (protox fills it in for every field, Go's descriptors
//! carry it), so it never makes two spellings of one schema differ.

use prost_reflect::{
    EnumDescriptor, ExtensionDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor,
    OneofDescriptor, ServiceDescriptor,
};
use prost_types::field_descriptor_proto::Label;
use prost_types::FieldDescriptorProto;

use super::render_text::{
    bracketed, default_json_name, default_text, indent, map_type, option_statements, options_of,
    quote, range_text, type_name, Opt,
};

/// The highest field number: `to max` in ranges.
const MAX_FIELD_NUMBER: u32 = 536_870_911;

/// `file` as `.proto` text (see the module doc).
pub(super) fn render(file: &FileDescriptor, normalize: bool) -> String {
    let r = Renderer {
        normalize,
        proto3: file.file_descriptor_proto().syntax() == "proto3",
    };
    r.file(file)
}

struct Renderer {
    normalize: bool,
    proto3: bool,
}

impl Renderer {
    fn file(&self, file: &FileDescriptor) -> String {
        let raw = file.file_descriptor_proto();
        let mut s = String::new();
        if let Some(syntax) = &raw.syntax {
            s.push_str(&format!("syntax = {};\n", quote(syntax)));
        }
        if !file.package_name().is_empty() {
            s.push_str(&format!("package {};\n", file.package_name()));
        }
        let imports = self.imports(raw);
        if !imports.is_empty() {
            s.push('\n');
            s.push_str(&imports);
        }
        let options = options_of(&file.options(), self.normalize);
        if !options.is_empty() {
            s.push('\n');
            s.push_str(&option_statements(&options));
        }
        if file.messages().len() + file.enums().len() > 0 {
            s.push('\n');
            for m in file.messages() {
                s.push_str(&self.message(&m));
            }
            for e in file.enums() {
                s.push_str(&self.enumeration(&e));
            }
        }
        let extends = self.extends(file.extensions());
        if !extends.is_empty() {
            s.push('\n');
            s.push_str(&extends);
        }
        if file.services().len() > 0 {
            s.push('\n');
            for service in file.services() {
                s.push_str(&self.service(&service));
            }
        }
        s
    }

    fn imports(&self, raw: &prost_types::FileDescriptorProto) -> String {
        let is = |list: &[i32], i: usize| list.iter().any(|&p| usize::try_from(p) == Ok(i));
        let mut plain = Vec::new();
        let mut public = Vec::new();
        let mut lines = Vec::new();
        for (i, dep) in raw.dependency.iter().enumerate() {
            let modifier = if is(&raw.public_dependency, i) {
                public.push(dep);
                "public "
            } else if is(&raw.weak_dependency, i) {
                plain.push(dep);
                "weak "
            } else {
                plain.push(dep);
                ""
            };
            lines.push(format!("import {modifier}{};\n", quote(dep)));
        }
        if !self.normalize {
            return lines.concat();
        }
        plain.sort();
        plain.dedup();
        public.sort();
        public.dedup();
        let plain = plain.into_iter().map(|d| format!("import {};\n", quote(d)));
        let public = public
            .into_iter()
            .map(|d| format!("import public {};\n", quote(d)));
        plain.chain(public).collect()
    }

    fn message(&self, message: &MessageDescriptor) -> String {
        format!(
            "message {} {{{}}}\n",
            message.name(),
            self.message_body(message)
        )
    }

    /// Everything between a message's braces (also a group's body).
    fn message_body(&self, message: &MessageDescriptor) -> String {
        let raw = message.descriptor_proto();
        let mut blocks: Vec<String> = Vec::new();
        let reserved = self.reserved(
            raw.reserved_range
                .iter()
                .map(|r| (r.start(), r.end().saturating_sub(1))),
            &raw.reserved_name,
            MAX_FIELD_NUMBER as i32,
        );
        blocks.push(reserved);
        blocks.push(option_statements(&options_of(
            &message.options(),
            self.normalize,
        )));
        // Nested messages a map or group field creates are written as that
        // field; the others keep their place relative to those fields.
        let inline: Vec<MessageDescriptor> = message
            .fields()
            .filter(|f| f.is_map() || f.is_group())
            .filter_map(|f| match f.kind() {
                Kind::Message(m) => Some(m),
                _ => None,
            })
            .collect();
        let nested: Vec<MessageDescriptor> = message.child_messages().collect();
        let mut written = vec![false; nested.len()];
        for (i, m) in nested.iter().enumerate() {
            if inline.contains(m) {
                written[i] = true;
            }
        }
        // Fields in declaration order, a oneof at its first field; or,
        // normalized, by number with the oneofs after them (by their first
        // field's number).
        let mut items: Vec<Item> = Vec::new();
        if self.normalize {
            let mut plain: Vec<FieldDescriptor> = message
                .fields()
                .filter(|f| real_oneof(f).is_none())
                .collect();
            plain.sort_by_key(FieldDescriptor::number);
            items.extend(plain.into_iter().map(Item::Field));
            let mut oneofs: Vec<OneofDescriptor> = message
                .oneofs()
                .filter(|o| !o.is_synthetic() && o.fields().len() > 0)
                .collect();
            oneofs.sort_by_key(|o| o.fields().map(|f| f.number()).min());
            items.extend(oneofs.into_iter().map(Item::Oneof));
        } else {
            for f in message.fields() {
                match real_oneof(&f) {
                    Some(o) if items.iter().any(|i| matches!(i, Item::Oneof(x) if *x == o)) => {}
                    Some(o) => items.push(Item::Oneof(o)),
                    None => items.push(Item::Field(f)),
                }
            }
        }
        let mut fields = String::new();
        for item in items {
            match item {
                Item::Field(f) => {
                    // The nested messages declared before the one this map
                    // or group field creates come first, so nested-type
                    // order (and message indexes) is kept.
                    if let Some(at) = nested.iter().position(|m| {
                        (f.is_map() || f.is_group()) && Some(m) == field_message(&f).as_ref()
                    }) {
                        for i in 0..at {
                            if !written[i] {
                                written[i] = true;
                                fields.push_str(&self.message(&nested[i]));
                            }
                        }
                    }
                    fields.push_str(&self.field(&f, false));
                }
                Item::Oneof(o) => fields.push_str(&self.oneof(&o)),
            }
        }
        blocks.push(fields);
        let extensions: String = raw
            .extension_range
            .iter()
            .map(|r| {
                format!(
                    "extensions {};\n",
                    range_text(
                        r.start(),
                        r.end().saturating_sub(1),
                        MAX_FIELD_NUMBER as i32
                    )
                )
            })
            .collect();
        blocks.push(extensions);
        let mut types = String::new();
        for (i, m) in nested.iter().enumerate() {
            if !written[i] {
                types.push_str(&self.message(m));
            }
        }
        for e in message.child_enums() {
            types.push_str(&self.enumeration(&e));
        }
        blocks.push(types);
        blocks.push(self.extends(message.child_extensions()));
        blocks
            .into_iter()
            .filter(|b| !b.is_empty())
            .map(|b| format!("\n{}", indent(&b)))
            .collect()
    }

    fn oneof(&self, oneof: &OneofDescriptor) -> String {
        let mut body = option_statements(&options_of(&oneof.options(), self.normalize));
        let mut fields: Vec<FieldDescriptor> = oneof.fields().collect();
        if self.normalize {
            fields.sort_by_key(FieldDescriptor::number);
        }
        for f in &fields {
            body.push_str(&self.field(f, true));
        }
        format!("oneof {} {{\n{}}}\n", oneof.name(), indent(&body))
    }

    /// A field (or an extension's field) line; a group with its body.
    fn field(&self, field: &FieldDescriptor, in_oneof: bool) -> String {
        self.field_line(
            field.field_descriptor_proto(),
            &field.kind(),
            field.is_map(),
            field.is_group(),
            options_of(&field.options(), self.normalize),
            in_oneof,
        )
    }

    fn extension(&self, ext: &ExtensionDescriptor) -> String {
        self.field_line(
            ext.field_descriptor_proto(),
            &ext.kind(),
            false,
            ext.is_group(),
            options_of(&ext.options(), self.normalize),
            false,
        )
    }

    fn field_line(
        &self,
        raw: &FieldDescriptorProto,
        kind: &Kind,
        is_map: bool,
        is_group: bool,
        mut options: Vec<Opt>,
        in_oneof: bool,
    ) -> String {
        let name = raw.name();
        if let Some(default) = &raw.default_value {
            options.push(Opt::new(
                "default",
                format!("default = {}", default_text(kind, default)),
            ));
        }
        if let Some(json) = &raw.json_name {
            if *json != default_json_name(name) {
                options.push(Opt::new(
                    "json_name",
                    format!("json_name = {}", quote(json)),
                ));
            }
        }
        if self.normalize {
            options.sort_by(|a, b| a.key.cmp(&b.key));
        }
        let label = if is_map || in_oneof {
            None
        } else {
            self.label(raw)
        };
        let label = label.map(|l| format!("{l} ")).unwrap_or_default();
        let options = bracketed(&options);
        if is_group {
            let Kind::Message(group) = kind else {
                return String::new();
            };
            return format!(
                "{label}group {} = {}{options} {{{}}}\n",
                group.name(),
                raw.number(),
                self.message_body(group)
            );
        }
        let ty = if is_map {
            map_type(kind)
        } else {
            type_name(kind)
        };
        format!("{label}{ty} {name} = {}{options};\n", raw.number())
    }

    fn label(&self, raw: &FieldDescriptorProto) -> Option<&'static str> {
        if raw.proto3_optional() {
            return Some("optional");
        }
        match raw.label() {
            Label::Repeated => Some("repeated"),
            Label::Required if !self.proto3 => Some("required"),
            Label::Optional if !self.proto3 => Some("optional"),
            _ => None,
        }
    }

    fn enumeration(&self, e: &EnumDescriptor) -> String {
        let raw = e.enum_descriptor_proto();
        let mut body = self.reserved(
            raw.reserved_range.iter().map(|r| (r.start(), r.end())),
            &raw.reserved_name,
            i32::MAX,
        );
        body.push_str(&option_statements(&options_of(
            &e.options(),
            self.normalize,
        )));
        // Declaration order (`values()` is by number).
        let mut values: Vec<(&str, i32)> =
            raw.value.iter().map(|v| (v.name(), v.number())).collect();
        if self.normalize {
            values.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
        }
        for (name, number) in values {
            let options = e
                .get_value_by_name(name)
                .map(|v| bracketed(&options_of(&v.options(), self.normalize)))
                .unwrap_or_default();
            body.push_str(&format!("{name} = {number}{options};\n"));
        }
        if body.is_empty() {
            return format!("enum {} {{}}\n", e.name());
        }
        format!("enum {} {{\n{}}}\n", e.name(), indent(&body))
    }

    /// `reserved` lines: inclusive ranges then names, each on its own line;
    /// sorted when normalizing (ranges by start, then names).
    fn reserved(
        &self,
        ranges: impl Iterator<Item = (i32, i32)>,
        names: &[String],
        max: i32,
    ) -> String {
        let mut ranges: Vec<(i32, i32)> = ranges.collect();
        let mut names: Vec<&String> = names.iter().collect();
        if self.normalize {
            ranges.sort();
            names.sort();
        }
        let ranges = ranges
            .into_iter()
            .map(|(start, end)| format!("reserved {};\n", range_text(start, end, max)));
        let names = names
            .into_iter()
            .map(|n| format!("reserved {};\n", quote(n)));
        ranges.chain(names).collect()
    }

    /// `extend` blocks, one per run of extensions of the same message (so
    /// their order is kept).
    fn extends(&self, extensions: impl Iterator<Item = ExtensionDescriptor>) -> String {
        let mut out = String::new();
        let mut run: Option<(String, String)> = None;
        for ext in extensions {
            let extendee = ext.containing_message().full_name().to_owned();
            let line = self.extension(&ext);
            match &mut run {
                Some((name, body)) if *name == extendee => body.push_str(&line),
                _ => {
                    if let Some((name, body)) = run.take() {
                        out.push_str(&format!("extend .{name} {{\n{}}}\n", indent(&body)));
                    }
                    run = Some((extendee, line));
                }
            }
        }
        if let Some((name, body)) = run {
            out.push_str(&format!("extend .{name} {{\n{}}}\n", indent(&body)));
        }
        out
    }

    fn service(&self, service: &ServiceDescriptor) -> String {
        let mut body = option_statements(&options_of(&service.options(), self.normalize));
        for m in service.methods() {
            let stream = |yes: bool| if yes { "stream " } else { "" };
            let options = options_of(&m.options(), self.normalize);
            let tail = if options.is_empty() {
                ";".to_owned()
            } else {
                format!(" {{\n{}}}", indent(&option_statements(&options)))
            };
            body.push_str(&format!(
                "rpc {} ({}.{}) returns ({}.{}){tail}\n",
                m.name(),
                stream(m.is_client_streaming()),
                m.input().full_name(),
                stream(m.is_server_streaming()),
                m.output().full_name(),
            ));
        }
        if body.is_empty() {
            return format!("service {} {{}}\n", service.name());
        }
        format!("service {} {{\n{}}}\n", service.name(), indent(&body))
    }
}

/// A message body's field-level declaration.
enum Item {
    Field(FieldDescriptor),
    Oneof(OneofDescriptor),
}

/// The oneof a field belongs to, unless it is proto3 `optional`'s
/// synthetic one.
fn real_oneof(field: &FieldDescriptor) -> Option<OneofDescriptor> {
    field.containing_oneof().filter(|o| !o.is_synthetic())
}

fn field_message(field: &FieldDescriptor) -> Option<MessageDescriptor> {
    match field.kind() {
        Kind::Message(m) => Some(m),
        _ => None,
    }
}
