"""Operator metrics and health on the admin port (docs/metrics.md).

Scrapes /metrics while real clients (confluent-kafka) work and checks the numbers against
what the clients did and what the broker reports over Kafka: per-topic bytes and records in
and out, partition sizes and high watermarks, consumer group lag against the high watermark
and the last stable offset, group members and state, request and error counts, HTTP route
metrics by template. Also /health/live and /health/ready, and --log-format json.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Dict, List, Tuple

import pytest
import requests
from confluent_kafka import Consumer, Producer, TopicPartition

from kafkautil import (admin, consume, consume_range, create_topic, produce_ok, producer, result,
                       watermarks)

Labels = Tuple[Tuple[str, str], ...]
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(b) -> Dict[str, Dict[Labels, float]]:
    """The samples of /metrics: name -> {sorted label pairs -> value}."""
    r = requests.get(f"{b.admin_url}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    out: Dict[str, Dict[Labels, float]] = {}
    for line in r.text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        pairs = tuple(sorted(_LABEL.findall(labels)))
        out.setdefault(name, {})[pairs] = float(value)
    return out


def value(samples, name: str, **labels) -> float:
    """The one sample of `name` whose labels include `labels`; KeyError if none."""
    want = {(k, str(v)) for k, v in labels.items()}
    found = [v for pairs, v in samples.get(name, {}).items() if want <= set(pairs)]
    if not found:
        raise KeyError(f"{name}{labels} not in the scrape")
    assert len(found) == 1, f"{name}{labels} matches {len(found)} series"
    return found[0]


def series(samples, name: str, **labels) -> List[Labels]:
    want = {(k, str(v)) for k, v in labels.items()}
    return [pairs for pairs in samples.get(name, {}) if want <= set(pairs)]


def wait_until(check, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            got = check()
            if got:
                return got
        except (KeyError, AssertionError) as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout}s (last: {last})")


def group_consumer(b, group: str, **conf) -> Consumer:
    c = {
        "bootstrap.servers": b.bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
    }
    c.update(conf)
    return Consumer(c)


def test_topic_bytes_and_records_in_and_out(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=3)
    p = producer(broker.bootstrap, linger_ms=20)
    records = [{"value": f"value-{i:04d}".encode() * 3, "partition": i % 3} for i in range(90)]
    produce_ok(p, topic, records)
    m = scrape(broker)
    assert value(m, "strata_topic_records_in_total", topic=topic) == 90
    # Nothing else writes to the topic: every byte appended is in its logs.
    bytes_in = value(m, "strata_topic_bytes_in_total", topic=topic)
    sizes = [value(m, "strata_partition_log_size_bytes", topic=topic, partition=i) for i in range(3)]
    assert bytes_in == sum(sizes) > 90 * 30
    assert value(m, "strata_topic_partitions", topic=topic) == 3
    for i in range(3):
        low, high = watermarks(broker.bootstrap, topic, i)
        assert value(m, "strata_partition_high_watermark", topic=topic, partition=i) == high == 30
        assert value(m, "strata_partition_log_start_offset", topic=topic, partition=i) == low == 0
    assert value(m, "strata_topic_records_out_total", topic=topic) == 0

    for i in range(3):
        got = consume_range(broker.bootstrap, topic, i, 0, 30)
        assert len(got) == 30
    m = scrape(broker)
    # Every batch was fetched once (a consumer reads each offset range once).
    assert value(m, "strata_topic_records_out_total", topic=topic) == 90
    assert value(m, "strata_topic_bytes_out_total", topic=topic) == bytes_in
    assert m["strata_produced_bytes_total"][()] >= bytes_in
    assert value(m, "strata_requests_total", api="Produce") >= 1
    assert value(m, "strata_request_duration_seconds_count", api="Fetch") >= 3
    # acks=all produce waited for group-commit fsyncs.
    assert m["strata_log_fsync_duration_seconds_count"][()] >= 1


def test_consumer_group_lag_members_and_state(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=3)
    p = producer(broker.bootstrap)
    counts = {0: 10, 1: 6, 2: 3}
    produce_ok(p, topic, [{"value": b"x", "partition": part}
                          for part, n in counts.items() for _ in range(n)])
    group = f"lag-{uuid.uuid4().hex[:8]}"
    c = group_consumer(broker, group)
    try:
        c.subscribe([topic])
        consume(c, sum(counts.values()))
        # Commit where the application is, not where it read to: p0 at 4, p1 at the end, p2 never.
        c.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 6)], asynchronous=False)
        m = scrape(broker)
        for part, committed in ((0, 4), (1, 6)):
            high = watermarks(broker.bootstrap, topic, part)[1]
            assert high == counts[part]
            labels = dict(group=group, topic=topic, partition=part)
            assert value(m, "strata_consumer_group_lag", **labels) == high - committed
            assert value(m, "strata_consumer_group_lag_committed", **labels) == high - committed
            assert value(m, "strata_consumer_group_committed_offset", **labels) == committed
        # No commit, no lag: as kafka-consumer-groups prints "-".
        assert series(m, "strata_consumer_group_lag", group=group, partition=2) == []
        assert value(m, "strata_consumer_group_members", group=group) == 1
        assert value(m, "strata_consumer_group_state", group=group) == 1
        assert series(m, "strata_consumer_group_state", group=group, state="Stable")
        assert value(m, "strata_requests_total", api="OffsetCommit") >= 1
    finally:
        c.close()
    # The member left: the group is Empty, and its lag stays as committed.
    m = wait_until(lambda: (lambda m: m if series(m, "strata_consumer_group_state", group=group,
                                                   state="Empty") else None)(scrape(broker)),
                   what="group Empty after close")
    assert value(m, "strata_consumer_group_members", group=group) == 0
    assert value(m, "strata_consumer_group_lag", group=group, topic=topic, partition=0) == 6
    # More records raise the lag at once.
    produce_ok(p, topic, [{"value": b"y", "partition": 0}] * 5)
    m = scrape(broker)
    assert value(m, "strata_consumer_group_lag", group=group, topic=topic, partition=0) == 11


def test_read_committed_lag_stops_at_the_last_stable_offset(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    produce_ok(producer(broker.bootstrap), topic, [{"value": b"plain"}] * 4)
    group = f"lso-{uuid.uuid4().hex[:8]}"
    committer = group_consumer(broker, group)
    try:
        committer.commit(offsets=[TopicPartition(topic, 0, 2)], asynchronous=False)
    finally:
        committer.close()
    txn = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": f"tx-{uuid.uuid4().hex[:8]}"})
    txn.init_transactions(15)
    txn.begin_transaction()
    for _ in range(3):
        txn.produce(topic, b"in-txn", partition=0)
    assert txn.flush(30) == 0
    labels = dict(group=group, topic=topic, partition=0)

    def open_txn_seen():
        m = scrape(broker)
        return m if value(m, "strata_consumer_group_lag", **labels) == 5 else None

    m = wait_until(open_txn_seen, what="high watermark past the open transaction")
    # HW 7, LSO 4 (the transaction's first offset): read_committed can only reach 4.
    assert value(m, "strata_consumer_group_lag_committed", **labels) == 2
    txn.commit_transaction(30)
    # The commit marker takes offset 7: HW and LSO are 8.
    m = wait_until(lambda: (lambda m: m if value(m, "strata_consumer_group_lag_committed", **labels) == 6
                            else None)(scrape(broker)), what="LSO after commit")
    assert value(m, "strata_consumer_group_lag", **labels) == 6


def test_errors_are_counted_by_api_and_code(broker):
    before = scrape(broker)
    key = dict(api="DeleteTopics", error="UNKNOWN_TOPIC_OR_PARTITION", code=3)
    try:
        start = value(before, "strata_request_errors_total", **key)
    except KeyError:
        start = 0
    missing = f"no-such-topic-{uuid.uuid4().hex[:8]}"
    with pytest.raises(Exception):
        result(admin(broker.bootstrap).delete_topics([missing])[missing])
    after = scrape(broker)
    assert value(after, "strata_request_errors_total", **key) == start + 1


def test_http_routes_are_labelled_by_template(broker):
    subjects = [f"metrics-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    schema = {"schema": json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})}
    for s in subjects:
        r = requests.post(f"{broker.schema_registry_url}/subjects/{s}/versions", json=schema, timeout=10,
                          headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
        assert r.status_code == 200, r.text
    r = requests.get(f"{broker.rest_proxy_url}/v3/clusters", timeout=10)
    assert r.status_code == 200
    m = scrape(broker)
    posted = value(m, "strata_http_requests_total", face="schema_registry", method="POST",
                   route="/subjects/{subject}/versions", status=200)
    assert posted >= 3
    # One series for every subject: no raw paths in labels.
    routes = {dict(pairs)["route"] for pairs in series(m, "strata_http_requests_total")}
    assert not any(s in route for s in subjects for route in routes)
    assert value(m, "strata_http_requests_total", face="rest_proxy", method="GET",
                 route="/v3/clusters", status=200) >= 1
    assert value(m, "strata_http_request_duration_seconds_count", face="schema_registry",
                 method="POST", route="/subjects/{subject}/versions") >= 3


def test_health_live_and_ready_answer_json(broker):
    live = requests.get(f"{broker.admin_url}/health/live", timeout=5)
    assert live.status_code == 200
    assert live.headers["content-type"].startswith("application/json")
    assert live.json()["status"] == "alive"
    ready = requests.get(f"{broker.admin_url}/health/ready", timeout=5)
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True and body["status"] == "ready"
    assert body["waiting_for"] == []
    health = requests.get(f"{broker.admin_url}/health", timeout=5)
    assert (health.status_code, health.text) == (200, "ok")


def test_log_format_json_prints_json_lines(broker_factory):
    b = broker_factory(extra_args=["--log-format", "json"])
    assert requests.get(f"{b.admin_url}/health/ready", timeout=5).json()["ready"] is True
    # The harness writes one "===== start" line of its own before the broker's.
    lines = [line for line in b.log_path.read_text().splitlines()
             if line.strip() and not line.startswith("=====")]
    assert lines
    events = [json.loads(line) for line in lines]
    for e in events:
        assert {"timestamp", "level", "target"} <= set(e), e
    messages = [e.get("message") for e in events]
    assert "ready" in messages
    listening = [e for e in events if e.get("message") == "listening" and "kafka" in e]
    assert listening and listening[0]["kafka"] == b.bootstrap
