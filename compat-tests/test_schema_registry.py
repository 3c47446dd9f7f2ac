"""The Schema Registry port with confluent_kafka.schema_registry and raw HTTP.

Registration of Avro, JSON Schema and Protobuf, shared ids, lookups,
compatibility, config, deletes, Confluent's error codes, persistence across
a restart through `_schemas`, and Avro serializers producing through the
broker and consuming back. Data contracts (`metadata`, `ruleSet`, config
defaults and overrides) through the client; `GET /schemas/ids/{id}` with
`subject`, `format` and `fetchMaxId`. Protobuf as text and as the base64
descriptor Python registers (one id), `normalize=true`, Confluent's built-in
imports; JSON Schema compatibility of dependencies, tuples and `not`.
"""

from __future__ import annotations

import json

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2
import requests
import base64

from confluent_kafka.schema_registry import (Metadata, MetadataProperties, MetadataTags, Rule, RuleKind,
                                             RuleMode, RuleSet, Schema, SchemaRegistryClient, ServerConfig)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from kafkautil import consume, consumer, create_topic, produce_ok, producer, unique

CT = "application/vnd.schemaregistry.v1+json"

USER_V1 = json.dumps({"type": "record", "name": "User", "namespace": "compat",
                      "fields": [{"name": "name", "type": "string"}]})
USER_V2_DEFAULT = json.dumps({"type": "record", "name": "User", "namespace": "compat",
                              "fields": [{"name": "name", "type": "string"},
                                         {"name": "age", "type": "int", "default": 0}]})
USER_V2_NO_DEFAULT = json.dumps({"type": "record", "name": "User", "namespace": "compat",
                                 "fields": [{"name": "name", "type": "string"},
                                            {"name": "age", "type": "int"}]})
JSON_SCHEMA = json.dumps({"type": "object", "properties": {"a": {"type": "string"}}})
PROTO = 'syntax = "proto3";\npackage compat;\nmessage Thing { string a = 1; int32 b = 2; }\n'


def client(b) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": b.schema_registry_url})


def post(b, path, body):
    return requests.post(b.schema_registry_url + path, data=json.dumps(body),
                         headers={"Content-Type": CT}, timeout=10)


def get(b, path):
    return requests.get(b.schema_registry_url + path, timeout=10)


def test_register_all_types_and_read_back(broker):
    sr = client(broker)
    avro_subject, json_subject, proto_subject = unique("avro"), unique("json"), unique("proto")
    avro_id = sr.register_schema(avro_subject, Schema(USER_V1, "AVRO"))
    json_id = sr.register_schema(json_subject, Schema(JSON_SCHEMA, "JSON"))
    proto_id = sr.register_schema(proto_subject, Schema(PROTO, "PROTOBUF"))
    assert len({avro_id, json_id, proto_id}) == 3

    # The same schema again, and under another subject, keeps its id.
    assert sr.register_schema(avro_subject, Schema(USER_V1, "AVRO")) == avro_id
    other = unique("avro-other")
    assert sr.register_schema(other, Schema(USER_V1, "AVRO")) == avro_id

    fetched = sr.get_schema(proto_id)
    assert fetched.schema_type == "PROTOBUF"
    assert "message Thing" in fetched.schema_str
    assert json.loads(sr.get_schema(avro_id).schema_str)["name"] == "User"

    latest = sr.get_latest_version(json_subject)
    assert (latest.schema_id, latest.version, latest.schema.schema_type) == (json_id, 1, "JSON")
    assert sr.get_versions(avro_subject) == [1]
    assert sr.get_version(avro_subject, 1).schema_id == avro_id
    found = sr.lookup_schema(avro_subject, Schema(USER_V1, "AVRO"))
    assert (found.schema_id, found.version) == (avro_id, 1)
    subjects = sr.get_subjects()
    assert {avro_subject, json_subject, proto_subject, other} <= set(subjects)
    assert sorted(get(broker, f"/schemas/ids/{avro_id}/subjects").json()) == sorted([avro_subject, other])
    assert get(broker, "/schemas/types").json() == ["JSON", "PROTOBUF", "AVRO"]
    r = get(broker, f"/subjects/{avro_subject}/versions/latest")
    assert r.headers["Content-Type"] == CT


def test_compatibility_and_config(broker):
    sr = client(broker)
    subject = unique("compat")
    sr.register_schema(subject, Schema(USER_V1, "AVRO"))
    assert sr.test_compatibility(subject, Schema(USER_V2_DEFAULT, "AVRO")) is True
    assert sr.test_compatibility(subject, Schema(USER_V2_NO_DEFAULT, "AVRO")) is False

    with pytest.raises(SchemaRegistryError) as e:
        sr.register_schema(subject, Schema(USER_V2_NO_DEFAULT, "AVRO"))
    assert e.value.http_status_code == 409 and e.value.error_code == 409

    r = post(broker, f"/compatibility/subjects/{subject}/versions/latest?verbose=true",
             {"schema": USER_V2_NO_DEFAULT})
    assert r.status_code == 200 and r.json()["is_compatible"] is False and r.json()["messages"]

    assert sr.get_compatibility() == "BACKWARD"
    assert sr.set_compatibility(subject, "NONE") == {"compatibility": "NONE"}
    assert sr.get_compatibility(subject) == "NONE"
    assert sr.register_schema(subject, Schema(USER_V2_NO_DEFAULT, "AVRO")) > 0
    assert sr.get_versions(subject) == [1, 2]


def test_soft_and_permanent_delete(broker):
    sr = client(broker)
    subject = unique("delete")
    sr.register_schema(subject, Schema(USER_V1, "AVRO"))
    sr.register_schema(subject, Schema(USER_V2_DEFAULT, "AVRO"))
    assert sr.delete_version(subject, 1) == 1
    assert sr.get_versions(subject) == [2]
    r = requests.delete(f"{broker.schema_registry_url}/subjects/{subject}?permanent=true", timeout=10)
    assert (r.status_code, r.json()["error_code"]) == (404, 40405)
    assert sr.delete_subject(subject) == [2]
    assert subject not in sr.get_subjects()
    assert subject in get(broker, "/subjects?deleted=true").json()
    assert sr.delete_subject(subject, permanent=True) == [1, 2]
    assert subject not in get(broker, "/subjects?deleted=true").json()
    r = get(broker, f"/subjects/{subject}/versions")
    assert (r.status_code, r.json()["error_code"]) == (404, 40401)


def test_error_codes_over_raw_http(broker):
    subject = unique("errors")
    r = get(broker, f"/subjects/{subject}/versions/1")
    assert (r.status_code, r.json()["error_code"]) == (404, 40401)
    assert post(broker, f"/subjects/{subject}/versions", {"schema": USER_V1}).status_code == 200
    r = get(broker, f"/subjects/{subject}/versions/7")
    assert (r.status_code, r.json()["error_code"]) == (404, 40402)
    r = get(broker, "/schemas/ids/987654")
    assert (r.status_code, r.json()["error_code"]) == (404, 40403)
    r = post(broker, f"/subjects/{subject}/versions", {"schema": "{not avro"})
    assert (r.status_code, r.json()["error_code"]) == (422, 42201)
    r = post(broker, f"/subjects/{subject}/versions", {"schema": USER_V2_NO_DEFAULT})
    assert (r.status_code, r.json()["error_code"]) == (409, 409)
    assert "message" in r.json()
    r = get(broker, f"/subjects/{subject}/versions/zero")
    assert (r.status_code, r.json()["error_code"]) == (422, 42202)
    # Explicit nulls and unknown fields are accepted, in every content type.
    for ct in (CT, "application/vnd.schemaregistry+json", "application/json"):
        r = requests.post(f"{broker.schema_registry_url}/subjects/{subject}/versions",
                          data=json.dumps({"schema": USER_V1, "metadata": None, "ruleSet": None,
                                           "references": None, "somethingNew": 1}),
                          headers={"Content-Type": ct}, timeout=10)
        assert r.status_code == 200, r.text
    assert get(broker, "/contexts").json() == ["."]
    assert "kafka-cluster" in get(broker, "/v1/metadata/id").json()["scope"]["clusters"]


def test_error_codes_added_for_contracts_subjects_and_ids(fresh_broker):
    """42207, 42208, 42209, 42210 and 40403/400 on GET by id, over raw HTTP."""
    b = fresh_broker
    # 42210: a rule set that breaks Confluent's rules (no type; a domain rule with a migration mode).
    for rules in ({"domainRules": [{"name": "noType"}]},
                  {"domainRules": [{"name": "up", "type": "CEL", "mode": "UPGRADE"}]},
                  {"domainRules": [{"name": "1bad", "type": "CEL"}]}):
        r = post(b, "/subjects/rules/versions", {"schema": USER_V1, "ruleSet": rules})
        assert (r.status_code, r.json()["error_code"]) == (422, 42210), r.text
    r = requests.put(f"{b.schema_registry_url}/config/rules",
                     data=json.dumps({"defaultRuleSet": {"migrationRules": [{"name": "m", "type": "JSONATA"}]}}),
                     headers={"Content-Type": CT}, timeout=10)
    assert (r.status_code, r.json()["error_code"]) == (422, 42210), r.text
    # 42208: control characters in a subject, or the reserved __GLOBAL.
    r = post(b, "/subjects/bad%01subject/versions", {"schema": USER_V1})
    assert (r.status_code, r.json()["error_code"]) == (422, 42208), r.text
    r = requests.put(f"{b.schema_registry_url}/config/__GLOBAL", data=json.dumps({"compatibility": "NONE"}),
                     headers={"Content-Type": CT}, timeout=10)
    assert (r.status_code, r.json()["error_code"]) == (422, 42208), r.text
    # 42209: a schema whose record does not fit in _schemas (1 MiB).
    big = json.dumps({"type": "record", "name": "Big", "doc": "x" * (1 << 20), "fields": []})
    r = post(b, "/subjects/big/versions", {"schema": big})
    assert (r.status_code, r.json()["error_code"]) == (422, 42209), r.text[:200]
    assert get(b, "/subjects/big/versions").status_code == 404
    # 42207: IMPORT of an already registered schema under another id.
    first = post(b, "/subjects/imported/versions", {"schema": USER_V1}).json()["id"]
    r = requests.put(f"{b.schema_registry_url}/mode?force=true", data=json.dumps({"mode": "IMPORT"}),
                     headers={"Content-Type": CT}, timeout=10)
    assert r.status_code == 200, r.text
    r = post(b, "/subjects/other/versions", {"schema": USER_V1, "id": first + 50, "version": 1})
    assert (r.status_code, r.json()["error_code"]) == (422, 42207), r.text
    requests.put(f"{b.schema_registry_url}/mode", data=json.dumps({"mode": "READWRITE"}),
                 headers={"Content-Type": CT}, timeout=10)
    # 40403 for an id not registered under the subject asked for; a format the type lacks is
    # its default form, as Confluent answers it (test_schema_registry_confluent.py).
    r = get(b, f"/schemas/ids/{first}?subject=nobody")
    assert (r.status_code, r.json()["error_code"]) == (404, 40403)
    r = get(b, f"/schemas/ids/{first}?format=serialized")
    assert r.status_code == 200 and r.json()["schema"] == get(b, f"/schemas/ids/{first}?format=default").json()["schema"]


def test_metadata_and_rule_set_through_the_client(broker):
    """Confluent 7.4+ data contracts: stored, returned, inherited, part of the schema's identity."""
    sr = client(broker)
    subject = unique("contract")
    metadata = Metadata(tags=MetadataTags({"$.name": ["PII"]}),
                        properties=MetadataProperties({"owner": "team-a", "app.version": "1"}),
                        sensitive=["secret"])
    rules = RuleSet(migration_rules=None, domain_rules=[
        Rule(name="checkName", doc=None, kind=RuleKind.CONDITION, mode=RuleMode.WRITE, type="CEL",
             tags=None, params=None, expr="size(message.name) > 0", on_success=None, on_failure="ERROR",
             disabled=False)])
    first = sr.register_schema_full_response(subject, Schema(USER_V1, "AVRO", metadata=metadata, rule_set=rules))
    latest = sr.get_latest_version(subject)
    assert latest.schema_id == first.schema_id
    assert latest.schema.metadata.properties.properties == {"owner": "team-a", "app.version": "1"}
    assert latest.schema.metadata.tags.tags == {"$.name": ["PII"]}
    assert latest.schema.metadata.sensitive == ["secret"]
    assert latest.schema.rule_set.domain_rules[0].name == "checkName"
    assert latest.schema.rule_set.domain_rules[0].mode == RuleMode.WRITE
    by_id = get(broker, f"/schemas/ids/{first.schema_id}").json()
    assert by_id["metadata"]["properties"]["owner"] == "team-a"
    assert by_id["ruleSet"]["domainRules"][0]["expr"] == "size(message.name) > 0"
    # The same schema without metadata and rules inherits the latest version's: same id.
    assert sr.register_schema(subject, Schema(USER_V1, "AVRO")) == first.schema_id
    assert sr.get_versions(subject) == [1]
    # Only the metadata differs: a new version with a new id, the rules carried over.
    v2 = Metadata(tags=None, properties=MetadataProperties({"owner": "team-a", "app.version": "2"}),
                  sensitive=None)
    second = sr.register_schema(subject, Schema(USER_V1, "AVRO", metadata=v2))
    assert second != first.schema_id
    assert sr.get_versions(subject) == [1, 2]
    assert sr.get_version(subject, 2).schema.rule_set.domain_rules[0].name == "checkName"
    # Lookup matches the request as given; latest-with-metadata finds by property.
    found = sr.lookup_schema(subject, Schema(USER_V1, "AVRO", metadata=metadata, rule_set=rules))
    assert (found.schema_id, found.version) == (first.schema_id, 1)
    assert sr.get_latest_with_metadata(subject, {"app.version": "1"}).version == 1
    assert sr.get_latest_with_metadata(subject, {"owner": "team-a"}).version == 2
    with pytest.raises(SchemaRegistryError) as e:
        sr.get_latest_with_metadata(subject, {"owner": "nobody"})
    assert e.value.error_code == 40403
    # Config defaults and overrides, read back and merged into a registration.
    other = unique("contract-config")
    config = ServerConfig(default_metadata=Metadata(tags=None, properties=MetadataProperties({"owner": "platform"}),
                                                    sensitive=None),
                          override_metadata=Metadata(tags=None, properties=MetadataProperties({"tier": "gold"}),
                                                     sensitive=None))
    sr.set_config(other, config)
    got = sr.get_config(other)
    assert got.default_metadata.properties.properties == {"owner": "platform"}
    assert got.override_metadata.properties.properties == {"tier": "gold"}
    sr.register_schema(other, Schema(USER_V1, "AVRO"))
    merged = sr.get_latest_version(other).schema.metadata.properties.properties
    assert merged == {"owner": "platform", "tier": "gold"}


def test_schema_by_id_subject_format_and_max_id(broker):
    sr = client(broker)
    address_subject, user_subject, proto_subject = unique("address"), unique("user"), unique("proto")
    address = json.dumps({"type": "record", "name": "Address", "namespace": "compat",
                          "fields": [{"name": "street", "type": "string"}]})
    user = json.dumps({"type": "record", "name": "Owner", "namespace": "compat",
                       "fields": [{"name": "home", "type": "compat.Address"}]})
    sr.register_schema(address_subject, Schema(address, "AVRO"))
    refs = [{"name": "compat.Address", "subject": address_subject, "version": 1}]
    user_id = post(broker, f"/subjects/{user_subject}/versions", {"schema": user, "references": refs}).json()["id"]
    # subject: the id under that subject (its version in the answer), 40403 under another.
    fetched = get(broker, f"/schemas/ids/{user_id}?subject={user_subject}").json()
    assert (fetched["subject"], fetched["version"]) == (user_subject, 1)
    assert sr.get_schema(user_id, subject_name=user_subject).references[0].name == "compat.Address"
    with pytest.raises(SchemaRegistryError) as e:
        sr.get_schema(user_id, subject_name=address_subject)
    assert e.value.error_code == 40403
    # format=resolved: the referenced record written out in place.
    resolved = json.loads(sr.get_schema(user_id, fmt="resolved").schema_str)
    assert resolved["fields"][0]["type"]["fields"][0]["name"] == "street"
    # format=serialized for Protobuf registered as .proto text: a FileDescriptorProto.
    gadget = PROTO.replace("Thing", "Gadget")
    proto_id = sr.register_schema(proto_subject, Schema(gadget, "PROTOBUF"))
    serialized = sr.get_schema(proto_id, fmt="serialized").schema_str
    fdp = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(serialized))
    assert fdp.package == "compat" and [m.name for m in fdp.message_type] == ["Gadget"]
    assert "message Gadget" in get(broker, f"/schemas/ids/{proto_id}").json()["schema"]
    # fetchMaxId: the highest id the registry has given.
    assert get(broker, f"/schemas/ids/{user_id}?fetchMaxId=true").json()["maxId"] >= proto_id
    # deleted on the id's subjects and versions.
    requests.delete(f"{broker.schema_registry_url}/subjects/{proto_subject}", timeout=10)
    assert get(broker, f"/schemas/ids/{proto_id}/subjects").json() == []
    assert get(broker, f"/schemas/ids/{proto_id}/subjects?deleted=true").json() == [proto_subject]
    assert get(broker, f"/schemas/ids/{proto_id}/versions?deleted=true").json() == [
        {"subject": proto_subject, "version": 1}]


def test_restart_keeps_subjects_ids_and_config(fresh_broker):
    b = fresh_broker
    sr = client(b)
    a_id = sr.register_schema("a-value", Schema(USER_V1, "AVRO"))
    p_id = sr.register_schema("p-value", Schema(PROTO, "PROTOBUF"))
    sr.set_compatibility("a-value", "FULL")
    sr.set_compatibility(None, "FORWARD")
    sr.register_schema("gone", Schema(JSON_SCHEMA, "JSON"))
    sr.delete_subject("gone")
    owned = Metadata(tags=None, properties=MetadataProperties({"owner": "team-a"}), sensitive=None)
    m_id = sr.register_schema("m-value", Schema(USER_V2_DEFAULT, "AVRO", metadata=owned))
    b.restart()
    sr = client(b)
    assert sorted(sr.get_subjects()) == ["a-value", "m-value", "p-value"]
    assert get(b, "/subjects?deleted=true").json() == ["a-value", "gone", "m-value", "p-value"]
    assert sr.get_schema(m_id).metadata.properties.properties == {"owner": "team-a"}
    assert sr.register_schema("m-value", Schema(USER_V2_DEFAULT, "AVRO")) == m_id
    assert sr.get_latest_version("a-value").schema_id == a_id
    assert sr.get_schema(p_id).schema_type == "PROTOBUF"
    assert sr.get_compatibility("a-value") == "FULL"
    assert sr.get_compatibility() == "FORWARD"
    # Ids continue after the replayed ones.
    new_id = sr.register_schema("b-value", Schema('"string"', "AVRO"))
    assert new_id > max(a_id, p_id, m_id)
    assert sr.register_schema("a-value", Schema(USER_V1, "AVRO")) == a_id


def test_avro_serializer_through_the_broker(broker, topic):
    sr = client(broker)
    create_topic(broker.bootstrap, topic)
    serializer = AvroSerializer(sr, USER_V1)
    deserializer = AvroDeserializer(sr)
    ctx = SerializationContext(topic, MessageField.VALUE)
    users = [{"name": f"user-{i}"} for i in range(5)]
    p = producer(broker.bootstrap)
    produce_ok(p, topic, [{"value": serializer(u, ctx)} for u in users])
    latest = sr.get_latest_version(f"{topic}-value")
    c = consumer(broker.bootstrap)
    try:
        c.subscribe([topic])
        messages = consume(c, len(users))
    finally:
        c.close()
    for m in messages:
        assert m.value()[0] == 0
        assert int.from_bytes(m.value()[1:5], "big") == latest.schema_id
    assert [deserializer(m.value(), ctx) for m in messages] == users


def test_json_serializer_through_the_broker(broker, topic):
    sr = client(broker)
    create_topic(broker.bootstrap, topic)
    schema = json.dumps({"$schema": "http://json-schema.org/draft-07/schema#", "title": "Thing",
                         "type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                         "required": ["a"]})
    serializer = JSONSerializer(schema, sr)
    deserializer = JSONDeserializer(schema, schema_registry_client=sr)
    ctx = SerializationContext(topic, MessageField.VALUE)
    things = [{"a": f"thing-{i}", "b": i} for i in range(3)]
    p = producer(broker.bootstrap)
    produce_ok(p, topic, [{"value": serializer(t, ctx)} for t in things])
    registered = sr.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "JSON"
    c = consumer(broker.bootstrap)
    try:
        c.subscribe([topic])
        messages = consume(c, len(things))
    finally:
        c.close()
    assert {int.from_bytes(m.value()[1:5], "big") for m in messages} == {registered.schema_id}
    assert [deserializer(m.value(), ctx) for m in messages] == things


def test_import_mode_keeps_explicit_ids(fresh_broker):
    b = fresh_broker
    r = requests.put(f"{b.schema_registry_url}/mode", data=json.dumps({"mode": "IMPORT"}),
                     headers={"Content-Type": CT}, timeout=10)
    assert r.json() == {"mode": "IMPORT"}
    r = post(b, "/subjects/imported/versions", {"schema": USER_V1, "id": 100, "version": 4})
    assert r.status_code == 200 and r.json()["id"] == 100, r.text
    requests.put(f"{b.schema_registry_url}/mode", data=json.dumps({"mode": "READWRITE"}),
                 headers={"Content-Type": CT}, timeout=10)
    r = post(b, "/subjects/imported/versions", {"schema": USER_V1, "id": 7})
    assert (r.status_code, r.json()["error_code"]) == (422, 42205)
    b.restart()
    assert get(b, "/subjects/imported/versions").json() == [4]
    assert get(b, "/schemas/ids/100").status_code == 200
    assert post(b, "/subjects/next/versions", {"schema": '"string"'}).json()["id"] == 101


def _reading_class():
    """A message class built at run time (no protoc): compat.Reading with a Timestamp."""
    name = "compat_reading.proto"
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(name)
    except KeyError:
        fdp = descriptor_pb2.FileDescriptorProto(name=name, package="compat", syntax="proto3",
                                                 dependency=["google/protobuf/timestamp.proto"])
        m = fdp.message_type.add(name="Reading")
        F = descriptor_pb2.FieldDescriptorProto
        m.field.add(name="sensor", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
        m.field.add(name="value", number=2, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
        m.field.add(name="at", number=3, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                    type_name=".google.protobuf.Timestamp")
        assert timestamp_pb2.Timestamp  # the dependency is in the default pool
        pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("compat.Reading"))


def test_protobuf_serializer_through_the_broker(broker, topic):
    sr = client(broker)
    create_topic(broker.bootstrap, topic)
    Reading = _reading_class()
    serializer = ProtobufSerializer(Reading, sr, {"use.deprecated.format": False})
    deserializer = ProtobufDeserializer(Reading, {"use.deprecated.format": False})
    ctx = SerializationContext(topic, MessageField.VALUE)
    readings = [Reading(sensor=f"s{i}", value=i / 2) for i in range(3)]
    for i, r in enumerate(readings):
        r.at.seconds = 1_700_000_000 + i
    p = producer(broker.bootstrap)
    produce_ok(p, topic, [{"value": serializer(r, ctx)} for r in readings])
    registered = sr.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "PROTOBUF"
    c = consumer(broker.bootstrap)
    try:
        c.subscribe([topic])
        messages = consume(c, len(readings))
    finally:
        c.close()
    assert {int.from_bytes(m.value()[1:5], "big") for m in messages} == {registered.schema_id}
    assert [deserializer(m.value(), ctx) for m in messages] == readings


READING_PROTO = ('syntax = "proto3";\npackage compat;\nimport "google/protobuf/timestamp.proto";\n'
                 "// the same file _reading_class builds\n"
                 "message Reading { string sensor = 1; double value = 2; google.protobuf.Timestamp at = 3; }\n")


def test_protobuf_text_base64_normalize_and_confluent_imports(broker):
    sr = client(broker)
    # The .proto text and the base64 descriptor Python's serializer registers: one id.
    text_id = sr.register_schema(unique("reading-text"), Schema(READING_PROTO, "PROTOBUF"))
    Reading = _reading_class()
    encoded = base64.b64encode(Reading.DESCRIPTOR.file.serialized_pb).decode()
    b64_subject = unique("reading-b64")
    assert sr.register_schema(b64_subject, Schema(encoded, "PROTOBUF")) == text_id
    # A base64 schema reads back as .proto text.
    other = descriptor_pb2.FileDescriptorProto(name="compat_other.proto", package="compat", syntax="proto3")
    other.message_type.add(name="Other").field.add(
        name="n", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    other_id = sr.register_schema(unique("other-b64"),
                                  Schema(base64.b64encode(other.SerializeToString()).decode(), "PROTOBUF"))
    expected = 'syntax = "proto3";\npackage compat;\n\nmessage Other {\n  int64 n = 1;\n}\n'
    r = get(broker, f"/schemas/ids/{other_id}?format=default")
    assert r.json()["schema"] == expected
    # Stored as that text, as Confluent stores it: a plain GET returns it too.
    assert get(broker, f"/schemas/ids/{other_id}").json()["schema"] == expected
    # normalize=true: layout, comments, option and field order do not matter.
    a = ('syntax = "proto3";\npackage compat;\noption java_package = "c";\noption go_package = "g";\n'
         "// a comment\nmessage N { string a = 1; int32 b = 2; }\n")
    b = 'syntax="proto3"; package compat; option go_package="g"; option java_package="c"; message N { int32 b = 2; string a = 1; }'
    subject = unique("normalized")
    id_a = sr.register_schema(subject, Schema(a, "PROTOBUF"), normalize_schemas=True)
    assert sr.register_schema(subject, Schema(b, "PROTOBUF"), normalize_schemas=True) == id_a
    assert get(broker, f"/schemas/ids/{id_a}").json()["schema"] == ('syntax = "proto3";\npackage compat;\n\noption go_package = "g";\n'
                                                                    'option java_package = "c";\n\nmessage N {\n'
                                                                    '  string a = 1;\n  int32 b = 2;\n}\n')
    # Confluent's own imports need no references.
    tagged = ('syntax = "proto3";\npackage compat;\nimport "confluent/meta.proto";\n'
              'import "confluent/type/decimal.proto";\n'
              'message Payment { string card = 1 [(confluent.field_meta).tags = "PII"];'
              ' confluent.type.Decimal amount = 2; }\n')
    assert sr.register_schema(unique("tagged"), Schema(tagged, "PROTOBUF")) > 0


def test_json_schema_compatibility_of_dependencies_tuples_and_not(broker):
    sr = client(broker)
    cases = [
        ({"type": "object", "dependencies": {"a": ["b"]}}, {"type": "object", "dependencies": {"a": ["b", "c"]}}, False),
        ({"type": "object", "dependencies": {"a": ["b", "c"]}}, {"type": "object", "dependencies": {"a": ["b"]}}, True),
        ({"type": "array", "prefixItems": [{"type": "string"}], "items": False},
         {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}], "items": False}, True),
        ({"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}], "items": False},
         {"type": "array", "prefixItems": [{"type": "string"}], "items": False}, False),
        ({"not": {"type": "integer"}}, {"not": {"type": "number"}}, False),
        ({"not": {"type": "number"}}, {"not": {"type": "integer"}}, True),
    ]
    for old, new, compatible in cases:
        subject = unique("json-compat")
        sr.register_schema(subject, Schema(json.dumps(old), "JSON"))
        assert sr.test_compatibility(subject, Schema(json.dumps(new), "JSON")) is compatible, (old, new)
