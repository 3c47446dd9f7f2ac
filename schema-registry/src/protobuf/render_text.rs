//! The pieces of `.proto` text [`super::render`] assembles: options and
//! option values in the layout of Confluent's `ProtobufSchemaUtils`
//! (`toOptionString`, `appendOptions`, `formatOptionMap`: message values as
//! `{ key: value, ... }` one entry a line, lists as `[ ... ]`, custom
//! options by their full name in parentheses; normalizing sorts options by
//! name and message keys alphabetically), literals, type names and ranges.

use prost_reflect::{DynamicMessage, Kind, MapKey, Value};

/// One option: its sort name (Confluent sorts by the option's name, custom
/// options without their parentheses) and its `name = value` text, which
/// may span lines.
pub(super) struct Opt {
    pub(super) key: String,
    pub(super) text: String,
}

impl Opt {
    pub(super) fn new(key: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            text: text.into(),
        }
    }
}

/// Options the layout writes in another form (`map_entry` as `map<K, V>`)
/// or that protoc keeps to itself.
const NOT_WRITTEN: [&str; 3] = ["uninterpreted_option", "map_entry", "features"];

/// The options an `*Options` message holds: its set fields by name, then
/// its extensions as `(.full.name)`; a repeated value is one option per
/// element, as Confluent writes them.
pub(super) fn options_of(options: &DynamicMessage, normalize: bool) -> Vec<Opt> {
    let mut out = Vec::new();
    for (field, value) in options.fields() {
        if NOT_WRITTEN.contains(&field.name()) {
            continue;
        }
        for v in elements(value) {
            let text = format!(
                "{} = {}",
                field.name(),
                value_text(&field.kind(), v, normalize)
            );
            out.push(Opt::new(field.name(), text));
        }
    }
    for (ext, value) in options.extensions() {
        for v in elements(value) {
            let text = format!(
                "(.{}) = {}",
                ext.full_name(),
                value_text(&ext.kind(), v, normalize)
            );
            out.push(Opt::new(ext.full_name(), text));
        }
    }
    if normalize {
        out.sort_by(|a, b| a.key.cmp(&b.key));
    }
    out
}

fn elements(value: &Value) -> Vec<&Value> {
    match value {
        Value::List(items) => items.iter().collect(),
        v => vec![v],
    }
}

/// `option name = value;` lines for a block.
pub(super) fn option_statements(options: &[Opt]) -> String {
    options
        .iter()
        .map(|o| format!("option {};\n", o.text))
        .collect()
}

/// A field's or enum value's `[a = 1]`, or one option a line when there
/// are several; empty without options.
pub(super) fn bracketed(options: &[Opt]) -> String {
    match options {
        [] => String::new(),
        [one] => format!(" [{}]", one.text),
        many => {
            let mut s = String::from(" [\n");
            for (i, o) in many.iter().enumerate() {
                let sep = if i + 1 < many.len() { "," } else { "" };
                s.push_str(&indent(&format!("{}{sep}", o.text)));
            }
            s.push(']');
            s
        }
    }
}

/// Two more spaces before every line of `text`, each line ending in `\n`.
pub(super) fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// A value of `kind` in protobuf text format.
fn value_text(kind: &Kind, value: &Value, normalize: bool) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(f) => float_text(f64::from(*f), f.to_string()),
        Value::F64(f) => float_text(*f, f.to_string()),
        Value::String(s) => quote(s),
        Value::Bytes(b) => quote_bytes(b),
        Value::EnumNumber(n) => match kind {
            Kind::Enum(e) => e
                .get_value(*n)
                .map_or_else(|| n.to_string(), |v| v.name().to_owned()),
            _ => n.to_string(),
        },
        Value::Message(m) => message_text(m, normalize),
        Value::List(items) => list_text(kind, items.iter(), normalize),
        Value::Map(map) => {
            let Kind::Message(entry) = kind else {
                return "{}".to_owned();
            };
            let (Some(key_field), Some(value_field)) = (entry.get_field(1), entry.get_field(2))
            else {
                return "{}".to_owned();
            };
            let mut keys: Vec<&MapKey> = map.keys().collect();
            keys.sort();
            let entries: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    let key = value_text(&key_field.kind(), &map_key_value(k), normalize);
                    let value = value_text(&value_field.kind(), &map[k], normalize);
                    format!(
                        "{{\n  key: {key},\n{}}}",
                        indent(&format!("value: {value}"))
                    )
                })
                .collect();
            bracket_lines(entries)
        }
    }
}

fn map_key_value(k: &MapKey) -> Value {
    match k {
        MapKey::Bool(b) => Value::Bool(*b),
        MapKey::I32(n) => Value::I32(*n),
        MapKey::I64(n) => Value::I64(*n),
        MapKey::U32(n) => Value::U32(*n),
        MapKey::U64(n) => Value::U64(*n),
        MapKey::String(s) => Value::String(s.clone()),
    }
}

fn float_text(f: f64, display: String) -> String {
    if f.is_nan() {
        "nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        display
    }
}

fn list_text<'v>(kind: &Kind, items: impl Iterator<Item = &'v Value>, normalize: bool) -> String {
    bracket_lines(items.map(|v| value_text(kind, v, normalize)).collect())
}

/// `[`, one element a line separated by commas, `]`.
fn bracket_lines(items: Vec<String>) -> String {
    let mut s = String::from("[\n");
    let n = items.len();
    for (i, item) in items.into_iter().enumerate() {
        let sep = if i + 1 < n { "," } else { "" };
        s.push_str(&indent(&format!("{item}{sep}")));
    }
    s.push(']');
    s
}

/// A message value as `{ key: value, ... }`, fields in field order (sorted
/// by name when normalizing), extensions as `[full.name]`.
fn message_text(message: &DynamicMessage, normalize: bool) -> String {
    let mut entries: Vec<(String, String)> = Vec::new();
    for (field, value) in message.fields() {
        let name = if field.is_group() {
            match field.kind() {
                Kind::Message(m) => m.name().to_owned(),
                _ => field.name().to_owned(),
            }
        } else {
            field.name().to_owned()
        };
        entries.push((name, value_text(&field.kind(), value, normalize)));
    }
    for (ext, value) in message.extensions() {
        let name = format!("[{}]", ext.full_name());
        entries.push((name, value_text(&ext.kind(), value, normalize)));
    }
    if normalize {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let mut s = String::from("{\n");
    let n = entries.len();
    for (i, (k, v)) in entries.into_iter().enumerate() {
        let sep = if i + 1 < n { "," } else { "" };
        s.push_str(&indent(&format!("{k}: {v}{sep}")));
    }
    s.push('}');
    s
}

/// A string literal with Confluent's escapes (`escapeChars`), other
/// control characters in octal.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bytes literal: printable ASCII as is, everything else in octal.
fn quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}

/// `n`, `a to b`, or `a to max`.
pub(super) fn range_text(start: i32, end: i32, max: i32) -> String {
    if start == end {
        start.to_string()
    } else if end == max {
        format!("{start} to max")
    } else {
        format!("{start} to {end}")
    }
}

/// A scalar's keyword, or a message or enum's full name with a leading dot.
pub(super) fn type_name(kind: &Kind) -> String {
    match kind {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => format!(".{}", m.full_name()),
        Kind::Enum(e) => format!(".{}", e.full_name()),
    }
}

/// `map<K, V>` from a map field's entry message.
pub(super) fn map_type(kind: &Kind) -> String {
    let Kind::Message(entry) = kind else {
        return type_name(kind);
    };
    match (entry.get_field(1), entry.get_field(2)) {
        (Some(k), Some(v)) => format!("map<{}, {}>", type_name(&k.kind()), type_name(&v.kind())),
        _ => type_name(kind),
    }
}

/// A proto2 default as written in `[default = ...]`: the descriptor holds
/// strings unescaped and bytes C-escaped.
pub(super) fn default_text(kind: &Kind, default: &str) -> String {
    match kind {
        Kind::String => quote(default),
        Kind::Bytes => format!("\"{default}\""),
        _ => default.to_owned(),
    }
}

/// The JSON name protoc derives: underscores dropped, the letter after one
/// upper-cased.
pub(super) fn default_json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
