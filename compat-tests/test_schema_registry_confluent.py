"""Schema Registry answers pinned to Confluent's, with requests and confluent_kafka.schema_registry.

Compatibility against `latest` of a subject with no versions (true, 6.0+) and
a numbered one (40402); an explicit `id` outside IMPORT mode (42205 unless it
is the registered schema's own) and a registration without one in IMPORT
mode (42205); the config fields `normalize`, `alias`, `validateFields` and
`compatibilityGroup` stored (across a restart) and honoured; the googleapis
`google/type/*.proto` imports served without references; an unknown
`format` answered with the default form.
"""

from __future__ import annotations

import json

import requests
from confluent_kafka.schema_registry import (Metadata, MetadataProperties, Schema,
                                             SchemaRegistryClient, ServerConfig)
from confluent_kafka.schema_registry.error import SchemaRegistryError
import pytest

from kafkautil import unique

CT = "application/vnd.schemaregistry.v1+json"

USER_V1 = json.dumps({"type": "record", "name": "User", "namespace": "c",
                      "fields": [{"name": "name", "type": "string"}]})
USER_V2_NO_DEFAULT = json.dumps({"type": "record", "name": "User", "namespace": "c",
                                 "fields": [{"name": "name", "type": "string"},
                                            {"name": "age", "type": "int"}]})
USER_OTHER = json.dumps({"type": "record", "name": "User", "namespace": "c",
                         "fields": [{"name": "id", "type": "long"}]})
PROTO_COMPACT = ('syntax="proto3"; package {}; option java_package="c"; option go_package="g"; '
                 'message N {{ int32 b = 2; string a = 1; }}')
PROTO_NORMALIZED = ('syntax = "proto3";\npackage {};\n\noption go_package = "g";\noption java_package = "c";\n\n'
                    'message N {{\n  string a = 1;\n  int32 b = 2;\n}}\n')


def client(b) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": b.schema_registry_url})


def call(b, method, path, body=None):
    data = None if body is None else json.dumps(body)
    return requests.request(method, b.schema_registry_url + path, data=data,
                            headers={"Content-Type": CT}, timeout=10)


def post(b, path, body):
    return call(b, "POST", path, body)


def put(b, path, body):
    return call(b, "PUT", path, body)


def get(b, path):
    return call(b, "GET", path)


def error(r):
    return r.status_code, r.json().get("error_code")


def with_props(text, **props):
    return Schema(text, "AVRO", metadata=Metadata(tags=None, properties=MetadataProperties(props), sensitive=None))


def test_compatibility_of_a_subject_without_versions(broker):
    sr = client(broker)
    missing = unique("missing")
    assert sr.test_compatibility(missing, Schema(USER_V1, "AVRO")) is True
    assert sr.test_compatibility_all_versions(missing, Schema(USER_V1, "AVRO")) is True
    r = post(broker, f"/compatibility/subjects/{missing}/versions/latest", {"schema": USER_V1})
    assert (r.status_code, r.json()) == (200, {"is_compatible": True})
    with pytest.raises(SchemaRegistryError) as e:
        sr.test_compatibility(missing, Schema(USER_V1, "AVRO"), version=1)
    assert (e.value.http_status_code, e.value.error_code) == (404, 40402)
    # All versions soft-deleted: latest is checked against nothing.
    gone = unique("gone")
    sr.register_schema(gone, Schema(USER_V1, "AVRO"))
    sr.delete_subject(gone)
    assert sr.test_compatibility(gone, Schema(USER_OTHER, "AVRO")) is True
    # verbose: a schema that does not parse is an answer.
    r = post(broker, f"/compatibility/subjects/{missing}/versions/latest?verbose=true", {"schema": "{nope"})
    assert r.status_code == 200 and r.json()["is_compatible"] is False and len(r.json()["messages"]) == 1


def test_explicit_id_outside_import_mode(fresh_broker):
    b = fresh_broker
    sr = client(b)
    s = unique("ids")
    first = sr.register_schema(s, Schema(USER_V1, "AVRO"))
    # The registered schema with its own id: answered.
    r = post(b, f"/subjects/{s}/versions", {"schema": USER_V1, "id": first})
    assert (r.status_code, r.json()) == (200, {"id": first})
    # Another id, or a new schema with any id: 42205 with Confluent's message.
    r = post(b, f"/subjects/{s}/versions", {"schema": USER_V1, "id": first + 7})
    assert (r.status_code, r.json()) == (422, {"error_code": 42205,
                                               "message": f"Subject {s} in context  is not in import mode"})
    r = post(b, f"/subjects/{s}/versions", {"schema": USER_OTHER, "id": first})
    assert error(r) == (422, 42205)
    assert get(b, f"/subjects/{s}/versions").json() == [1]
    # IMPORT: an id is needed.
    imp = unique("imp")
    assert put(b, f"/mode/{imp}", {"mode": "IMPORT"}).status_code == 200
    r = post(b, f"/subjects/{imp}/versions", {"schema": USER_OTHER})
    assert (r.status_code, r.json()) == (422, {"error_code": 42205,
                                               "message": f"Subject {imp} in context  is not in read-write mode"})
    r = post(b, f"/subjects/{imp}/versions", {"schema": USER_OTHER, "id": 500, "version": 3})
    assert (r.status_code, r.json()) == (200, {"id": 500})
    # READONLY: the registered schema is answered, a new one is not.
    assert put(b, f"/mode/{s}", {"mode": "READONLY"}).status_code == 200
    assert client(b).register_schema(s, Schema(USER_V1, "AVRO")) == first
    with pytest.raises(SchemaRegistryError) as e:
        sr.register_schema(s, Schema(USER_OTHER, "AVRO"))
    assert e.value.error_code == 42205


def test_config_fields_are_stored_and_survive_a_restart(fresh_broker):
    b = fresh_broker
    s = unique("cfg")
    body = {"normalize": True, "validateFields": True, "compatibilityGroup": "major", "alias": "elsewhere"}
    r = put(b, f"/config/{s}", body)
    assert (r.status_code, r.json()) == (200, body)
    r = put(b, "/config", {"compatibility": "FULL", "normalize": False})
    assert r.json() == {"compatibility": "FULL", "normalize": False}
    sr = client(b)
    assert sr.get_config(s).compatibility_group == "major"
    b.restart()
    assert get(b, f"/config/{s}").json() == body
    assert get(b, "/config").json() == {"compatibilityLevel": "FULL", "normalize": False}
    assert get(b, f"/config/{unique('none')}?defaultToGlobal=true").json() == \
        {"compatibilityLevel": "FULL", "normalize": False}
    assert error(get(b, f"/config/{unique('none')}")) == (404, 40408)
    r = put(b, f"/config/{s}", {"alias": None})
    assert "alias" not in r.json() and r.json()["normalize"] is True


def test_normalize_from_the_config(fresh_broker):
    b = fresh_broker
    sr = client(b)
    # Without normalize the text is stored as given.
    raw_id = sr.register_schema(unique("raw"), Schema(PROTO_COMPACT.format("raw"), "PROTOBUF"))
    assert sr.get_schema(raw_id).schema_str == PROTO_COMPACT.format("raw")
    # The subject's config normalizes register, lookup and compatibility.
    norm = unique("norm")
    put(b, f"/config/{norm}", {"normalize": True})
    schema = Schema(PROTO_COMPACT.format("norm"), "PROTOBUF")
    norm_id = sr.register_schema(norm, schema)
    assert get(b, f"/schemas/ids/{norm_id}").json()["schema"] == PROTO_NORMALIZED.format("norm")
    assert sr.lookup_schema(norm, schema).schema_id == norm_id
    assert sr.test_compatibility(norm, schema) is True
    # Global: every subject without its own config.
    put(b, "/config", {"normalize": True})
    any_id = sr.register_schema(unique("any"), Schema(PROTO_COMPACT.format("glob"), "PROTOBUF"))
    assert get(b, f"/schemas/ids/{any_id}").json()["schema"] == PROTO_NORMALIZED.format("glob")


def test_validate_fields(broker):
    sr = client(broker)
    dollar = json.dumps({"type": "object", "properties": {"$$x": {"type": "string"}}})
    loose, strict = unique("loose"), unique("strict")
    sr.register_schema(loose, Schema(dollar, "JSON"))
    put(broker, f"/config/{strict}", {"validateFields": True})
    with pytest.raises(SchemaRegistryError) as e:
        sr.register_schema(strict, Schema(dollar, "JSON"))
    assert (e.value.http_status_code, e.value.error_code) == (422, 42201)
    # Reserved fields (metadata property confluent:reserved).
    with pytest.raises(SchemaRegistryError) as e:
        sr.register_schema(strict, with_props(USER_V1, **{"confluent:reserved": "name"}))
    assert e.value.http_status_code == 409
    assert "conflicts with the reserved field name" in e.value.error_message
    sr.register_schema(strict, with_props(USER_V1, **{"confluent:reserved": "ssn,age"}))
    with pytest.raises(SchemaRegistryError) as e:
        sr.register_schema(strict, with_props(USER_V1, **{"confluent:reserved": "ssn"}))
    assert "reserved field age removed" in e.value.error_message


def test_compatibility_group(broker):
    sr = client(broker)
    s = unique("grouped")
    sr.set_config(s, ServerConfig(compatibility_group="major"))
    put(broker, f"/config/{s}", {"compatibility": "BACKWARD"})
    assert get(broker, f"/config/{s}").json()["compatibilityGroup"] == "major"
    sr.register_schema(s, with_props(USER_V1, major="1"))
    # Breaking, but in a new group: accepted.
    sr.register_schema(s, with_props(USER_V2_NO_DEFAULT, major="2"))
    assert sr.test_compatibility_all_versions(s, with_props(USER_OTHER, major="1")) is False
    with pytest.raises(SchemaRegistryError) as e:
        sr.register_schema(s, with_props(USER_OTHER, major="1"))
    assert e.value.http_status_code == 409
    assert sr.get_versions(s) == [1, 2]


def test_alias_acts_on_its_target(broker):
    sr = client(broker)
    real, alias = unique("real"), unique("alias")
    schema_id = sr.register_schema(real, Schema(USER_V1, "AVRO"))
    assert put(broker, f"/config/{alias}", {"alias": real}).status_code == 200
    latest = sr.get_latest_version(alias)
    assert (latest.subject, latest.schema_id) == (real, schema_id)
    put(broker, f"/config/{real}", {"compatibility": "NONE"})
    sr.register_schema(alias, Schema(USER_OTHER, "AVRO"))
    assert sr.get_versions(real) == [1, 2]
    assert alias not in sr.get_subjects()
    assert sr.lookup_schema(alias, Schema(USER_V1, "AVRO")).subject == real
    assert get(broker, f"/schemas/ids/{schema_id}?subject={alias}").json()["subject"] == real
    assert get(broker, f"/config/{alias}").json() == {"alias": real}


def test_google_type_imports(broker):
    sr = client(broker)
    s = unique("orders")
    text = ('syntax = "proto3";\npackage shop;\n'
            'import "google/type/date.proto";\nimport "google/type/money.proto";\n'
            'import "google/type/latlng.proto";\nimport "google/type/timeofday.proto";\n'
            'message Order {\n  google.type.Date day = 1;\n  google.type.Money price = 2;\n'
            '  google.type.LatLng where = 3;\n  google.type.TimeOfDay at = 4;\n}\n')
    schema_id = sr.register_schema(s, Schema(text, "PROTOBUF"))
    assert sr.get_schema(schema_id).schema_str == text
    r = get(broker, f"/schemas/ids/{schema_id}?format=serialized")
    assert r.status_code == 200 and r.json()["schema"]
    for name in ["calendar_period", "color", "datetime", "dayofweek", "decimal", "expr", "fraction",
                 "interval", "month", "phone_number", "postal_address", "quaternion"]:
        r = post(broker, f"/subjects/{unique('t')}/versions",
                 {"schemaType": "PROTOBUF",
                  "schema": f'syntax = "proto3";\nimport "google/type/{name}.proto";\nmessage U {{ string a = 1; }}\n'})
        assert r.status_code == 200, (name, r.text)


def test_unknown_format_is_the_default_form(broker):
    s = unique("fmt")
    spaced = '{ "type": "record", "name": "F", "fields": [ {"name": "a", "type": "string"} ] }'
    schema_id = post(broker, f"/subjects/{s}/versions", {"schema": spaced}).json()["id"]
    default = get(broker, f"/schemas/ids/{schema_id}?format=default").json()["schema"]
    assert default != spaced
    for path in [f"/schemas/ids/{schema_id}?format=bogus", f"/subjects/{s}/versions/1?format=bogus"]:
        r = get(broker, path)
        assert (r.status_code, r.json()["schema"]) == (200, default), r.text
    r = get(broker, f"/schemas/ids/{schema_id}/schema?format=bogus")
    assert (r.status_code, r.text) == (200, default)
