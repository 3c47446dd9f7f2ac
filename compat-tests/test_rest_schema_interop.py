"""Records written by confluent_kafka's schema-registry serializers, read over the REST Proxy.

The other REST suites produce over REST and read with Kafka clients; these go the other
way: AvroSerializer and JSONSerializer write through the broker, and a v2 consumer
instance of the matching format (and Strata's v3 read) show the values decoded as JSON.
"""

from __future__ import annotations

import json

import requests
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from kafkautil import create_topic, produce_ok, producer, unique

V2 = "application/vnd.kafka.v2+json"
HTTP_TIMEOUT = 40

USER = json.dumps({
    "type": "record", "name": "User",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "age", "type": "int"},
        {"name": "email", "type": ["null", "string"], "default": None},
    ],
})
ORDER = json.dumps({
    "type": "object",
    "properties": {"id": {"type": "integer"}, "item": {"type": "string"}},
    "required": ["id"],
})


def _serialize(serializer, topic, values):
    ctx = SerializationContext(topic, MessageField.VALUE)
    return [{"value": serializer(v, ctx)} for v in values]


def _consume_v2(url, topic, fmt, want):
    """Reads `want` records with a v2 instance of `fmt`, from the beginning."""
    group = unique("rest-interop")
    r = requests.post(f"{url}/consumers/{group}", headers={"Content-Type": V2}, timeout=HTTP_TIMEOUT,
                      json={"name": "i1", "format": fmt, "auto.offset.reset": "earliest"})
    assert r.status_code == 200, r.text
    base = f"{url}/consumers/{group}/instances/i1"
    try:
        r = requests.post(f"{base}/subscription", headers={"Content-Type": V2}, timeout=HTTP_TIMEOUT,
                          json={"topics": [topic]})
        assert r.status_code == 204, r.text
        got = []
        for _ in range(30):
            r = requests.get(f"{base}/records", timeout=HTTP_TIMEOUT,
                             headers={"Accept": f"application/vnd.kafka.{fmt}.v2+json"})
            assert r.status_code == 200, r.text
            got += r.json()
            if len(got) >= want:
                break
        return got
    finally:
        requests.delete(base, headers={"Content-Type": V2}, timeout=HTTP_TIMEOUT)


def test_avro_serializer_records_read_as_json_over_v2_and_v3(broker):
    topic = unique("rest-avro-in")
    create_topic(broker.bootstrap, topic, partitions=1)
    sr = SchemaRegistryClient({"url": broker.schema_registry_url})
    values = [{"name": "ann", "age": 31, "email": None}, {"name": "bob", "age": 42, "email": "b@x"}]
    produce_ok(producer(broker.bootstrap), topic, _serialize(AvroSerializer(sr, USER), topic, values))

    got = _consume_v2(broker.rest_proxy_url, topic, "avro", len(values))
    # Avro's JSON encoding, as Confluent's v2 consumer shows it: unions wrapped by branch name.
    assert [r["value"] for r in got] == [
        {"name": "ann", "age": 31, "email": None},
        {"name": "bob", "age": 42, "email": {"string": "b@x"}},
    ]
    assert [r["offset"] for r in got] == [0, 1]

    cluster = requests.get(f"{broker.rest_proxy_url}/v3/clusters", timeout=HTTP_TIMEOUT).json()["data"][0]
    r = requests.get(f"{broker.rest_proxy_url}/v3/clusters/{cluster['cluster_id']}/topics/{topic}"
                     f"/partitions/0/records", params={"offset": 0}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    read = r.json()
    schema_id = sr.get_latest_version(f"{topic}-value").schema_id
    assert [rec["value"]["type"] for rec in read["records"]] == ["AVRO", "AVRO"]
    assert {rec["value"]["schema_id"] for rec in read["records"]} == {schema_id}
    assert read["records"][0]["value"]["data"]["name"] == "ann"


def test_json_schema_serializer_records_read_over_v2(broker):
    topic = unique("rest-jsonschema-in")
    create_topic(broker.bootstrap, topic, partitions=1)
    sr = SchemaRegistryClient({"url": broker.schema_registry_url})
    values = [{"id": 1, "item": "pen"}, {"id": 2}]
    produce_ok(producer(broker.bootstrap), topic, _serialize(JSONSerializer(ORDER, sr), topic, values))

    got = _consume_v2(broker.rest_proxy_url, topic, "jsonschema", len(values))
    assert [r["value"] for r in got] == values
