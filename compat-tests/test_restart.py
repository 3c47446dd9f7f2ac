"""Durability across a clean restart (SIGTERM) and a crash (kill -9) of the real process."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import TopicCollection, TopicPartition
from confluent_kafka.admin import ConfigResource, ResourceType

from kafkautil import (
    REQUEST_TIMEOUT,
    admin,
    consume,
    consumer,
    create_topic,
    produce_ok,
    producer,
    result,
    topic_config,
    watermarks,
)


def read_all(bootstrap: str, topic: str, partitions: int, counts: dict, timeout: float = 60.0) -> dict:
    """Read every partition from offset 0 up to counts[p] records; return {p: [msg...]}."""
    total = sum(counts.values())
    c = consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        msgs = consume(c, total, timeout=timeout) if total else []
    finally:
        c.close()
    out = {p: [] for p in range(partitions)}
    for m in msgs:
        out[m.partition()].append(m)
    return out


def topic_ids(bootstrap: str, topics: list) -> dict:
    fs = admin(bootstrap).describe_topics(TopicCollection(topics), request_timeout=REQUEST_TIMEOUT)
    return {t: str(result(f).topic_id) for t, f in fs.items()}


def test_sigterm_restart_keeps_records_topics_and_configs(fresh_broker, topic):
    b = fresh_broker
    t1, t2 = f"{topic}-a", f"{topic}-b"
    create_topic(b.bootstrap, t1, partitions=3, config={"retention.ms": "7200000", "max.message.bytes": "300000"})
    create_topic(b.bootstrap, t2, partitions=1, config={"message.timestamp.type": "LogAppendTime"})
    from confluent_kafka.admin import NewPartitions
    result(admin(b.bootstrap).create_partitions([NewPartitions(t2, 2)], request_timeout=REQUEST_TIMEOUT)[t2])
    ids_before = topic_ids(b.bootstrap, [t1, t2])

    p = producer(b.bootstrap, acks="all", **{"compression.codec": "lz4"})
    recs1 = [{"partition": i % 3, "key": b"k%d" % i, "value": b"a-%d" % i * 20, "headers": [("n", b"%d" % i)],
              "timestamp": 1_700_000_000_000 + i} for i in range(600)]
    recs2 = [{"partition": i % 2, "key": b"c%d" % (i % 10), "value": b"b-%d" % i} for i in range(100)]
    d1 = produce_ok(p, t1, recs1)
    d2 = produce_ok(p, t2, recs2)
    tp = TopicPartition(t1, 2, 50)
    assert result(admin(b.bootstrap).delete_records([tp], request_timeout=REQUEST_TIMEOUT)[tp]).low_watermark == 50

    rc = b.stop()
    assert rc == 0, f"SIGTERM shutdown exited with {rc}"
    b.start()

    md = admin(b.bootstrap).list_topics(timeout=10)
    assert len(md.topics[t1].partitions) == 3
    assert len(md.topics[t2].partitions) == 2
    assert topic_ids(b.bootstrap, [t1, t2]) == ids_before
    cfg1 = topic_config(b.bootstrap, t1)
    assert cfg1["retention.ms"].value == "7200000"
    assert cfg1["max.message.bytes"].value == "300000"
    assert topic_config(b.bootstrap, t2)["message.timestamp.type"].value == "LogAppendTime"

    assert watermarks(b.bootstrap, t1, 0) == (0, 200)
    assert watermarks(b.bootstrap, t1, 2) == (50, 200)
    counts = {0: 200, 1: 200, 2: 150}
    got = read_all(b.bootstrap, t1, 3, counts)
    for part in range(3):
        # Delivery reports carry no headers: take them from what was produced.
        sent_headers = {r["key"]: r["headers"] for r in recs1}
        expected = [(d.offset, d.key, d.value, sent_headers[d.key], d.timestamp) for d in d1 if d.partition == part]
        if part == 2:
            expected = [e for e in expected if e[0] >= 50]
        assert [(m.offset(), m.key(), m.value(), m.headers(), m.timestamp()) for m in got[part]] == expected
    got2 = read_all(b.bootstrap, t2, 2, {0: 50, 1: 50})
    for part in range(2):
        assert [(m.offset(), m.value()) for m in got2[part]] == \
            [(d.offset, d.value) for d in d2 if d.partition == part]

    # offsets continue after the restart
    more = produce_ok(producer(b.bootstrap, acks="all"), t1, [{"partition": 0, "value": b"after"}])
    assert more[0].offset == 200


def test_restart_twice_and_empty_topic(fresh_broker, topic):
    b = fresh_broker
    create_topic(b.bootstrap, topic, partitions=2)
    b.restart()
    b.restart()
    assert len(admin(b.bootstrap).list_topics(timeout=10).topics[topic].partitions) == 2
    assert watermarks(b.bootstrap, topic, 1) == (0, 0)
    d = produce_ok(producer(b.bootstrap, acks="all"), topic, [{"partition": 1, "value": b"first"}])
    assert d[0].offset == 0


def test_deleted_topic_stays_deleted_after_restart(fresh_broker, topic):
    b = fresh_broker
    keep, gone = f"{topic}-keep", f"{topic}-gone"
    create_topic(b.bootstrap, keep)
    create_topic(b.bootstrap, gone)
    result(admin(b.bootstrap).delete_topics([gone], request_timeout=REQUEST_TIMEOUT)[gone])
    b.restart()
    names = admin(b.bootstrap).list_topics(timeout=10).topics
    assert keep in names and gone not in names


@pytest.mark.timeout(300)
def test_kill9_during_acks_all_produce_loses_no_acknowledged_record(fresh_broker, topic):
    b = fresh_broker
    partitions = 3
    create_topic(b.bootstrap, topic, partitions=partitions)

    acked = {}  # (partition, offset) -> value
    duplicates = []
    failed = []
    lock = threading.Lock()
    stop = threading.Event()

    def on_delivery(err, msg):
        if err is not None:
            failed.append(err)
            return
        k = (msg.partition(), msg.offset())
        with lock:
            if k in acked:
                duplicates.append((k, acked[k], msg.value()))
            acked[k] = msg.value()

    p = producer(b.bootstrap, acks="all", **{
        "linger.ms": 2,
        "message.timeout.ms": 60000,
        "enable.idempotence": False,
        "retry.backoff.ms": 100,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "queue.buffering.max.messages": 20000,
    })
    produced = [0]

    def run():
        i = 0
        payload = b"." * 1000
        while not stop.is_set() and i < 2_000_000:
            try:
                p.produce(topic, value=b"%012d" % i + payload, partition=i % partitions, on_delivery=on_delivery)
                i += 1
            except BufferError:
                p.poll(0.01)
                continue
            if i % 100 == 0:
                p.poll(0)
        produced[0] = i

    t = threading.Thread(target=run, daemon=True)
    t.start()
    # let a good number of acknowledgements come back, then crash the broker mid-stream
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 5000:
                break
        time.sleep(0.02)
    with lock:
        acked_before_kill = len(acked)
    b.kill9()
    time.sleep(0.5)
    stop.set()
    t.join(timeout=10)
    assert acked_before_kill > 0, f"no record acknowledged before the kill\n{b.log_tail()}"

    b.start()
    # what was queued or in flight is retried against the restarted broker
    p.flush(60)
    with lock:
        snapshot = dict(acked)
    assert not duplicates, f"two records acknowledged at the same offset: {duplicates[:3]}"

    highest = {}
    for (part, off) in snapshot:
        highest[part] = max(highest.get(part, -1), off)
    for part in range(partitions):
        low, high = watermarks(b.bootstrap, topic, part)
        assert low == 0
        assert high > highest.get(part, -1), (part, high, highest.get(part))

    c = consumer(b.bootstrap)
    found = {}
    try:
        c.assign([TopicPartition(topic, part, 0) for part in range(partitions)])
        need = {part: highest.get(part, -1) for part in range(partitions)}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and any(
            max((o for (pp, o) in found if pp == part), default=-1) < need[part] for part in range(partitions)
        ):
            for m in c.consume(num_messages=1000, timeout=0.5):
                assert m.error() is None, m.error()
                found[(m.partition(), m.offset())] = m.value()
    finally:
        c.close()

    missing = [k for k in snapshot if k not in found]
    wrong = [k for k in snapshot if k in found and found[k] != snapshot[k]]
    assert not missing, f"{len(missing)} of {len(snapshot)} acknowledged records missing, e.g. {sorted(missing)[:5]}"
    assert not wrong, f"{len(wrong)} acknowledged offsets hold other records, e.g. {sorted(wrong)[:5]}"
    print(f"kill -9: produced {produced[0]}, acked before kill {acked_before_kill}, acked total {len(snapshot)}, "
          f"failed {len(failed)}")
