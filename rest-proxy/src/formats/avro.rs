//! Avro values between Avro's JSON encoding and Avro binary, as Confluent's
//! REST Proxy converts them: produce reads JSON the way Java's `JsonDecoder`
//! does (`AvroSchemaUtils.toObject`), consume writes it the way
//! `JsonEncoder` does (`AvroSchemaUtils.toJson`).
//!
//! The JSON encoding (Avro specification, "JSON Encoding"):
//!
//! - a union value is `null` or `{"<branch>": value}`, the branch named by
//!   its full name (records, enums, fixed) or its type name (`"string"`,
//!   `"long"`, `"array"`, ...; a logical type goes by its underlying type);
//! - `bytes` and `fixed` are strings whose code points are the bytes
//!   (ISO-8859-1; a code point above U+00FF becomes `?`, as in Java);
//! - records are objects, every field present (no defaults are filled in;
//!   fields may come in any order; unknown fields are ignored);
//! - `int` and `long` take any JSON number (a fraction is truncated, as
//!   Jackson's `getIntValue` does), `float` and `double` also the strings
//!   `"NaN"`, `"Infinity"` and `"-Infinity"`;
//! - logical types are their underlying types (a `date` is an `int`, a
//!   `decimal` its two's-complement bytes).
//!
//! The schema is compiled once into a flat program ([`Codec`]), as the
//! Schema Registry's validator does, so encoding walks no names.

use std::collections::HashMap;

use apache_avro::schema::{
    InnerDecimalSchema, Name, NamespaceRef, RecordSchema, ResolvedSchema, UuidSchema,
};
use apache_avro::Schema;
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is refused (binary input could otherwise
/// recurse through a recursive schema until the stack runs out).
const MAX_DEPTH: usize = 256;

/// One step of a compiled schema; children are indexes into [`Codec::nodes`].
#[derive(Debug)]
enum Node {
    Null,
    Boolean,
    /// `int` and the int-based logical types.
    Int,
    /// `long` and the long-based logical types.
    Long,
    Float,
    Double,
    /// `bytes` and the bytes-based logical types.
    Bytes,
    /// `string` and `uuid` on a string.
    String,
    /// `fixed` and the fixed-based logical types.
    Fixed(usize),
    Enum(Vec<String>),
    Array(usize),
    Map(usize),
    Union(Vec<(String, usize)>),
    Record(Vec<(String, usize)>),
    /// A schema no value can be written with (an unknown name).
    Fail(String),
}

/// A compiled Avro schema.
#[derive(Debug)]
pub(crate) struct Codec {
    nodes: Vec<Node>,
    root: usize,
}

struct Compiler<'s> {
    names: HashMap<Name, &'s Schema>,
    named: HashMap<Name, usize>,
    nodes: Vec<Node>,
}

impl Codec {
    /// Compiles `schema`, whose named types may come from `references`.
    pub(crate) fn compile(schema: &Schema, references: &[Schema]) -> Result<Codec, String> {
        let mut schemata: Vec<&Schema> = references.iter().collect();
        schemata.push(schema);
        let names = ResolvedSchema::new_with_schemata(schemata)
            .map_err(|e| e.to_string())?
            .get_names()
            .clone();
        let mut compiler = Compiler {
            names,
            named: HashMap::new(),
            nodes: Vec::new(),
        };
        let root = compiler.compile(schema, None);
        Ok(Codec {
            nodes: compiler.nodes,
            root,
        })
    }

    /// Avro binary for `value` given in Avro's JSON encoding; the error is
    /// the reason, worded as Java's `AvroTypeException`s are.
    pub(crate) fn encode(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
        self.write(self.root, value, out, 0)
    }

    /// The JSON encoding of Avro binary `bytes` (all of them). A union at
    /// the top is shown as its branch's value without the wrapping object,
    /// as Confluent's consumer shows a deserialized object (whose schema is
    /// the branch's, not the union's).
    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<Value, String> {
        let mut reader = Reader { bytes, at: 0 };
        let root = match &self.nodes[self.root] {
            Node::Union(variants) => {
                let index = reader.long()?;
                usize::try_from(index)
                    .ok()
                    .and_then(|i| variants.get(i))
                    .map(|(_, node)| *node)
                    .ok_or_else(|| format!("union index {index} out of range"))?
            }
            _ => self.root,
        };
        let value = self.read(root, &mut reader, 0)?;
        if reader.at != bytes.len() {
            return Err(format!(
                "{} bytes left after the datum",
                bytes.len() - reader.at
            ));
        }
        Ok(value)
    }

    fn write(
        &self,
        node: usize,
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("value nested deeper than {MAX_DEPTH} levels"));
        }
        match &self.nodes[node] {
            Node::Null => match value {
                Value::Null => Ok(()),
                other => Err(expected("null", other)),
            },
            Node::Boolean => match value {
                Value::Bool(b) => {
                    out.push(u8::from(*b));
                    Ok(())
                }
                other => Err(expected("boolean", other)),
            },
            Node::Int => {
                let n = integer(value, "int", i64::from(i32::MIN), i64::from(i32::MAX))?;
                write_long(n, out);
                Ok(())
            }
            Node::Long => {
                let n = integer(value, "long", i64::MIN, i64::MAX)?;
                write_long(n, out);
                Ok(())
            }
            Node::Float => {
                let f = floating(value, "float")? as f32;
                out.extend_from_slice(&f.to_le_bytes());
                Ok(())
            }
            Node::Double => {
                let f = floating(value, "double")?;
                out.extend_from_slice(&f.to_le_bytes());
                Ok(())
            }
            Node::Bytes => match value {
                Value::String(s) => {
                    let bytes = latin1(s);
                    write_long(bytes.len() as i64, out);
                    out.extend_from_slice(&bytes);
                    Ok(())
                }
                other => Err(expected("bytes", other)),
            },
            Node::String => match value {
                Value::String(s) => {
                    write_long(s.len() as i64, out);
                    out.extend_from_slice(s.as_bytes());
                    Ok(())
                }
                other => Err(expected("string", other)),
            },
            Node::Fixed(size) => match value {
                Value::String(s) => {
                    let bytes = latin1(s);
                    if bytes.len() != *size {
                        return Err(format!(
                            "Expected fixed length {size}, but got{}",
                            bytes.len()
                        ));
                    }
                    out.extend_from_slice(&bytes);
                    Ok(())
                }
                other => Err(expected("fixed", other)),
            },
            Node::Enum(symbols) => match value {
                Value::String(s) => match symbols.iter().position(|x| x == s) {
                    Some(i) => {
                        write_long(i as i64, out);
                        Ok(())
                    }
                    None => Err(format!("Unknown symbol in enum {s}")),
                },
                other => Err(expected("enum", other)),
            },
            Node::Array(items) => match value {
                Value::Array(values) => {
                    if !values.is_empty() {
                        write_long(values.len() as i64, out);
                        for v in values {
                            self.write(*items, v, out, depth + 1)?;
                        }
                    }
                    out.push(0);
                    Ok(())
                }
                other => Err(expected("array-start", other)),
            },
            Node::Map(values) => match value {
                Value::Object(entries) => {
                    if !entries.is_empty() {
                        write_long(entries.len() as i64, out);
                        for (k, v) in entries {
                            write_long(k.len() as i64, out);
                            out.extend_from_slice(k.as_bytes());
                            self.write(*values, v, out, depth + 1)?;
                        }
                    }
                    out.push(0);
                    Ok(())
                }
                other => Err(expected("map-start", other)),
            },
            Node::Union(variants) => {
                let (label, inner) = match value {
                    Value::Null => ("null", &Value::Null),
                    Value::Object(o) if o.len() == 1 => {
                        let (k, v) = o.iter().next().expect("one entry");
                        (k.as_str(), v)
                    }
                    Value::Object(o) if o.is_empty() => {
                        return Err("Expected start-union. Got END_OBJECT".into())
                    }
                    Value::Object(_) => return Err("Expected union-end. Got FIELD_NAME".into()),
                    other => return Err(expected("start-union", other)),
                };
                let (index, node) = variants
                    .iter()
                    .enumerate()
                    .find(|(_, (l, _))| l == label)
                    .map(|(i, (_, n))| (i, *n))
                    .ok_or_else(|| format!("Unknown union branch {label}"))?;
                write_long(index as i64, out);
                self.write(node, inner, out, depth + 1)
            }
            Node::Record(fields) => match value {
                Value::Object(o) => {
                    for (name, node) in fields {
                        let v = o
                            .get(name)
                            .ok_or_else(|| format!("Expected field name not found: {name}"))?;
                        self.write(*node, v, out, depth + 1)?;
                    }
                    Ok(())
                }
                other => Err(expected("record-start", other)),
            },
            Node::Fail(why) => Err(why.clone()),
        }
    }

    fn read(&self, node: usize, r: &mut Reader<'_>, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("datum nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(match &self.nodes[node] {
            Node::Null => Value::Null,
            Node::Boolean => match r.take(1)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(format!("invalid boolean byte {b}")),
            },
            Node::Int => {
                let n = r.long()?;
                i32::try_from(n).map_err(|_| format!("int {n} out of range"))?;
                Value::from(n)
            }
            Node::Long => Value::from(r.long()?),
            Node::Float => {
                let b = r.take(4)?;
                let f = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                // Shortest text of the float, as Java's Float.toString.
                float_json(f.to_string().parse::<f64>().unwrap_or(f64::from(f)))
            }
            Node::Double => {
                let b = r.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                float_json(f64::from_le_bytes(a))
            }
            Node::Bytes => Value::String(from_latin1(r.bytes()?)),
            Node::String => {
                let b = r.bytes()?;
                Value::String(
                    std::str::from_utf8(b)
                        .map_err(|e| format!("string is not UTF-8: {e}"))?
                        .to_owned(),
                )
            }
            Node::Fixed(size) => Value::String(from_latin1(r.take(*size)?)),
            Node::Enum(symbols) => {
                let i = r.long()?;
                let symbol = usize::try_from(i)
                    .ok()
                    .and_then(|i| symbols.get(i))
                    .ok_or_else(|| format!("enum index {i} out of range"))?;
                Value::String(symbol.clone())
            }
            Node::Array(items) => {
                let mut values = Vec::new();
                loop {
                    let count = r.block_len()?;
                    if count == 0 {
                        break;
                    }
                    for _ in 0..count {
                        values.push(self.read(*items, r, depth + 1)?);
                    }
                }
                Value::Array(values)
            }
            Node::Map(node) => {
                let mut entries = Map::new();
                loop {
                    let count = r.block_len()?;
                    if count == 0 {
                        break;
                    }
                    for _ in 0..count {
                        let key = std::str::from_utf8(r.bytes()?)
                            .map_err(|e| format!("map key is not UTF-8: {e}"))?
                            .to_owned();
                        let value = self.read(*node, r, depth + 1)?;
                        entries.insert(key, value);
                    }
                }
                Value::Object(entries)
            }
            Node::Union(variants) => {
                let index = r.long()?;
                let (label, node) = usize::try_from(index)
                    .ok()
                    .and_then(|i| variants.get(i))
                    .ok_or_else(|| format!("union index {index} out of range"))?;
                let value = self.read(*node, r, depth + 1)?;
                if matches!(self.nodes[*node], Node::Null) {
                    Value::Null
                } else {
                    let mut wrapped = Map::new();
                    wrapped.insert(label.clone(), value);
                    Value::Object(wrapped)
                }
            }
            Node::Record(fields) => {
                let mut out = Map::new();
                for (name, node) in fields {
                    let value = self.read(*node, r, depth + 1)?;
                    out.insert(name.clone(), value);
                }
                Value::Object(out)
            }
            Node::Fail(why) => return Err(why.clone()),
        })
    }
}

/// Java's `AvroTypeException` for a JSON token of the wrong kind.
fn expected(what: &str, got: &Value) -> String {
    let token = match got {
        Value::Null => "VALUE_NULL",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Number(n) if n.is_f64() => "VALUE_NUMBER_FLOAT",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    };
    format!("Expected {what}. Got {token}")
}

/// A JSON number as an integer in `[min, max]`: fractions truncate, as
/// Jackson converts a float token for `getIntValue`/`getLongValue`.
fn integer(value: &Value, what: &str, min: i64, max: i64) -> Result<i64, String> {
    let Value::Number(n) = value else {
        return Err(expected(what, value));
    };
    let out_of_range = || format!("Numeric value ({n}) out of range of {what}");
    if let Some(i) = n.as_i64() {
        return if (min..=max).contains(&i) {
            Ok(i)
        } else {
            Err(out_of_range())
        };
    }
    if n.is_u64() {
        return Err(out_of_range());
    }
    let f = n.as_f64().ok_or_else(out_of_range)?;
    if f.is_nan() || f < min as f64 || f > max as f64 {
        return Err(out_of_range());
    }
    Ok(f.trunc() as i64)
}

fn floating(value: &Value, what: &str) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| expected(what, value)),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(expected(what, value)),
        },
        other => Err(expected(what, other)),
    }
}

/// A float as JSON: non-finite values as the strings Jackson writes.
fn float_json(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

/// The ISO-8859-1 bytes of `s` (`?` for code points above U+00FF, as
/// Java's `String.getBytes`).
fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

fn from_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Zigzag varint, Avro's `int` and `long`.
fn write_long(n: i64, out: &mut Vec<u8>) {
    let mut u = ((n << 1) ^ (n >> 63)) as u64;
    while u >= 0x80 {
        out.push((u as u8) | 0x80);
        u >>= 7;
    }
    out.push(u as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or("datum is truncated")?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn long(&mut self) -> Result<i64, String> {
        let mut u = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            u |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(((u >> 1) as i64) ^ -((u & 1) as i64));
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.long()?;
        let n = usize::try_from(n).map_err(|_| format!("negative length {n}"))?;
        self.take(n)
    }

    /// A block's item count (a negative count is followed by the block's
    /// size in bytes, which is skipped). Refuses counts the bytes left
    /// cannot hold, so nothing is allocated by a claimed length.
    fn block_len(&mut self) -> Result<usize, String> {
        let n = self.long()?;
        let n = if n < 0 {
            self.long()?;
            n.checked_neg().ok_or("block count out of range")?
        } else {
            n
        };
        let n = usize::try_from(n).map_err(|_| "block count out of range".to_string())?;
        if n > self.bytes.len() - self.at + 1 {
            return Err(format!("block of {n} items is longer than the datum"));
        }
        Ok(n)
    }
}

/// The label Java's JSON grammar gives a union branch.
fn label(schema: &Schema, namespace: NamespaceRef<'_>) -> String {
    let full = |name: &Name| name.fully_qualified_name(namespace).fullname(None);
    match schema {
        Schema::Null => "null".into(),
        Schema::Boolean => "boolean".into(),
        Schema::Int | Schema::Date | Schema::TimeMillis => "int".into(),
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => "long".into(),
        Schema::Float => "float".into(),
        Schema::Double => "double".into(),
        Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => "bytes".into(),
        Schema::String | Schema::Uuid(UuidSchema::String) => "string".into(),
        Schema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Bytes => "bytes".into(),
            InnerDecimalSchema::Fixed(f) => full(&f.name),
        },
        Schema::Uuid(UuidSchema::Fixed(f)) | Schema::Duration(f) | Schema::Fixed(f) => {
            full(&f.name)
        }
        Schema::Array(_) => "array".into(),
        Schema::Map(_) => "map".into(),
        Schema::Union(_) => "union".into(),
        Schema::Record(r) => full(&r.name),
        Schema::Enum(e) => full(&e.name),
        Schema::Ref { name } => full(name),
    }
}

impl<'s> Compiler<'s> {
    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn compile(&mut self, schema: &'s Schema, namespace: NamespaceRef<'_>) -> usize {
        let node = match schema {
            Schema::Null => Node::Null,
            Schema::Boolean => Node::Boolean,
            Schema::Int | Schema::Date | Schema::TimeMillis => Node::Int,
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => Node::Long,
            Schema::Float => Node::Float,
            Schema::Double => Node::Double,
            Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => Node::Bytes,
            Schema::String | Schema::Uuid(UuidSchema::String) => Node::String,
            Schema::Decimal(d) => match &d.inner {
                InnerDecimalSchema::Bytes => Node::Bytes,
                InnerDecimalSchema::Fixed(f) => Node::Fixed(f.size),
            },
            Schema::Uuid(UuidSchema::Fixed(f)) | Schema::Duration(f) | Schema::Fixed(f) => {
                Node::Fixed(f.size)
            }
            Schema::Enum(e) => Node::Enum(e.symbols.clone()),
            Schema::Array(a) => {
                let at = self.push(Node::Null);
                let items = self.compile(&a.items, namespace);
                self.nodes[at] = Node::Array(items);
                return at;
            }
            Schema::Map(m) => {
                let at = self.push(Node::Null);
                let values = self.compile(&m.types, namespace);
                self.nodes[at] = Node::Map(values);
                return at;
            }
            Schema::Union(u) => {
                let at = self.push(Node::Null);
                let variants = u
                    .variants()
                    .iter()
                    .map(|v| (label(v, namespace), self.compile(v, namespace)))
                    .collect();
                self.nodes[at] = Node::Union(variants);
                return at;
            }
            Schema::Record(r) => return self.record(r, namespace),
            Schema::Ref { name } => {
                let full = name.fully_qualified_name(namespace).into_owned();
                if let Some(&at) = self.named.get(&full) {
                    return at;
                }
                match self.names.get(&full).copied() {
                    Some(target) => return self.compile(target, full.namespace()),
                    None => Node::Fail(format!("unknown named type {}", full.fullname(None))),
                }
            }
        };
        self.push(node)
    }

    fn record(&mut self, r: &'s RecordSchema, namespace: NamespaceRef<'_>) -> usize {
        let full = r.name.fully_qualified_name(namespace).into_owned();
        if let Some(&at) = self.named.get(&full) {
            return at;
        }
        // Registered before its fields, so recursive references find it.
        let at = self.push(Node::Null);
        self.named.insert(full.clone(), at);
        let fields = r
            .fields
            .iter()
            .map(|f| (f.name.clone(), self.compile(&f.schema, full.namespace())))
            .collect();
        self.nodes[at] = Node::Record(fields);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codec(text: &str) -> Codec {
        let schema = Schema::parse_str(text).unwrap();
        Codec::compile(&schema, &[]).unwrap()
    }

    fn encode(c: &Codec, v: Value) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        c.encode(&v, &mut out).map(|()| out)
    }

    #[test]
    fn records_unions_and_collections_match_apache_avro() {
        let text = r#"{"type":"record","name":"User","namespace":"com.example","fields":[
            {"name":"name","type":"string"},
            {"name":"age","type":"int"},
            {"name":"email","type":["null","string"]},
            {"name":"tags","type":{"type":"array","items":"string"}},
            {"name":"attrs","type":{"type":"map","values":"long"}},
            {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},
            {"name":"raw","type":"bytes"},
            {"name":"hash","type":{"type":"fixed","name":"Hash","size":2}},
            {"name":"score","type":"double"},
            {"name":"next","type":["null","User"]}
        ]}"#;
        let c = codec(text);
        let input = json!({
            "name": "ann", "age": 30, "email": {"string": "a@x"}, "tags": ["t1", "t2"],
            "attrs": {"k": 5}, "kind": "B", "raw": "\u{00ff}\u{0001}", "hash": "ab",
            "score": 1.5,
            "next": {"com.example.User": {"name": "bob", "age": -1, "email": null, "tags": [],
                "attrs": {}, "kind": "A", "raw": "", "hash": "zz", "score": 0, "next": null}}
        });
        let bytes = encode(&c, input.clone()).unwrap();

        // apache-avro reads what we wrote back as the same values.
        let schema = Schema::parse_str(text).unwrap();
        let read = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
            .build()
            .unwrap()
            .read_value(&mut &bytes[..])
            .unwrap();
        let apache_avro::types::Value::Record(fields) = read else {
            panic!("not a record")
        };
        assert_eq!(fields[0].1, apache_avro::types::Value::String("ann".into()));
        assert_eq!(fields[1].1, apache_avro::types::Value::Int(30));
        assert_eq!(
            fields[6].1,
            apache_avro::types::Value::Bytes(vec![0xff, 0x01])
        );

        // And decoding gives the JSON encoding back (score 0 reads as 0.0).
        let mut expected = input;
        expected["next"]["com.example.User"]["score"] = json!(0.0);
        assert_eq!(c.decode(&bytes).unwrap(), expected);
    }

    #[test]
    fn errors_are_worded_as_java_json_decoder() {
        let c = codec(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"u","type":["null","string"]}]}"#,
        );
        assert_eq!(
            encode(&c, json!({"u": null})).unwrap_err(),
            "Expected field name not found: a"
        );
        assert_eq!(
            encode(&c, json!({"a": "x", "u": null})).unwrap_err(),
            "Expected int. Got VALUE_STRING"
        );
        assert_eq!(
            encode(&c, json!({"a": 1, "u": "plain"})).unwrap_err(),
            "Expected start-union. Got VALUE_STRING"
        );
        assert_eq!(
            encode(&c, json!({"a": 1, "u": {"int": 1}})).unwrap_err(),
            "Unknown union branch int"
        );
        assert_eq!(
            encode(&c, json!({"a": 3_000_000_000i64, "u": null})).unwrap_err(),
            "Numeric value (3000000000) out of range of int"
        );
        assert_eq!(
            encode(&c, json!([1])).unwrap_err(),
            "Expected record-start. Got START_ARRAY"
        );
        // Unknown fields are ignored; fractions truncate.
        assert_eq!(
            encode(&c, json!({"a": 2.9, "u": null, "x": 1})).unwrap(),
            vec![4, 0]
        );
    }

    #[test]
    fn top_level_union_decodes_to_the_branch_value() {
        let c = codec(r#"["null","string"]"#);
        let bytes = encode(&c, json!({"string": "hi"})).unwrap();
        assert_eq!(bytes, vec![2, 4, b'h', b'i']);
        assert_eq!(c.decode(&bytes).unwrap(), json!("hi"));
        assert_eq!(c.decode(&[0]).unwrap(), Value::Null);
    }

    #[test]
    fn logical_types_use_their_underlying_type() {
        let c = codec(
            r#"{"type":"record","name":"R","fields":[
            {"name":"d","type":{"type":"int","logicalType":"date"}},
            {"name":"t","type":["null",{"type":"long","logicalType":"timestamp-millis"}]},
            {"name":"m","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}}
        ]}"#,
        );
        let bytes = encode(
            &c,
            json!({"d": 1, "t": {"long": 2}, "m": "\u{0004}\u{00d2}"}),
        )
        .unwrap();
        assert_eq!(bytes, vec![2, 2, 4, 4, 0x04, 0xd2]);
    }

    #[test]
    fn floats_print_shortest_and_non_finite_as_strings() {
        let c = codec(r#"{"type":"array","items":"float"}"#);
        let bytes = encode(&c, json!([1.1, "NaN", "-Infinity"])).unwrap();
        assert_eq!(c.decode(&bytes).unwrap(), json!([1.1, "NaN", "-Infinity"]));
    }

    #[test]
    fn truncated_or_overlong_binary_is_refused() {
        let c = codec(r#"{"type":"array","items":"long"}"#);
        assert!(c.decode(&[0x02]).is_err());
        assert!(c.decode(&[0x00, 0x00]).is_err());
        assert!(c.decode(&[0xfe, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }
}
