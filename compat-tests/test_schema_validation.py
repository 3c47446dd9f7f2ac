"""Broker-side schema validation with confluent-kafka's producer and serializers.

Topic configs `confluent.value.schema.validation` / `confluent.key.schema.validation` with
`confluent.*.subject.name.strategy`, as Confluent Server takes them, and Strata's
`strata.value.schema.validation.mode=payload`. A refused record reaches the producer's
delivery callback as INVALID_RECORD (87); nothing of its batch is appended; other
partitions and topics of the same request are unaffected. Null keys and values pass, as
Confluent Server documents ("Messages with a null value or a null key will pass validation").
"""

from __future__ import annotations

import json

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from kafkautil import (REQUEST_TIMEOUT, admin, consume_range, create_topic, produce_all, produce_ok,
                       producer, result, topic_config, watermarks)

TOPIC_NAME = "io.confluent.kafka.serializers.subject.TopicNameStrategy"
RECORD_NAME = "io.confluent.kafka.serializers.subject.RecordNameStrategy"

USER = json.dumps({"type": "record", "name": "User", "namespace": "compat",
                   "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "int"}]})
ORDER = json.dumps({"type": "record", "name": "Order", "namespace": "compat",
                    "fields": [{"name": "id", "type": "long"}]})
THING = json.dumps({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]})

VALUE_VALIDATION = {"confluent.value.schema.validation": "true"}


def sr_client(b) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": b.schema_registry_url})


def framed(schema_id: int, body: bytes) -> bytes:
    """Confluent's wire format: magic byte 0, the schema id (4 bytes, big-endian), the data."""
    return b"\x00" + schema_id.to_bytes(4, "big") + body


def value_ctx(topic: str) -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


def produce_one(b, topic: str, **record):
    """Produce one record in its own batch and return its delivery report."""
    return produce_all(producer(b.bootstrap, linger_ms=0), topic, [record])[0]


def assert_refused(report) -> None:
    assert report.error is not None, "the record was accepted"
    assert report.error.code() == KafkaError.INVALID_RECORD, report.error


def test_avro_record_is_accepted_and_consumed_back(broker, topic):
    create_topic(broker.bootstrap, topic, config=VALUE_VALIDATION)
    sr = sr_client(broker)
    serializer = AvroSerializer(sr, USER)
    users = [{"name": f"u{i}", "age": i} for i in range(5)]
    produce_ok(producer(broker.bootstrap), topic,
               [{"value": serializer(u, value_ctx(topic))} for u in users])
    messages = consume_range(broker.bootstrap, topic, 0, 0, len(users))
    deserializer = AvroDeserializer(sr)
    assert [deserializer(m.value(), value_ctx(topic)) for m in messages] == users


def test_plain_bytes_are_refused_with_invalid_record(broker, topic):
    create_topic(broker.bootstrap, topic, config=VALUE_VALIDATION)
    report = produce_one(broker, topic, value=b"plain bytes, no schema id")
    assert_refused(report)
    assert watermarks(broker.bootstrap, topic, 0) == (0, 0)
    # A framed value whose id the registry does not know is refused too.
    assert_refused(produce_one(broker, topic, value=framed(2_000_000_000, b"\x02")))
    # The topic still takes good records.
    serializer = AvroSerializer(sr_client(broker), USER)
    ok = produce_one(broker, topic, value=serializer({"name": "a", "age": 1}, value_ctx(topic)))
    assert ok.error is None and ok.offset == 0


def test_id_registered_under_another_subject_is_refused(broker, topic):
    create_topic(broker.bootstrap, topic, config=VALUE_VALIDATION)
    sr = sr_client(broker)
    other_id = sr.register_schema(f"{topic}-elsewhere-value", Schema(ORDER, "AVRO"))
    assert_refused(produce_one(broker, topic, value=framed(other_id, b"\x02")))
    # The same bytes pass once the id is registered under <topic>-value.
    sr.register_schema(f"{topic}-value", Schema(ORDER, "AVRO"))
    assert produce_one(broker, topic, value=framed(other_id, b"\x02")).error is None


def test_null_values_and_keys_pass_as_in_confluent_server(broker, topic):
    create_topic(broker.bootstrap, topic, config={
        "confluent.value.schema.validation": "true", "confluent.key.schema.validation": "true"})
    report = produce_one(broker, topic, key=None, value=None)
    assert report.error is None
    # An empty (not null) value has no schema id.
    assert_refused(produce_one(broker, topic, value=b""))


def test_key_validation(broker, topic):
    create_topic(broker.bootstrap, topic, config={"confluent.key.schema.validation": "true"})
    sr = sr_client(broker)
    key_serializer = AvroSerializer(sr, json.dumps("string"))
    key_ctx = SerializationContext(topic, MessageField.KEY)
    good = produce_one(broker, topic, key=key_serializer("k1", key_ctx), value=b"values are not checked")
    assert good.error is None
    assert sr.get_latest_version(f"{topic}-key").schema_id == int.from_bytes(good.key[1:5], "big")
    assert_refused(produce_one(broker, topic, key=b"plain key", value=b"v"))
    # A value serialized for this topic is not registered under <topic>-key.
    value_bytes = AvroSerializer(sr, USER)({"name": "a", "age": 1}, value_ctx(topic))
    assert_refused(produce_one(broker, topic, key=value_bytes, value=b"v"))
    assert produce_one(broker, topic, key=None, value=b"v").error is None


def test_record_name_strategy(broker, topic):
    create_topic(broker.bootstrap, topic, config={
        **VALUE_VALIDATION, "confluent.value.subject.name.strategy": RECORD_NAME})
    sr = sr_client(broker)
    by_record = AvroSerializer(sr, ORDER, conf={"subject.name.strategy": record_subject_name_strategy})
    report = produce_one(broker, topic, value=by_record({"id": 7}, value_ctx(topic)))
    assert report.error is None
    assert sr.get_latest_version("compat.Order").schema_id == int.from_bytes(report.value[1:5], "big")
    # A serializer on TopicNameStrategy registers <topic>-value; this schema is under no
    # subject named after its record (compat.Person), so the broker refuses it.
    person = json.dumps({"type": "record", "name": "Person", "namespace": "compat",
                         "fields": [{"name": f"f_{topic.replace('-', '_')}", "type": "int"}]})
    by_topic = AvroSerializer(sr, person)
    assert_refused(produce_one(broker, topic, value=by_topic({f"f_{topic.replace('-', '_')}": 1},
                                                             value_ctx(topic))))


def test_strategies_take_confluent_class_names_only(broker, topic):
    a = admin(broker.bootstrap)
    from confluent_kafka.admin import NewTopic
    fs = a.create_topics([NewTopic(topic, 1, 1, config={
        "confluent.value.subject.name.strategy": "RecordNameStrategy"})], request_timeout=REQUEST_TIMEOUT)
    with pytest.raises(KafkaException) as e:
        result(fs[topic])
    assert e.value.args[0].code() == KafkaError.INVALID_CONFIG


def test_payload_mode_refuses_avro_that_does_not_decode(broker, topic):
    payload_topic, id_topic = f"{topic}-p", f"{topic}-i"
    create_topic(broker.bootstrap, payload_topic, config={
        **VALUE_VALIDATION, "strata.value.schema.validation.mode": "payload"})
    create_topic(broker.bootstrap, id_topic, config=VALUE_VALIDATION)
    sr = sr_client(broker)
    schema_id = sr.register_schema(f"{payload_topic}-value", Schema(USER, "AVRO"))
    assert sr.register_schema(f"{id_topic}-value", Schema(USER, "AVRO")) == schema_id
    good = AvroSerializer(sr, USER)({"name": "ok", "age": 3}, value_ctx(payload_topic))
    assert produce_one(broker, payload_topic, value=good).error is None
    # A string of 10 bytes with 3 there: the right header, a body that does not decode.
    broken = framed(schema_id, b"\x14abc")
    assert_refused(produce_one(broker, payload_topic, value=broken))
    # Trailing bytes after a whole datum are refused too.
    assert_refused(produce_one(broker, payload_topic, value=good + b"\x00"))
    # Id mode (Confluent's) looks only at the header.
    assert produce_one(broker, id_topic, value=broken).error is None


def test_payload_mode_refuses_json_that_violates_its_schema(broker, topic):
    create_topic(broker.bootstrap, topic, config={
        **VALUE_VALIDATION, "strata.value.schema.validation.mode": "payload"})
    schema_id = sr_client(broker).register_schema(f"{topic}-value", Schema(THING, "JSON"))
    assert produce_one(broker, topic, value=framed(schema_id, b'{"a": "text"}')).error is None
    assert_refused(produce_one(broker, topic, value=framed(schema_id, b'{"a": 5}')))
    assert_refused(produce_one(broker, topic, value=framed(schema_id, b'{"b": "no a"}')))
    assert_refused(produce_one(broker, topic, value=framed(schema_id, b'{"a": "unterminated')))


def test_other_partitions_and_topics_are_unaffected(broker, topic):
    plain = f"{topic}-plain"
    create_topic(broker.bootstrap, topic, partitions=2, config=VALUE_VALIDATION)
    create_topic(broker.bootstrap, plain)
    good = AvroSerializer(sr_client(broker), USER)({"name": "a", "age": 1}, value_ctx(topic))
    p = producer(broker.bootstrap, linger_ms=200)
    reports = produce_all(p, topic, [{"value": good, "partition": 0},
                                     {"value": b"bad", "partition": 1}])
    reports += produce_all(p, plain, [{"value": b"bad"}])
    assert reports[0].error is None and reports[0].offset == 0
    assert_refused(reports[1])
    assert reports[2].error is None
    assert watermarks(broker.bootstrap, topic, 1) == (0, 0)
    assert consume_range(broker.bootstrap, plain, 0, 0, 1)[0].value() == b"bad"


def test_describe_and_alter_configs(broker, topic):
    create_topic(broker.bootstrap, topic, config={
        **VALUE_VALIDATION, "confluent.value.subject.name.strategy": RECORD_NAME})
    configs = topic_config(broker.bootstrap, topic)
    assert configs["confluent.value.schema.validation"].value == "true"
    assert not configs["confluent.value.schema.validation"].is_default
    assert configs["confluent.value.subject.name.strategy"].value == RECORD_NAME
    assert configs["confluent.key.schema.validation"].value == "false"
    assert configs["confluent.key.schema.validation"].is_default
    assert configs["confluent.key.subject.name.strategy"].value == TOPIC_NAME
    assert configs["strata.value.schema.validation.mode"].value == "id"

    # Validation switched on for an existing topic applies to the next produce.
    plain = f"{topic}-later"
    create_topic(broker.bootstrap, plain)
    assert produce_one(broker, plain, value=b"fine for now").error is None
    res = ConfigResource(ResourceType.TOPIC, plain, incremental_configs=[
        ConfigEntry("confluent.value.schema.validation", "true",
                    incremental_operation=AlterConfigOpType.SET)])
    result(admin(broker.bootstrap).incremental_alter_configs([res])[res])
    assert topic_config(broker.bootstrap, plain)["confluent.value.schema.validation"].value == "true"
    assert_refused(produce_one(broker, plain, value=b"not any more"))
