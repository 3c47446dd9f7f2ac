"""REST Proxy v2: produce in every embedded format, topics, partitions and brokers.

Records produced over HTTP (`requests`) are read back by confluent-kafka's Consumer: binary and
json byte for byte, avro/jsonschema/protobuf through confluent_kafka.schema_registry's
deserializers (the Protobuf message class is built at run time from a FileDescriptorProto, no
protoc). Keyed records land where a librdkafka producer with `partitioner=murmur2_random` (Java's
partitioner) puts the same keys. Every refused request is followed by a check that nothing was
produced and that the proxy still answers.
"""

from __future__ import annotations

import base64
import json

import pytest
import requests
from confluent_kafka import TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from kafkautil import consume, consumer, create_topic, produce_ok, producer, unique, watermarks

V2 = "application/vnd.kafka.v2+json"


def ct(fmt: str) -> dict:
    return {"Content-Type": f"application/vnd.kafka.{fmt}.v2+json", "Accept": V2}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post(b, path: str, body, fmt: str = "binary", headers=None):
    """POST `body` (a dict sent as JSON, or a str sent as is) to the REST Proxy."""
    h = ct(fmt)
    h.update(headers or {})
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.post(b.rest_proxy_url + path, data=data.encode(), headers=h, timeout=30)


def get(b, path: str, **headers):
    return requests.get(b.rest_proxy_url + path, headers={"Accept": V2, **headers}, timeout=30)


def read_all(b, topic: str, partition: int, count: int):
    c = consumer(b.bootstrap)
    try:
        c.assign([TopicPartition(topic, partition, 0)])
        return consume(c, count)
    finally:
        c.close()


def ok_offsets(r, n: int) -> list:
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith(V2)
    body = r.json()
    offsets = body["offsets"]
    assert len(offsets) == n
    for o in offsets:
        assert o["error_code"] is None and o["error"] is None, o
    return offsets


def sr(b) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": b.schema_registry_url})


# ----- the five formats -----


def test_binary_records_read_back_byte_for_byte(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    records = [
        {"key": b64(b"k1"), "value": b64(b"\x00\x01\xffbinary")},
        {"value": b64(b"")},
        {"key": b64(b"k3"), "value": None},
        {"value": b64(bytes(range(256)) * 10)},
    ]
    offsets = ok_offsets(post(broker, f"/topics/{topic}", {"records": records}), 4)
    assert [o["offset"] for o in offsets] == [0, 1, 2, 3]
    assert {o["partition"] for o in offsets} == {0}
    msgs = read_all(broker, topic, 0, 4)
    assert [m.key() for m in msgs] == [b"k1", None, b"k3", None]
    assert [m.value() for m in msgs] == [b"\x00\x01\xffbinary", b"", None, bytes(range(256)) * 10]
    assert r_schema_ids(post(broker, f"/topics/{topic}", {"records": [{"value": "AA=="}]})) == (None, None)


def r_schema_ids(r):
    assert r.status_code == 200, r.text
    return r.json()["key_schema_id"], r.json()["value_schema_id"]


def test_json_records_keep_their_text(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    values = [{"zeta": 1, "alpha": [1, 2.5, "x"], "nested": {"b": None, "a": True}}, "text", 42, [], {}]
    # Sent with whitespace: stored compact, object keys in the order given (as Jackson writes
    # a parsed JsonNode back out).
    body = '{"records": [' + ", ".join(
        json.dumps({"key": {"id": i}, "value": v}, indent=1) for i, v in enumerate(values)) + "]}"
    ok_offsets(post(broker, f"/topics/{topic}", body, "json"), len(values))
    msgs = read_all(broker, topic, 0, len(values))
    assert [m.value() for m in msgs] == [json.dumps(v, separators=(",", ":")).encode() for v in values]
    assert [m.key() for m in msgs] == [f'{{"id":{i}}}'.encode() for i in range(len(values))]


USER = json.dumps({
    "type": "record", "name": "User", "namespace": "restv2",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "age", "type": ["null", "int"]},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
        {"name": "raw", "type": "bytes"},
        {"name": "score", "type": "double"},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
    ],
})


def test_avro_records_read_back_by_avro_deserializer(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    users_json = [
        {"name": "ann", "age": {"int": 31}, "tags": ["a", "b"], "kind": "B", "raw": "\u00ff\u0000a",
         "score": 1.5, "attrs": {"x": 1}},
        {"name": "bob", "age": None, "tags": [], "kind": "A", "raw": "", "score": -2,
         "attrs": {}},
    ]
    r = post(broker, f"/topics/{topic}",
             {"key_schema": '"string"', "value_schema": USER,
              "records": [{"key": "k-ann", "value": users_json[0]}, {"key": "k-bob", "value": users_json[1]}]},
             "avro")
    ok_offsets(r, 2)
    key_id, value_id = r.json()["key_schema_id"], r.json()["value_schema_id"]
    registry = sr(broker)
    assert registry.get_latest_version(f"{topic}-value").schema_id == value_id
    assert registry.get_latest_version(f"{topic}-key").schema_id == key_id

    # The same schema again by id, and by text: the same ids, no new version.
    r = post(broker, f"/topics/{topic}",
             {"value_schema_id": value_id, "records": [{"value": users_json[1]}]}, "avro")
    assert r_schema_ids(r) == (None, value_id)
    r = post(broker, f"/topics/{topic}", {"value_schema": USER, "records": [{"value": users_json[0]}]}, "avro")
    assert r_schema_ids(r) == (None, value_id)
    assert registry.get_versions(f"{topic}-value") == [1]

    msgs = read_all(broker, topic, 0, 4)
    for m in msgs:
        assert m.value()[0] == 0 and int.from_bytes(m.value()[1:5], "big") == value_id
    assert msgs[0].key()[0] == 0 and int.from_bytes(msgs[0].key()[1:5], "big") == key_id
    values = AvroDeserializer(registry)
    keys = AvroDeserializer(registry)
    vctx = SerializationContext(topic, MessageField.VALUE)
    kctx = SerializationContext(topic, MessageField.KEY)
    assert keys(msgs[0].key(), kctx) == "k-ann"
    expected = [
        {"name": "ann", "age": 31, "tags": ["a", "b"], "kind": "B", "raw": b"\xff\x00a", "score": 1.5,
         "attrs": {"x": 1}},
        {"name": "bob", "age": None, "tags": [], "kind": "A", "raw": b"", "score": -2.0, "attrs": {}},
    ]
    assert [values(m.value(), vctx) for m in msgs] == expected + [expected[1], expected[0]]


JSON_SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#", "title": "Thing", "type": "object",
    "properties": {"b": {"type": "integer"}, "a": {"type": "string"}}, "required": ["a"],
})


def test_jsonschema_records_read_back_by_json_deserializer(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    things = [{"b": 1, "a": "one"}, {"a": "two"}]
    r = post(broker, f"/topics/{topic}",
             {"value_schema": JSON_SCHEMA, "records": [{"value": t} for t in things]}, "jsonschema")
    ok_offsets(r, 2)
    value_id = r.json()["value_schema_id"]
    registry = sr(broker)
    latest = registry.get_latest_version(f"{topic}-value")
    assert (latest.schema_id, latest.schema.schema_type) == (value_id, "JSON")
    msgs = read_all(broker, topic, 0, 2)
    assert [m.value()[5:] for m in msgs] == [json.dumps(t, separators=(",", ":")).encode() for t in things]
    deserializer = JSONDeserializer(JSON_SCHEMA, schema_registry_client=registry)
    ctx = SerializationContext(topic, MessageField.VALUE)
    assert [deserializer(m.value(), ctx) for m in msgs] == things


ORDER_PROTO = ('syntax = "proto3";\npackage restv2;\n'
               "message Order {\n  int64 id = 1;\n  string customer_name = 2;\n  repeated string items = 3;\n"
               "  Status status = 4;\n  enum Status { NEW = 0; PAID = 1; }\n}\n"
               "message Other { string s = 1; }\n")


def _order_class():
    """restv2.Order built at run time from a FileDescriptorProto matching ORDER_PROTO."""
    name = "restv2_order.proto"
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(name)
    except KeyError:
        fdp = descriptor_pb2.FileDescriptorProto(name=name, package="restv2", syntax="proto3")
        F = descriptor_pb2.FieldDescriptorProto
        m = fdp.message_type.add(name="Order")
        m.field.add(name="id", number=1, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
        m.field.add(name="customer_name", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
        m.field.add(name="items", number=3, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
        m.field.add(name="status", number=4, type=F.TYPE_ENUM, label=F.LABEL_OPTIONAL,
                    type_name=".restv2.Order.Status")
        e = m.enum_type.add(name="Status")
        e.value.add(name="NEW", number=0)
        e.value.add(name="PAID", number=1)
        o = fdp.message_type.add(name="Other")
        o.field.add(name="s", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
        pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("restv2.Order"))


def test_protobuf_records_read_back_by_protobuf_deserializer(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    orders = [
        {"id": 7, "customerName": "ann", "items": ["x", "y"], "status": "PAID"},
        {"id": "9007199254740993", "customer_name": "bob"},  # int64 as a string; the proto field name
    ]
    r = post(broker, f"/topics/{topic}",
             {"value_schema": ORDER_PROTO, "records": [{"value": o} for o in orders]}, "protobuf")
    ok_offsets(r, 2)
    value_id = r.json()["value_schema_id"]
    latest = sr(broker).get_latest_version(f"{topic}-value")
    assert (latest.schema_id, latest.schema.schema_type) == (value_id, "PROTOBUF")
    msgs = read_all(broker, topic, 0, 2)
    for m in msgs:
        # Magic byte, the id, then the message index [0] (the first message) as one 0 byte.
        assert m.value()[:6] == b"\x00" + value_id.to_bytes(4, "big") + b"\x00"
    Order = _order_class()
    deserializer = ProtobufDeserializer(Order, {"use.deprecated.format": False})
    ctx = SerializationContext(topic, MessageField.VALUE)
    got = [deserializer(m.value(), ctx) for m in msgs]
    assert got == [Order(id=7, customer_name="ann", items=["x", "y"], status=1),
                   Order(id=9007199254740993, customer_name="bob")]


# ----- partitions -----


def test_keyed_records_land_where_librdkafka_murmur2_random_puts_them(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=6)
    keys = [f"key-{i}".encode() for i in range(60)] + [b"", b"\x00\xff", "ключ".encode()]
    r = post(broker, f"/topics/{topic}",
             {"records": [{"key": b64(k), "value": b64(b"rest")} for k in keys]})
    rest = [o["partition"] for o in ok_offsets(r, len(keys))]
    p = producer(broker.bootstrap, partitioner="murmur2_random")
    reports = produce_ok(p, topic, [{"key": k, "value": b"librdkafka"} for k in keys])
    assert rest == [d.partition for d in reports]
    assert len(set(rest)) > 3
    # The explicit partition of the path wins over the key.
    r = post(broker, f"/topics/{topic}/partitions/5", {"records": [{"key": b64(k), "value": "AA=="} for k in keys[:5]]})
    assert {o["partition"] for o in ok_offsets(r, 5)} == {5}


def test_keyless_records_spread_over_partitions(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=3)
    seen = set()
    with requests.Session() as s:
        for _ in range(12):
            r = s.post(f"{broker.rest_proxy_url}/topics/{topic}", data=json.dumps({"records": [{"value": "AA=="}]}),
                       headers=ct("binary"), timeout=30)
            seen.update(o["partition"] for o in ok_offsets(r, 1))
    assert seen == {0, 1, 2}
    # One request's keyless records share a batch (one partition).
    r = post(broker, f"/topics/{topic}", {"records": [{"value": "AA=="}] * 10})
    assert len({o["partition"] for o in ok_offsets(r, 10)}) == 1


def test_produce_to_partition_and_record_partitions(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=3)
    r = post(broker, f"/topics/{topic}/partitions/2", {"records": [{"value": b64(b"a")}, {"value": b64(b"b")}]})
    assert [(o["partition"], o["offset"]) for o in ok_offsets(r, 2)] == [(2, 0), (2, 1)]
    r = post(broker, f"/topics/{topic}",
             {"records": [{"value": b64(b"c"), "partition": 1}, {"value": b64(b"d"), "partition": 2}]})
    assert [(o["partition"], o["offset"]) for o in ok_offsets(r, 2)] == [(1, 0), (2, 2)]
    assert [m.value() for m in read_all(broker, topic, 2, 3)] == [b"a", b"b", b"d"]


def test_produce_auto_creates_a_topic_when_the_broker_allows(broker):
    name = unique("rest-auto")
    ok_offsets(post(broker, f"/topics/{name}", {"records": [{"value": b64(b"v")}]}), 1)
    assert get(broker, f"/topics/{name}").json()["name"] == name


# ----- topics and brokers -----


def test_topics_partitions_offsets_and_brokers(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2, config={"retention.ms": "123456"})
    ok_offsets(post(broker, f"/topics/{topic}/partitions/1", {"records": [{"value": "AA=="}] * 3}), 3)

    assert topic in get(broker, "/topics").json()
    t = get(broker, f"/topics/{topic}")
    assert t.status_code == 200 and t.headers["Content-Type"].startswith(V2)
    body = t.json()
    assert body["name"] == topic
    assert body["configs"]["retention.ms"] == "123456"
    assert "cleanup.policy" in body["configs"]
    brokers = get(broker, "/brokers").json()
    assert list(brokers) == ["brokers"] and len(brokers["brokers"]) == 1
    node = brokers["brokers"][0]
    partition = {"leader": node, "replicas": [{"broker": node, "leader": True, "in_sync": True}]}
    assert body["partitions"] == [{"partition": 0, **partition}, {"partition": 1, **partition}]
    assert get(broker, f"/topics/{topic}/partitions").json() == body["partitions"]
    assert get(broker, f"/topics/{topic}/partitions/1").json() == body["partitions"][1]
    assert get(broker, f"/topics/{topic}/partitions/1/offsets").json() == {"beginning_offset": 0, "end_offset": 3}
    assert get(broker, f"/topics/{topic}/partitions/0/offsets").json() == {"beginning_offset": 0, "end_offset": 0}
    # application/json is served too.
    assert get(broker, "/brokers", Accept="application/json").headers["Content-Type"].startswith("application/json")


def test_topic_and_partition_errors(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    missing = unique("rest-missing")
    for path in (f"/topics/{missing}", f"/topics/{missing}/partitions", f"/topics/{missing}/partitions/0",
                 f"/topics/{missing}/partitions/0/offsets"):
        r = get(broker, path)
        assert (r.status_code, r.json()) == (404, {"error_code": 40401, "message": "Topic not found."}), path
    for path in (f"/topics/{topic}/partitions/2", f"/topics/{topic}/partitions/2/offsets",
                 f"/topics/{topic}/partitions/-1"):
        r = get(broker, path)
        assert (r.status_code, r.json()) == (404, {"error_code": 40402, "message": "Partition not found."}), path
    r = get(broker, f"/topics/{topic}/partitions/x")
    assert (r.status_code, r.json()["error_code"]) == (404, 404)
    r = get(broker, "/brokers", Accept="text/html")
    assert (r.status_code, r.json()["error_code"]) == (406, 406)
    # The GETs created nothing.
    assert missing not in get(broker, "/topics").json()


# ----- refused requests -----


def refused(b, topic, path, body, fmt, status, code, partitions=1, headers=None):
    """POST, expect `status`/`code`, check nothing was produced and that the proxy still produces."""
    before = [watermarks(b.bootstrap, topic, p)[1] for p in range(partitions)]
    r = post(b, path, body, fmt, headers)
    assert r.status_code == status, r.text
    assert r.json()["error_code"] == code, r.text
    assert isinstance(r.json()["message"], str)
    assert [watermarks(b.bootstrap, topic, p)[1] for p in range(partitions)] == before
    ok_offsets(post(b, f"/topics/{topic}/partitions/0", {"records": [{"value": "AA=="}]}), 1)
    return r.json()


def test_refused_requests_produce_nothing(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    t = f"/topics/{topic}"
    one = {"records": [{"value": b64(b"v")}]}
    # Media types.
    refused(broker, topic, t, one, "binary", 415, 415, 2, {"Content-Type": "application/json"})
    refused(broker, topic, t, one, "binary", 415, 415, 2, {"Content-Type": V2})
    refused(broker, topic, t, one, "xml", 415, 415, 2)
    refused(broker, topic, t, one, "binary", 406, 406, 2, {"Accept": "text/html"})
    # Bodies.
    refused(broker, topic, t, '{"records": [', "binary", 400, 400, 2)
    refused(broker, topic, t, '{"records": "nope"}', "binary", 400, 400, 2)
    refused(broker, topic, t, {"records": []}, "binary", 422, 422, 2)
    refused(broker, topic, t, {}, "binary", 422, 422, 2)
    bad = refused(broker, topic, t, {"records": [{"value": "AA=="}, {"value": "%%%"}]}, "binary", 400, 400, 2)
    assert "is not a valid base64 string" in bad["message"]
    refused(broker, topic, t, {"records": [{"value": 12}]}, "binary", 400, 400, 2)
    # Partitions.
    refused(broker, topic, f"{t}/partitions/2", one, "binary", 404, 40402, 2)
    refused(broker, topic, t, {"records": [{"value": "AA=="}, {"value": "AA==", "partition": 9}]},
            "binary", 404, 40402, 2)
    refused(broker, topic, f"{t}/partitions/x", one, "binary", 404, 404, 2)


def test_refused_schemas_produce_nothing(broker):
    def fresh():
        name = unique("rest-schema")
        create_topic(broker.bootstrap, name, partitions=1)
        return name, f"/topics/{name}"

    cases = [
        ({"records": [{"value": {"name": "x"}}]}, "avro", 42202),
        ({"value_schema": '"string"', "records": [{"key": "k", "value": "v"}]}, "avro", 42201),
        ({"records": [{"value": {"a": "x"}}]}, "jsonschema", 42202),
        ({"records": [{"key": {"id": 1}}]}, "protobuf", 42201),
        ({"value_schema": USER, "records": [{"value": {"name": "x"}}]}, "avro", 42203),
        ({"value_schema": '"int"', "records": [{"value": 1}, {"value": "two"}]}, "avro", 42203),
        ({"value_schema": JSON_SCHEMA, "records": [{"value": {"b": 1}}]}, "jsonschema", 42203),
        ({"value_schema": ORDER_PROTO, "records": [{"value": {"nope": 1}}]}, "protobuf", 42203),
        ({"value_schema": '{"type": "recor', "records": [{"value": 1}]}, "avro", 42205),
        ({"value_schema": "message {", "records": [{"value": {}}]}, "protobuf", 42205),
        ({"value_schema_id": 987654, "records": [{"value": 1}]}, "avro", 42207),
    ]
    for body, fmt, code in cases:
        topic, path = fresh()
        answer = refused(broker, topic, path, body, fmt, 422, code)
        if code == 42203:
            assert answer["message"].startswith("Conversion of JSON to Object failed: "), answer
    # An id registered under another subject, and a schema the subject's compatibility refuses
    # (BACKWARD by default).
    topic, path = fresh()
    other, other_path = fresh()
    r = post(broker, other_path, {"value_schema": '"string"', "records": [{"value": "s"}]}, "avro")
    other_id = r_schema_ids(r)[1]
    refused(broker, topic, path, {"value_schema_id": other_id, "records": [{"value": "s"}]}, "avro", 422, 42207)
    refused(broker, other, other_path, {"value_schema": '"int"', "records": [{"value": 1}]}, "avro", 422, 42207)


def test_unknown_topic_is_40401_without_auto_creation(broker_factory):
    b = broker_factory({"auto.create.topics.enable": False})
    topic = unique("rest-known")
    create_topic(b.bootstrap, topic, partitions=1)
    missing = unique("rest-unknown")
    r = refused(b, topic, f"/topics/{missing}", {"records": [{"value": "AA=="}]}, "binary", 404, 40401)
    assert r == {"error_code": 40401, "message": "Topic not found."}
    refused(b, topic, f"/topics/{missing}/partitions/0", {"records": [{"value": "AA=="}]}, "binary", 404, 40401)
    assert missing not in get(b, "/topics").json()
