"""REST Proxy v2 consumer instances (Confluent's `/consumers` API) with real clients.

Records produced by confluent_kafka come back over REST byte for byte (binary and
json), with Strata's `headers` and `timestamp` extensions. A REST instance is a real
member of its consumer group: it splits a topic's partitions with a librdkafka
consumer (as leader and as follower), every record is read exactly once across both,
its commits are what confluent_kafka and kafka-python read back, deleting it hands
its partitions to the other member, and an idle instance expires and leaves its
group. Seeks, the offsets endpoints and Confluent's error codes are pinned too.
"""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
import requests
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from kafkautil import consumer, create_topic, produce_ok, producer, unique
from strata_harness import Broker

V2 = "application/vnd.kafka.v2+json"
BINARY = "application/vnd.kafka.binary.v2+json"
JSON_FMT = "application/vnd.kafka.json.v2+json"
HTTP_TIMEOUT = 40


@pytest.fixture(scope="module")
def strata(tmp_path_factory):
    """A broker whose groups rebalance without the initial delay (fast joins)."""
    b = Broker(overrides={"group.initial.rebalance.delay.ms": 0},
               workdir=tmp_path_factory.mktemp("rest-v2c"), name="strata-rest-v2c")
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


# -- helpers -------------------------------------------------------------------------

def create(url, group, **body):
    r = requests.post(f"{url}/consumers/{group}", json=body, headers={"Content-Type": V2},
                      timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()["base_uri"].replace(r.json()["base_uri"].split("/consumers/")[0], url)


def post(base, path, body=None, status=204):
    kwargs = {"headers": {"Content-Type": V2}, "timeout": HTTP_TIMEOUT}
    if body is not None:
        kwargs["data"] = json.dumps(body)
    r = requests.post(f"{base}/{path}", **kwargs)
    assert r.status_code == status, r.text
    return r


def get(base, path, body=None, accept=V2, status=200):
    r = requests.get(f"{base}/{path}", headers={"Accept": accept, "Content-Type": V2},
                     data=json.dumps(body) if body is not None else None, timeout=HTTP_TIMEOUT)
    assert r.status_code == status, r.text
    return r.json()


def records(base, accept=BINARY, timeout_ms=None, max_bytes=None):
    params = {}
    if timeout_ms is not None:
        params["timeout"] = timeout_ms
    if max_bytes is not None:
        params["max_bytes"] = max_bytes
    r = requests.get(f"{base}/records", headers={"Accept": accept}, params=params, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith(accept)
    return r.json()


def read_n(base, count, accept=BINARY, timeout=30.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        out.extend(records(base, accept))
    assert len(out) >= count, f"read {len(out)} of {count} records over REST within {timeout}s"
    return out


def assigned(base):
    return {(p["topic"], p["partition"]) for p in get(base, "assignments")["partitions"]}


def b64(data):
    return None if data is None else base64.b64encode(data).decode()


def group_members(bootstrap, group):
    a = AdminClient({"bootstrap.servers": bootstrap})
    desc = a.describe_consumer_groups([group])[group].result(timeout=10)
    return desc.members


def wait_for(cond, timeout, what, poll=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if poll:
            poll()
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# -- records round trip -----------------------------------------------------------------

@pytest.mark.timeout(90)
def test_binary_records_byte_for_byte_with_headers_and_timestamps(strata):
    topic = unique("v2c-bin")
    create_topic(strata.bootstrap, topic, partitions=1)
    sent = [
        {"key": b"k0", "value": bytes(range(256)), "headers": [("h1", b"\x00\xff"), ("h2", b"x")],
         "timestamp": 1_700_000_000_001},
        {"key": None, "value": b"no key", "timestamp": 1_700_000_000_002},
        {"key": b"k2", "value": None, "headers": [("a", b"1"), ("n", None)],
         "timestamp": 1_700_000_000_003},
        {"key": "\u00e9t\u00e9".encode(), "value": b"\n\"quoted\"\t", "timestamp": 1_700_000_000_004},
    ]
    produce_ok(producer(strata.bootstrap), topic, sent)
    base = create(strata.rest_proxy_url, unique("g"), format="binary", **{"auto.offset.reset": "earliest"})
    post(base, "subscription", {"topics": [topic]})
    got = read_n(base, len(sent))
    assert len(got) == len(sent)
    for i, (s, g) in enumerate(zip(sent, got)):
        assert g["topic"] == topic and g["partition"] == 0 and g["offset"] == i
        assert g["key"] == b64(s["key"])
        assert g["value"] == b64(s["value"])
        assert g["timestamp"] == s["timestamp"]
        assert g["headers"] == [{"name": k, "value": b64(v)} for k, v in s.get("headers", [])]
    assert records(base, timeout_ms=200) == []
    requests.delete(base, timeout=HTTP_TIMEOUT)


@pytest.mark.timeout(90)
def test_json_records_round_trip(strata):
    topic = unique("v2c-json")
    create_topic(strata.bootstrap, topic, partitions=1)
    values = [{"a": 1, "b": [True, None, "x"]}, "text", 3.5, None]
    produce_ok(producer(strata.bootstrap), topic,
               [{"key": json.dumps({"id": i}).encode(), "value": None if v is None else json.dumps(v).encode()}
                for i, v in enumerate(values)])
    base = create(strata.rest_proxy_url, unique("g"), format="json", **{"auto.offset.reset": "earliest"})
    post(base, "subscription", {"topics": [topic]})
    got = read_n(base, len(values), accept=JSON_FMT)
    assert [g["value"] for g in got] == values
    assert [g["key"] for g in got] == [{"id": i} for i in range(len(values))]
    requests.delete(base, timeout=HTTP_TIMEOUT)


# -- group membership --------------------------------------------------------------------

def _split_with_librdkafka(strata, rest_first):
    topic = unique("v2c-split")
    group = unique("g-split")
    create_topic(strata.bootstrap, topic, partitions=4)
    all_tps = {(topic, p) for p in range(4)}
    c = consumer(strata.bootstrap, **{"group.id": group, "enable.auto.commit": True,
                                      "enable.auto.offset.store": True,
                                      "partition.assignment.strategy": "range"})
    base = create(strata.rest_proxy_url, group, **{"auto.offset.reset": "earliest"})
    if rest_first:
        post(base, "subscription", {"topics": [topic]})
        wait_for(lambda: assigned(base) == all_tps, 30, "the REST instance to get every partition")
        c.subscribe([topic])
    else:
        c.subscribe([topic])
        wait_for(lambda: len(c.assignment()) == 4, 30, "librdkafka to get every partition",
                 poll=lambda: c.poll(0.2))
        post(base, "subscription", {"topics": [topic]})

    def settled():
        rest = assigned(base)
        mine = {(tp.topic, tp.partition) for tp in c.assignment()}
        return rest and mine and not (rest & mine) and (rest | mine) == all_tps

    wait_for(settled, 60, "REST and librdkafka to split the partitions", poll=lambda: c.poll(0.2))
    rest_tps = assigned(base)
    rdk_tps = {(tp.topic, tp.partition) for tp in c.assignment()}
    assert len(rest_tps) == 2 and len(rdk_tps) == 2, (rest_tps, rdk_tps)

    n = 200
    produce_ok(producer(strata.bootstrap), topic,
               [{"value": f"r{i}".encode(), "partition": i % 4} for i in range(n)])
    seen = []
    deadline = time.monotonic() + 60
    while len(seen) < n and time.monotonic() < deadline:
        for m in c.consume(num_messages=100, timeout=0.3):
            assert m.error() is None, m.error()
            assert (m.topic(), m.partition()) in rdk_tps
            seen.append(("rdk", m.partition(), m.offset(), m.value()))
        for r in records(base, timeout_ms=300):
            assert (r["topic"], r["partition"]) in rest_tps
            seen.append(("rest", r["partition"], r["offset"], base64.b64decode(r["value"])))
    values = sorted(v for _, _, _, v in seen)
    assert values == sorted(f"r{i}".encode() for i in range(n)), "every record exactly once across both"
    assert {who for who, *_ in seen} == {"rdk", "rest"}
    return topic, group, base, c, rest_tps


@pytest.mark.timeout(150)
def test_rest_instance_leads_and_splits_partitions_with_librdkafka(strata):
    _, group, base, c, _ = _split_with_librdkafka(strata, rest_first=True)
    try:
        assert len(group_members(strata.bootstrap, group)) == 2
    finally:
        c.close()
        requests.delete(base, timeout=HTTP_TIMEOUT)


@pytest.mark.timeout(150)
def test_deleting_the_instance_hands_its_partitions_to_the_other_member(strata):
    topic, group, base, c, rest_tps = _split_with_librdkafka(strata, rest_first=False)
    try:
        r = requests.delete(base, timeout=HTTP_TIMEOUT)
        assert r.status_code == 204, r.text
        wait_for(lambda: len(c.assignment()) == 4, 30, "librdkafka to get every partition",
                 poll=lambda: c.poll(0.2))
        assert len(group_members(strata.bootstrap, group)) == 1
        # The instance auto-committed what it read before leaving: nothing it read
        # comes again to the member that took its partitions.
        committed = c.committed([TopicPartition(t, p) for t, p in rest_tps], timeout=10)
        assert all(tp.offset == 50 for tp in committed), committed
        assert requests.get(f"{base}/assignments", timeout=HTTP_TIMEOUT).json()["error_code"] == 40403
    finally:
        c.close()


# -- offsets and positions ---------------------------------------------------------------

@pytest.mark.timeout(90)
def test_commits_are_read_by_kafka_clients(strata):
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP

    topic = unique("v2c-commit")
    group = unique("g-commit")
    create_topic(strata.bootstrap, topic, partitions=2)
    produce_ok(producer(strata.bootstrap), topic,
               [{"value": f"v{i}".encode(), "partition": i % 2} for i in range(10)])
    base = create(strata.rest_proxy_url, group, **{"auto.offset.reset": "earliest", "auto.commit.enable": "false"})
    post(base, "assignments", {"partitions": [{"topic": topic, "partition": 0}, {"topic": topic, "partition": 1}]})
    assert assigned(base) == {(topic, 0), (topic, 1)}
    got = read_n(base, 10)
    assert sorted(r["offset"] for r in got if r["partition"] == 0) == [0, 1, 2, 3, 4]
    # No body: everything read so far.
    r = post(base, "offsets", status=200)
    assert r.json() == []
    c = consumer(strata.bootstrap, **{"group.id": group})
    try:
        assert [tp.offset for tp in c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)] == [5, 5]
    finally:
        c.close()
    # Explicit offsets are the last record processed: offset + 1 is stored.
    post(base, "offsets", {"offsets": [{"topic": topic, "partition": 0, "offset": 1, "metadata": "m"}]}, status=200)
    kc = KafkaConsumer(bootstrap_servers=strata.bootstrap, group_id=group, enable_auto_commit=False)
    try:
        assert kc.committed(KTP(topic, 0)) == 2
        assert kc.committed(KTP(topic, 1)) == 5
    finally:
        kc.close()
    body = {"partitions": [{"topic": topic, "partition": 0}, {"topic": topic, "partition": 1}]}
    assert get(base, "offsets", body) == {"offsets": [
        {"topic": topic, "partition": 0, "offset": 2, "metadata": "m"},
        {"topic": topic, "partition": 1, "offset": 5, "metadata": ""}]}
    requests.delete(base, timeout=HTTP_TIMEOUT)


@pytest.mark.timeout(90)
def test_seek_to_beginning_end_and_offsets(strata):
    topic = unique("v2c-seek")
    create_topic(strata.bootstrap, topic, partitions=1)
    p = producer(strata.bootstrap)
    produce_ok(p, topic, [{"value": f"v{i}".encode()} for i in range(10)])
    base = create(strata.rest_proxy_url, unique("g"))  # latest by default, as Confluent
    post(base, "assignments", {"partitions": [{"topic": topic, "partition": 0}]})
    assert records(base, timeout_ms=300) == []
    tp = {"partitions": [{"topic": topic, "partition": 0}]}
    post(base, "positions/beginning", tp)
    assert [r["offset"] for r in read_n(base, 10)] == list(range(10))
    post(base, "positions", {"offsets": [{"topic": topic, "partition": 0, "offset": 7}]})
    assert [r["offset"] for r in read_n(base, 3)] == [7, 8, 9]
    post(base, "positions/beginning", tp)
    post(base, "positions/end", tp)
    assert records(base, timeout_ms=300) == []
    produce_ok(p, topic, [{"value": b"late"}])
    got = read_n(base, 1)
    assert got[0]["offset"] == 10 and base64.b64decode(got[0]["value"]) == b"late"
    # Seeking by time (ISO 8601, as Confluent takes it): the first record at or after.
    post(base, "positions", {"timestamps": [{"topic": topic, "partition": 0, "timestamp": "1970-01-01T00:00:00Z"}]})
    assert read_n(base, 11)[0]["offset"] == 0
    requests.delete(base, timeout=HTTP_TIMEOUT)


@pytest.mark.timeout(60)
def test_max_bytes_bounds_an_answer(strata):
    topic = unique("v2c-max")
    create_topic(strata.bootstrap, topic, partitions=1)
    produce_ok(producer(strata.bootstrap), topic, [{"value": b"x" * 100} for _ in range(10)])
    base = create(strata.rest_proxy_url, unique("g"), **{"auto.offset.reset": "earliest"})
    post(base, "assignments", {"partitions": [{"topic": topic, "partition": 0}]})
    first = records(base, max_bytes=350)
    assert [r["offset"] for r in first] == [0, 1, 2]
    assert [r["offset"] for r in records(base, max_bytes=10_000)] == list(range(3, 10))
    requests.delete(base, timeout=HTTP_TIMEOUT)


# -- expiry -------------------------------------------------------------------------------

@pytest.mark.timeout(90)
def test_idle_instance_expires_and_leaves_its_group(broker_factory):
    b = broker_factory(overrides={"consumer.instance.timeout.ms": 2000, "group.initial.rebalance.delay.ms": 0})
    topic = unique("v2c-exp")
    group = unique("g-exp")
    create_topic(b.bootstrap, topic, partitions=1)
    base = create(b.rest_proxy_url, group)
    post(base, "subscription", {"topics": [topic]})
    wait_for(lambda: assigned(base) == {(topic, 0)}, 20, "the instance to join")
    assert len(group_members(b.bootstrap, group)) == 1
    # Not touching the instance from here on: watch the group instead.
    wait_for(lambda: len(group_members(b.bootstrap, group)) == 0, 20, "the expired instance to leave")
    r = requests.get(f"{base}/subscription", headers={"Accept": V2}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 404 and r.json()["error_code"] == 40403


# -- errors -------------------------------------------------------------------------------

def code_of(r):
    return r.status_code, r.json()["error_code"]


@pytest.mark.timeout(60)
def test_error_codes(strata):
    url = strata.rest_proxy_url
    group = unique("g-err")
    topic = unique("v2c-err")
    create_topic(strata.bootstrap, topic, partitions=1)
    missing = f"{url}/consumers/{group}/instances/nope"
    assert code_of(requests.get(f"{missing}/records", headers={"Accept": BINARY}, timeout=HTTP_TIMEOUT)) == (404, 40403)
    assert code_of(requests.delete(missing, timeout=HTTP_TIMEOUT)) == (404, 40403)
    assert code_of(requests.post(f"{missing}/subscription", json={"topics": [topic]},
                                 headers={"Content-Type": V2}, timeout=HTTP_TIMEOUT)) == (404, 40403)

    name = f"i-{uuid.uuid4().hex[:6]}"
    base = create(url, group, name=name)
    r = requests.post(f"{url}/consumers/{group}", json={"name": name}, headers={"Content-Type": V2}, timeout=HTTP_TIMEOUT)
    assert code_of(r) == (409, 40902)
    # Records before subscribing or assigning: Kafka's IllegalStateException.
    r = requests.get(f"{base}/records", headers={"Accept": BINARY}, timeout=HTTP_TIMEOUT)
    assert code_of(r) == (409, 40903)
    # Seeking a partition not assigned.
    r = requests.post(f"{base}/positions", json={"offsets": [{"topic": topic, "partition": 0, "offset": 1}]},
                      headers={"Content-Type": V2}, timeout=HTTP_TIMEOUT)
    assert code_of(r) == (409, 40903)
    post(base, "assignments", {"partitions": [{"topic": topic, "partition": 0}]})
    r = requests.post(f"{base}/subscription", json={"topics": [topic]}, headers={"Content-Type": V2}, timeout=HTTP_TIMEOUT)
    # Kafka's IllegalStateException, which Confluent answers 40903.
    assert code_of(r) == (409, 40903)
    assert r.json()["message"] == ("Illegal state: Subscription to topics, partitions and pattern "
                                   "are mutually exclusive")
    requests.delete(f"{base}/subscription", timeout=HTTP_TIMEOUT)
    post(base, "subscription", {"topics": [topic]})
    r = requests.post(f"{base}/assignments", json={"partitions": [{"topic": topic, "partition": 0}]},
                      headers={"Content-Type": V2}, timeout=HTTP_TIMEOUT)
    assert code_of(r) == (409, 40903)
    assert get(base, "subscription") == {"topics": [topic]}
    # Accept must match the instance's format.
    r = requests.get(f"{base}/records", headers={"Accept": JSON_FMT}, timeout=HTTP_TIMEOUT)
    assert code_of(r) == (406, 40601)
    r = requests.get(f"{base}/records", headers={"Accept": "text/html"}, timeout=HTTP_TIMEOUT)
    assert code_of(r) == (406, 406)
    r = requests.post(f"{base}/subscription", data="topics", headers={"Content-Type": "text/plain"}, timeout=HTTP_TIMEOUT)
    assert code_of(r) == (415, 415)
    # GET offsets needs the partitions.
    r = requests.get(f"{base}/offsets", headers={"Accept": V2}, timeout=HTTP_TIMEOUT)
    assert code_of(r) == (404, 40402)
    requests.delete(base, timeout=HTTP_TIMEOUT)

    bad = lambda body: code_of(requests.post(f"{url}/consumers/{group}", json=body, headers={"Content-Type": V2},
                                             timeout=HTTP_TIMEOUT))
    assert bad({"auto.offset.reset": "sideways"}) == (422, 42204)
    assert bad({"auto.commit.enable": "perhaps"}) == (422, 42204)
    assert bad({"format": "xml"}) == (422, 422)
    assert bad({"fetch.min.bytes": -7}) == (400, 40001)
