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
//! The schema is compiled once into a flat program (the Schema Registry's
//! [`AvroProgram`], which its validator walks too), so encoding walks no names.

use apache_avro::Schema;
use serde_json::{Map, Number, Value};
use strata_schema_registry::avro_program::{AvroNode, AvroProgram};

/// Nesting deeper than this is refused (binary input could otherwise
/// recurse through a recursive schema until the stack runs out).
const MAX_DEPTH: usize = 256;

/// A compiled Avro schema.
#[derive(Debug)]
pub(crate) struct Codec {
    nodes: Vec<AvroNode>,
    root: usize,
}

impl Codec {
    /// Compiles `schema`, whose named types may come from `references`.
    pub(crate) fn compile(schema: &Schema, references: &[Schema]) -> Result<Codec, String> {
        let AvroProgram { nodes, root } = AvroProgram::compile(schema, references)?;
        Ok(Codec { nodes, root })
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
            AvroNode::Union(variants) => {
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
            AvroNode::Null => match value {
                Value::Null => Ok(()),
                other => Err(expected("null", other)),
            },
            AvroNode::Boolean => match value {
                Value::Bool(b) => {
                    out.push(u8::from(*b));
                    Ok(())
                }
                other => Err(expected("boolean", other)),
            },
            AvroNode::Int => {
                let n = integer(value, "int", i64::from(i32::MIN), i64::from(i32::MAX))?;
                write_long(n, out);
                Ok(())
            }
            AvroNode::Long => {
                let n = integer(value, "long", i64::MIN, i64::MAX)?;
                write_long(n, out);
                Ok(())
            }
            AvroNode::Float => {
                let f = floating(value, "float")? as f32;
                out.extend_from_slice(&f.to_le_bytes());
                Ok(())
            }
            AvroNode::Double => {
                let f = floating(value, "double")?;
                out.extend_from_slice(&f.to_le_bytes());
                Ok(())
            }
            AvroNode::Bytes | AvroNode::BigDecimal | AvroNode::UuidBytes => match value {
                Value::String(s) => {
                    let bytes = latin1(s);
                    write_long(bytes.len() as i64, out);
                    out.extend_from_slice(&bytes);
                    Ok(())
                }
                other => Err(expected("bytes", other)),
            },
            AvroNode::String | AvroNode::UuidString => match value {
                Value::String(s) => {
                    write_long(s.len() as i64, out);
                    out.extend_from_slice(s.as_bytes());
                    Ok(())
                }
                other => Err(expected("string", other)),
            },
            AvroNode::Fixed(size) => match value {
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
            AvroNode::Enum(symbols) => match value {
                Value::String(s) => match symbols.iter().position(|x| x == s) {
                    Some(i) => {
                        write_long(i as i64, out);
                        Ok(())
                    }
                    None => Err(format!("Unknown symbol in enum {s}")),
                },
                other => Err(expected("enum", other)),
            },
            AvroNode::Array(items) => match value {
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
            AvroNode::Map(values) => match value {
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
            AvroNode::Union(variants) => {
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
            AvroNode::Record(fields) => match value {
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
            AvroNode::Fail(why) => Err(why.clone()),
        }
    }

    fn read(&self, node: usize, r: &mut Reader<'_>, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("datum nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(match &self.nodes[node] {
            AvroNode::Null => Value::Null,
            AvroNode::Boolean => match r.take(1)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(format!("invalid boolean byte {b}")),
            },
            AvroNode::Int => {
                let n = r.long()?;
                i32::try_from(n).map_err(|_| format!("int {n} out of range"))?;
                Value::from(n)
            }
            AvroNode::Long => Value::from(r.long()?),
            AvroNode::Float => {
                let b = r.take(4)?;
                let f = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                // Shortest text of the float, as Java's Float.toString.
                float_json(f.to_string().parse::<f64>().unwrap_or(f64::from(f)))
            }
            AvroNode::Double => {
                let b = r.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                float_json(f64::from_le_bytes(a))
            }
            AvroNode::Bytes | AvroNode::BigDecimal | AvroNode::UuidBytes => {
                Value::String(from_latin1(r.bytes()?))
            }
            AvroNode::String | AvroNode::UuidString => {
                let b = r.bytes()?;
                Value::String(
                    std::str::from_utf8(b)
                        .map_err(|e| format!("string is not UTF-8: {e}"))?
                        .to_owned(),
                )
            }
            AvroNode::Fixed(size) => Value::String(from_latin1(r.take(*size)?)),
            AvroNode::Enum(symbols) => {
                let i = r.long()?;
                let symbol = usize::try_from(i)
                    .ok()
                    .and_then(|i| symbols.get(i))
                    .ok_or_else(|| format!("enum index {i} out of range"))?;
                Value::String(symbol.clone())
            }
            AvroNode::Array(items) => {
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
            AvroNode::Map(node) => {
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
            AvroNode::Union(variants) => {
                let index = r.long()?;
                let (label, node) = usize::try_from(index)
                    .ok()
                    .and_then(|i| variants.get(i))
                    .ok_or_else(|| format!("union index {index} out of range"))?;
                let value = self.read(*node, r, depth + 1)?;
                if matches!(self.nodes[*node], AvroNode::Null) {
                    Value::Null
                } else {
                    let mut wrapped = Map::new();
                    wrapped.insert(label.clone(), value);
                    Value::Object(wrapped)
                }
            }
            AvroNode::Record(fields) => {
                let mut out = Map::new();
                for (name, node) in fields {
                    let value = self.read(*node, r, depth + 1)?;
                    out.insert(name.clone(), value);
                }
                Value::Object(out)
            }
            AvroNode::Fail(why) => return Err(why.clone()),
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

#[cfg(test)]
mod tests;
