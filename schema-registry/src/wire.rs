//! Confluent's wire format and payload validation for broker-side checks.
//!
//! A serialized key or value is: magic byte `0`, the schema id as a 4-byte
//! big-endian integer, then (Protobuf only) the message-index path as a
//! zigzag varint count followed by that many zigzag varints (a single `0`
//! byte stands for `[0]`, the first message), then the encoded data.
//! Nothing here allocates by a length the payload claims before checking
//! that the bytes are there.

use std::io::{Cursor, Read};

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::ResolvedSchema;
use prost_reflect::DynamicMessage;

use crate::error::{PayloadError, WireError};
use crate::schema::ParsedSchema;

/// The magic byte that starts every Confluent-framed payload.
pub const MAGIC_BYTE: u8 = 0;

/// Splits a framed payload into its schema id and the bytes after the
/// 5-byte header.
pub fn split_header(bytes: &[u8]) -> Result<(u32, &[u8]), WireError> {
    if bytes.len() < 5 {
        return Err(WireError::TooShort(bytes.len()));
    }
    if bytes[0] != MAGIC_BYTE {
        return Err(WireError::BadMagic(bytes[0]));
    }
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[5..]))
}

fn read_varint(bytes: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&b) = bytes.get(*pos) else {
            return Err(WireError::BadMessageIndexes("truncated varint"));
        };
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(WireError::BadMessageIndexes("varint longer than 10 bytes"))
}

fn read_zigzag(bytes: &[u8], pos: &mut usize) -> Result<i64, WireError> {
    let v = read_varint(bytes, pos)?;
    Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
}

/// Reads the Protobuf message-index path at the start of `bytes` (after the
/// 5-byte header) and returns it with the message bytes that follow.
pub fn split_message_indexes(bytes: &[u8]) -> Result<(Vec<i32>, &[u8]), WireError> {
    let mut pos = 0;
    let count = read_zigzag(bytes, &mut pos)?;
    if count == 0 {
        return Ok((vec![0], &bytes[pos..]));
    }
    // Each index takes at least one byte: refuse counts the payload cannot hold.
    let count = usize::try_from(count)
        .ok()
        .filter(|&c| c <= bytes.len() - pos)
        .ok_or(WireError::BadMessageIndexes("count out of range"))?;
    let mut indexes = Vec::with_capacity(count);
    for _ in 0..count {
        let i = read_zigzag(bytes, &mut pos)?;
        let i = i32::try_from(i).map_err(|_| WireError::BadMessageIndexes("index out of range"))?;
        indexes.push(i);
    }
    Ok((indexes, &bytes[pos..]))
}

/// Encodes a message-index path as Confluent's serializers do (`[0]` as a
/// single `0` byte).
pub fn encode_message_indexes(indexes: &[i32]) -> Vec<u8> {
    fn zigzag(v: i64, out: &mut Vec<u8>) {
        let mut u = ((v << 1) ^ (v >> 63)) as u64;
        while u >= 0x80 {
            out.push((u as u8) | 0x80);
            u >>= 7;
        }
        out.push(u as u8);
    }
    let mut out = Vec::new();
    if indexes == [0] {
        out.push(0);
        return out;
    }
    zigzag(indexes.len() as i64, &mut out);
    for &i in indexes {
        zigzag(i64::from(i), &mut out);
    }
    out
}

/// A reader that remembers whether the decoder asked for bytes past the end.
struct EofWatch<'a> {
    inner: Cursor<&'a [u8]>,
    truncated: bool,
}

impl Read for EofWatch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n < buf.len() {
            self.truncated = true;
        }
        Ok(n)
    }
}

/// Caps what one Avro length field may make the decoder allocate, for the
/// whole process (apache-avro keeps this limit globally; its default is
/// 512 MiB). The broker calls this once at start with its maximum record
/// size, before validating any payload; later calls have no effect.
/// Returns the limit in force.
pub fn limit_avro_allocation(bytes: usize) -> usize {
    apache_avro::util::max_allocation_bytes(bytes)
}

/// Decodes `payload` (the bytes after the 5-byte header; for Protobuf
/// starting with the message indexes) with `schema`: Avro binary must decode
/// completely with no bytes left over, JSON must parse and validate against
/// the JSON Schema, Protobuf must decode as the message the indexes name.
pub fn validate_payload(schema: &ParsedSchema, payload: &[u8]) -> Result<(), PayloadError> {
    match schema {
        ParsedSchema::Avro(s) => {
            const T: &str = "AVRO";
            let mut schemata: Vec<&apache_avro::Schema> = s.references().iter().collect();
            schemata.push(s.schema());
            let resolved = ResolvedSchema::new_with_schemata(schemata)
                .map_err(|e| PayloadError::invalid(T, e.to_string()))?;
            let reader = GenericDatumReader::builder(s.schema())
                .resolved_writer_schemata(resolved)
                .build()
                .map_err(|e| PayloadError::invalid(T, e.to_string()))?;
            let mut input = EofWatch {
                inner: Cursor::new(payload),
                truncated: false,
            };
            reader
                .read_value(&mut input)
                .map_err(|e| PayloadError::invalid(T, e.to_string()))?;
            // apache-avro reads a string cut short as a null: catch it here.
            if input.truncated {
                return Err(PayloadError::invalid(T, "datum is truncated"));
            }
            let left = payload.len() as u64 - input.inner.position();
            if left > 0 {
                return Err(PayloadError::invalid(
                    T,
                    format!("{left} bytes left after the datum"),
                ));
            }
            Ok(())
        }
        ParsedSchema::Json(s) => {
            const T: &str = "JSON";
            let value: serde_json::Value = serde_json::from_slice(payload)
                .map_err(|e| PayloadError::invalid(T, format!("not JSON: {e}")))?;
            s.validator()
                .validate(&value)
                .map_err(|e| PayloadError::invalid(T, format!("{e} at '{}'", e.instance_path())))
        }
        ParsedSchema::Protobuf(s) => {
            const T: &str = "PROTOBUF";
            let (indexes, data) = split_message_indexes(payload)?;
            let message = s.message_by_indexes(&indexes).ok_or_else(|| {
                PayloadError::invalid(T, format!("no message at indexes {indexes:?}"))
            })?;
            DynamicMessage::decode(message, data)
                .map(|_| ())
                .map_err(|e| PayloadError::invalid(T, e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ResolvedReference, SchemaType};

    fn schema(t: SchemaType, text: &str) -> ParsedSchema {
        ParsedSchema::parse(t, text, &[]).unwrap()
    }

    #[test]
    fn header_is_magic_and_big_endian_id() {
        assert_eq!(
            split_header(&[0, 0, 0, 1, 2, 9]).unwrap(),
            (258, &[9u8][..])
        );
        assert_eq!(split_header(&[0, 0, 0, 1]), Err(WireError::TooShort(4)));
        assert_eq!(split_header(&[1, 0, 0, 0, 1]), Err(WireError::BadMagic(1)));
        assert_eq!(split_header(&[0, 0, 0, 0, 7]).unwrap().1, &[] as &[u8]);
    }

    #[test]
    fn message_indexes_round_trip() {
        for path in [vec![0], vec![1], vec![0, 2], vec![3, 1, 70]] {
            let mut bytes = encode_message_indexes(&path);
            bytes.extend_from_slice(&[0xAA]);
            let (decoded, rest) = split_message_indexes(&bytes).unwrap();
            assert_eq!(decoded, path);
            assert_eq!(rest, &[0xAA]);
        }
        // Confluent's shortcut for the first message.
        assert_eq!(encode_message_indexes(&[0]), vec![0]);
        // [1]: count 1 -> zigzag 2, index 1 -> zigzag 2.
        assert_eq!(encode_message_indexes(&[1]), vec![2, 2]);
        assert!(split_message_indexes(&[]).is_err());
        assert!(split_message_indexes(&[0x80]).is_err());
        // A count the payload cannot hold is refused before allocating.
        assert!(split_message_indexes(&[0xfe, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(split_message_indexes(&[4, 2]).is_err());
    }

    #[test]
    fn avro_payloads() {
        let s = schema(
            SchemaType::Avro,
            r#"{"type":"record","name":"R","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"}]}"#,
        );
        // id = 1 (zigzag 2), name = "ab" (length zigzag 4).
        validate_payload(&s, &[2, 4, b'a', b'b']).unwrap();
        let e = validate_payload(&s, &[2, 4, b'a']).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("payload does not match its AVRO schema"),
            "{e}"
        );
        assert!(
            validate_payload(&s, &[2, 4, b'a', b'b', 0]).is_err(),
            "trailing bytes"
        );
        assert!(validate_payload(&s, &[]).is_err());
    }

    #[test]
    fn avro_payloads_with_references() {
        let r = ResolvedReference::new(
            "Inner",
            r#"{"type":"record","name":"Inner","fields":[{"name":"x","type":"int"}]}"#,
        );
        let s = ParsedSchema::parse(
            SchemaType::Avro,
            r#"{"type":"record","name":"Outer","fields":[{"name":"i","type":"Inner"}]}"#,
            &[r],
        )
        .unwrap();
        validate_payload(&s, &[6]).unwrap();
        assert!(validate_payload(&s, &[]).is_err());
    }

    #[test]
    fn json_payloads() {
        let s = schema(
            SchemaType::Json,
            r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#,
        );
        validate_payload(&s, br#"{"n": 3}"#).unwrap();
        let e = validate_payload(&s, br#"{"n": "x"}"#).unwrap_err();
        assert!(e.to_string().contains("/n"), "{e}");
        assert!(validate_payload(&s, br#"{}"#).is_err());
        assert!(validate_payload(&s, b"{not json").is_err());
    }

    #[test]
    fn protobuf_payloads() {
        let s = schema(
            SchemaType::Protobuf,
            "syntax = \"proto3\"; message A { int32 x = 1; } message B { string s = 1; }",
        );
        // Message A (indexes [0] -> single 0 byte), field 1 varint 5.
        validate_payload(&s, &[0, 0x08, 0x05]).unwrap();
        // Message B ([1] -> 2, 2), field 1 length-delimited "hi".
        validate_payload(&s, &[2, 2, 0x0a, 0x02, b'h', b'i']).unwrap();
        // Field 1 of B as a varint: wrong wire type.
        assert!(validate_payload(&s, &[2, 2, 0x08, 0x05]).is_err());
        // Truncated length-delimited field.
        assert!(validate_payload(&s, &[2, 2, 0x0a, 0x05, b'h']).is_err());
        // No third message.
        let e = validate_payload(&s, &[2, 4, 0x08, 0x05]).unwrap_err();
        assert!(e.to_string().contains("no message at indexes [2]"), "{e}");
    }
}
