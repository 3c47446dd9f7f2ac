//! Protobuf messages between Protobuf's JSON mapping and binary, as
//! Confluent's REST Proxy converts them: produce parses JSON as Java's
//! `JsonFormat.parser()` (unknown fields refused, field names or their
//! lowerCamelCase JSON names, 64-bit integers as numbers or strings, enums
//! by name or number), consume prints it as
//! `JsonFormat.printer().includingDefaultValueFields()` (JSON names, fields
//! without presence always shown, 64-bit integers as strings, enums by
//! name).

use prost::Message as _;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::Value;

/// The binary encoding of `value` as a `message`.
pub(crate) fn encode(message: &MessageDescriptor, value: &Value) -> Result<Vec<u8>, String> {
    let dynamic = DynamicMessage::deserialize_with_options(
        message.clone(),
        value,
        &DeserializeOptions::new().deny_unknown_fields(true),
    )
    .map_err(|e| e.to_string())?;
    Ok(dynamic.encode_to_vec())
}

/// The JSON mapping of the binary `bytes` of a `message`.
pub(crate) fn decode(message: &MessageDescriptor, bytes: &[u8]) -> Result<Value, String> {
    let dynamic = DynamicMessage::decode(message.clone(), bytes).map_err(|e| e.to_string())?;
    dynamic
        .serialize_with_options(
            serde_json::value::Serializer,
            &SerializeOptions::new()
                .skip_default_fields(false)
                .stringify_64_bit_integers(true)
                .use_proto_field_name(false)
                .use_enum_numbers(false),
        )
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use strata_schema_registry::protobuf::ProtobufSchema;

    const PROTO: &str = r#"
        syntax = "proto3";
        package demo;
        message Order {
            int64 id = 1;
            string customer_name = 2;
            repeated Line lines = 3;
            Status status = 4;
            message Line { string sku = 1; int32 qty = 2; }
            enum Status { NEW = 0; PAID = 1; }
        }
    "#;

    #[test]
    fn json_mapping_round_trips() {
        let schema = ProtobufSchema::parse(PROTO, &[]).unwrap();
        let order = schema.message_by_indexes(&[0]).unwrap();
        let bytes = encode(
            &order,
            &json!({"id": 7, "customer_name": "ann", "lines": [{"sku": "x", "qty": 2}], "status": "PAID"}),
        )
        .unwrap();
        assert_eq!(
            decode(&order, &bytes).unwrap(),
            json!({"id": "7", "customerName": "ann", "lines": [{"sku": "x", "qty": 2}], "status": "PAID"})
        );
        // Defaults are shown, as includingDefaultValueFields does.
        assert_eq!(
            decode(&order, &[]).unwrap(),
            json!({"id": "0", "customerName": "", "lines": [], "status": "NEW"})
        );
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        let schema = ProtobufSchema::parse(PROTO, &[]).unwrap();
        let order = schema.message_by_indexes(&[0]).unwrap();
        assert!(encode(&order, &json!({"nope": 1})).is_err());
        assert!(encode(&order, &json!({"id": "x"})).is_err());
        assert!(encode(&order, &json!([1])).is_err());
    }
}
