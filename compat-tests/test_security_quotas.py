"""Kafka client quotas and REST Proxy rate limits, with real clients.

The quota APIs (DescribeClientQuotas 48, AlterClientQuotas 49) go through kafka-python 3's own
protocol classes (its KafkaAdminClient has no quota methods, and confluent-kafka 2.16's
AdminClient has none either), sent with the admin client's connection manager: the encoding is
the client's, not ours. Enforcement is measured with confluent-kafka producers and consumers
(librdkafka): a client id under a byte-rate quota takes about as long as the quota says while
another client id on the same broker runs at full speed, and both the broker's
`strata_quota_throttle_time_ms` metric and librdkafka's statistics (`throttle`) show the throttle.

Kafka measures a rate over `quota.window.num` (11) windows of one second and counts a client's
first burst as spread over ten seconds, so at most Q * (t + 10) bytes go through in t seconds
under a quota of Q bytes/s: B bytes take at least B/Q - 10 s (4 MiB at 256 KiB/s: 6 s; about
12 s in practice, as the burst's window expires after 11 s). Every test starts its own broker,
so no quota leaks into other suites.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from kafka import KafkaAdminClient
from kafka.admin import NewTopic as KpNewTopic
from kafka.protocol.admin import AlterClientQuotasRequest, DescribeClientQuotasRequest

from kafkautil import create_topic, unique

pytestmark = pytest.mark.timeout(120)

RATE = 256 * 1024
RECORD = 1024
RECORDS = 4 * 1024  # 4 MiB
EXPECTED_S = RECORDS * RECORD / RATE - 10  # the least time Kafka's windowed rate allows: 6 s
INVALID_REQUEST = 42
THROTTLING_QUOTA_EXCEEDED = 89


# -- the quota APIs through kafka-python's protocol classes --------------------------------------
def kp_admin(b) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=b.bootstrap, client_id="quota-admin", request_timeout_ms=15000)


def send(a: KafkaAdminClient, request):
    async def go():
        return await a._manager.send(request)
    return a._manager.run(go)


def entity(**parts):
    """kafka-configs style: user=None is <default>; keys are user / client_id."""
    E = AlterClientQuotasRequest.EntryData.EntityData
    return [E(entity_type=k.replace("_", "-"), entity_name=v) for k, v in parts.items()]


def alter(a, changes, validate_only=False):
    """changes: [(entity parts dict, {key: value or None for removal})] -> [(error_code, message)]."""
    Entry = AlterClientQuotasRequest.EntryData
    entries = [Entry(entity=entity(**parts),
                     ops=[Entry.OpData(key=k, value=0.0 if v is None else float(v), remove=v is None)
                          for k, v in ops.items()])
               for parts, ops in changes]
    resp = send(a, AlterClientQuotasRequest(entries=entries, validate_only=validate_only))
    return [(e.error_code, e.error_message) for e in resp.entries]


def describe(a, components=(), strict=False):
    """components: [(entity_type, match_type, match)] -> {((type, name), ...): {key: value}}."""
    C = DescribeClientQuotasRequest.ComponentData
    resp = send(a, DescribeClientQuotasRequest(
        components=[C(entity_type=t, match_type=m, match=n) for t, m, n in components], strict=strict))
    assert resp.error_code == 0, resp.error_message
    return {tuple((e.entity_type, e.entity_name) for e in entry.entity): {v.key: v.value for v in entry.values}
            for entry in resp.entries}


def describe_error(a, components, strict=False):
    C = DescribeClientQuotasRequest.ComponentData
    resp = send(a, DescribeClientQuotasRequest(
        components=[C(entity_type=t, match_type=m, match=n) for t, m, n in components], strict=strict))
    return resp.error_code, resp.error_message


def throttle_count(b, kind: str) -> float:
    m = re.search(r'^strata_quota_throttle_time_ms_count\{type="%s"\} (\S+)$' % kind, b.metrics(), re.M)
    return float(m.group(1)) if m else 0.0


# -- AlterClientQuotas / DescribeClientQuotas ----------------------------------------------------
def test_alter_and_describe_round_trip_defaults_validation_and_restart(fresh_broker):
    b = fresh_broker
    a = kp_admin(b)
    try:
        assert alter(a, [
            ({"user": "alice"}, {"producer_byte_rate": 1024}),
            ({"user": "alice", "client_id": None}, {"consumer_byte_rate": 2048}),
            ({"client_id": None}, {"request_percentage": 50.5}),
            ({"user": None, "client_id": "app"}, {"controller_mutation_rate": 3}),
        ]) == [(0, None)] * 4
        everything = describe(a)
        assert everything == {
            (("user", "alice"),): {"producer_byte_rate": 1024.0},
            (("user", "alice"), ("client-id", None)): {"consumer_byte_rate": 2048.0},
            (("client-id", None),): {"request_percentage": 50.5},
            (("user", None), ("client-id", "app")): {"controller_mutation_rate": 3.0},
        }
        # Filters as Kafka's: exact, default (match type 1), specified (2), strict.
        assert set(describe(a, [("user", 0, "alice")])) == {
            (("user", "alice"),), (("user", "alice"), ("client-id", None))}
        assert set(describe(a, [("user", 0, "alice")], strict=True)) == {(("user", "alice"),)}
        assert set(describe(a, [("client-id", 1, None)])) == {
            (("client-id", None),), (("user", "alice"), ("client-id", None))}
        assert set(describe(a, [("user", 1, None)])) == {(("user", None), ("client-id", "app"))}
        assert len(describe(a, [("client-id", 2, None)])) == 3
        assert describe_error(a, [("user", 0, None)])[0] == INVALID_REQUEST

        # Kafka's validation errors, and nothing else in the same request is lost.
        results = alter(a, [
            ({"user": "bob"}, {"producer_byte_rate": 1.5}),
            ({"user": "bobby"}, {"no_such_quota": 1}),
            ({"user": "carol"}, {"producer_byte_rate": 0}),
            ({"ip": "10.0.0.1"}, {"connection_creation_rate": 5}),
            ({"user": ""}, {"producer_byte_rate": 10}),
            ({"user": "dave"}, {"producer_byte_rate": 4096}),
        ])
        assert results[0] == (INVALID_REQUEST, "producer_byte_rate cannot be a fractional value.")
        assert results[1] == (INVALID_REQUEST, "Invalid configuration key no_such_quota")
        assert results[2] == (INVALID_REQUEST, "Quota producer_byte_rate must be greater than 0")
        assert results[3][0] == INVALID_REQUEST and "not supported" in results[3][1]
        assert results[4] == (INVALID_REQUEST, "Empty user not supported")
        assert results[5] == (0, None)

        # validate_only checks and records nothing.
        assert alter(a, [({"user": "erin"}, {"producer_byte_rate": 100})], validate_only=True) == [(0, None)]
        assert alter(a, [({"user": "erin"}, {"producer_byte_rate": 1.25})], validate_only=True)[0][0] == INVALID_REQUEST
        assert (("user", "erin"),) not in describe(a)

        # Removal: the value goes, and the entity with its last value.
        assert alter(a, [({"user": "dave"}, {"producer_byte_rate": None})]) == [(0, None)]
        assert (("user", "dave"),) not in describe(a)
    finally:
        a.close()

    b.restart()
    a = kp_admin(b)
    try:
        assert describe(a) == everything
    finally:
        a.close()


# -- enforcement ---------------------------------------------------------------------------------
def timed_produce(b, topic: str, client_id: str):
    throttles = []

    def stats(raw):
        for broker in json.loads(raw).get("brokers", {}).values():
            throttles.append(broker.get("throttle", {}).get("max", 0))

    p = Producer({"bootstrap.servers": b.bootstrap, "client.id": client_id, "linger.ms": 5,
                  "batch.size": 64 * 1024, "statistics.interval.ms": 200, "stats_cb": stats,
                  "message.timeout.ms": 90000})
    payload = b"x" * RECORD
    failures = []
    started = time.monotonic()
    for _ in range(RECORDS):
        while True:
            try:
                p.produce(topic, payload, on_delivery=lambda err, _m: err and failures.append(err))
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(90) == 0
    elapsed = time.monotonic() - started
    p.poll(0.5)  # one more statistics callback
    assert not failures, failures[:3]
    return elapsed, max(throttles, default=0)


def test_a_throttled_producer_slows_to_its_rate_while_another_runs_at_full_speed(broker_factory):
    b = broker_factory()
    topic = unique("quota-produce")
    create_topic(b.bootstrap, topic)
    a = kp_admin(b)
    try:
        assert alter(a, [({"client_id": "slow"}, {"producer_byte_rate": RATE})]) == [(0, None)]
    finally:
        a.close()
    fast_s, fast_throttle = timed_produce(b, topic, "fast")
    slow_s, slow_throttle = timed_produce(b, topic, "slow")
    print(f"producer: slow {slow_s:.2f}s (throttle max {slow_throttle} ms), fast {fast_s:.2f}s, "
          f"expected slow ~{EXPECTED_S:.1f}s")
    assert slow_s >= 0.6 * EXPECTED_S, f"quota not enforced: {slow_s:.2f}s"
    assert slow_s <= 4 * EXPECTED_S + 10
    assert fast_s < slow_s / 2, f"fast {fast_s:.2f}s vs slow {slow_s:.2f}s"
    assert fast_throttle == 0
    assert slow_throttle > 0
    assert throttle_count(b, "Produce") > 0


def timed_consume(b, topic: str, client_id: str) -> float:
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": unique("quota-g"), "client.id": client_id,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        got = 0
        started = time.monotonic()
        deadline = started + 90
        while got < RECORDS and time.monotonic() < deadline:
            for m in c.consume(500, 1.0):
                if m.error() is None:
                    assert len(m.value()) == RECORD
                    got += 1
        assert got == RECORDS, f"{client_id} consumed {got} of {RECORDS}"
        return time.monotonic() - started
    finally:
        c.close()


def test_a_throttled_consumer_slows_to_its_rate_while_another_runs_at_full_speed(broker_factory):
    b = broker_factory()
    topic = unique("quota-fetch")
    create_topic(b.bootstrap, topic)
    timed_produce(b, topic, "loader")
    a = kp_admin(b)
    try:
        assert alter(a, [({"client_id": "slow-reader"}, {"consumer_byte_rate": RATE})]) == [(0, None)]
        assert describe(a, [("client-id", 0, "slow-reader")]) == {
            (("client-id", "slow-reader"),): {"consumer_byte_rate": float(RATE)}}
    finally:
        a.close()
    fast_s = timed_consume(b, topic, "fast-reader")
    slow_s = timed_consume(b, topic, "slow-reader")
    print(f"consumer: slow {slow_s:.2f}s, fast {fast_s:.2f}s, expected slow ~{EXPECTED_S:.1f}s")
    assert slow_s >= 0.6 * EXPECTED_S, f"quota not enforced: {slow_s:.2f}s"
    assert fast_s < slow_s / 2
    assert throttle_count(b, "Fetch") > 0


def test_controller_mutation_rate_refuses_topics_over_the_rate(broker_factory):
    b = broker_factory()
    a = kp_admin(b)
    try:
        # 1 partition/s: a bucket of 11 tokens. 10 partitions fit, the next 10 put it in
        # debt, and the topic after that is refused (CreateTopics v6+: strict quota).
        assert alter(a, [({"client_id": "creator"}, {"controller_mutation_rate": 1})]) == [(0, None)]
    finally:
        a.close()
    creator = KafkaAdminClient(bootstrap_servers=b.bootstrap, client_id="creator", request_timeout_ms=15000)
    other = KafkaAdminClient(bootstrap_servers=b.bootstrap, client_id="other", request_timeout_ms=15000)
    try:
        names = [unique("mut") for _ in range(3)]
        resp = creator.create_topics({n: {"num_partitions": 10, "replication_factor": 1} for n in names},
                                     raise_errors=False)
        codes = {t["name"]: t["error_code"] for t in resp["topics"]}
        assert codes[names[0]] == 0 and codes[names[1]] == 0, codes
        assert codes[names[2]] == THROTTLING_QUOTA_EXCEEDED, codes
        # Another client id is not limited.
        more = [unique("mut-other") for _ in range(3)]
        resp = other.create_topics({n: {"num_partitions": 10, "replication_factor": 1} for n in more},
                                   raise_errors=False)
        assert all(t["error_code"] == 0 for t in resp["topics"]), resp
    finally:
        creator.close()
        other.close()
    assert throttle_count(b, "ControllerMutation") > 0


# -- REST Proxy rate limit -----------------------------------------------------------------------
def test_rest_proxy_rate_limit_answers_42901_and_keeps_serving(broker_factory):
    b = broker_factory({"rate.limit.enable": "true", "rate.limit.permits.per.sec": 2})
    url = f"{b.rest_proxy_url}/v3/clusters"
    statuses, bodies = [], []
    with requests.Session() as s:
        for _ in range(20):
            r = s.get(url, timeout=10)
            statuses.append(r.status_code)
            if r.status_code == 429:
                bodies.append(r.json())
        assert 200 in statuses and 429 in statuses, statuses
        assert bodies[0]["error_code"] == 42901
        assert bodies[0]["message"].startswith("Request rate limit exceeded")
        time.sleep(1.5)
        r = s.get(url, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["data"], r.text
    # Without rate.limit.enable nothing is refused.
    plain = broker_factory()
    with requests.Session() as s:
        assert all(s.get(f"{plain.rest_proxy_url}/v3/clusters", timeout=10).status_code == 200 for _ in range(20))
