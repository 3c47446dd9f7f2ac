"""Cross-client interoperability: librdkafka (confluent-kafka), kafka-python, aiokafka.

What one client writes, another reads back with the same keys, values,
headers and timestamps. No consumer groups: assign() and seek().
"""

from __future__ import annotations

import asyncio
import time

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME

from kafkautil import consume_range, create_topic, produce_ok, producer

N = 40
BASE_TS = 1_650_000_000_000


def sample(tag: str):
    out = []
    for i in range(N):
        key = None if i % 7 == 3 else b"%s-key-%d" % (tag.encode(), i)
        # a null value (tombstone) on records that have a key: the Python clients refuse null/null
        value = None if i % 11 == 5 and key is not None else (b"%s-value-%d|" % (tag.encode(), i)) * (1 + i % 5)
        headers = [("src", tag.encode()), ("i", str(i).encode())] if i % 3 else []
        out.append({"key": key, "value": value, "headers": headers, "timestamp": BASE_TS + i * 10})
    return out


def norm_headers(h):
    return [(k, bytes(v) if v is not None else None) for k, v in (h or [])]


# -- kafka-python ---------------------------------------------------------------------
def kp_read(bootstrap, topic, count, partition=0, start=0, timeout=30.0):
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", request_timeout_ms=30000)
    try:
        tp = TopicPartition(topic, partition)
        c.assign([tp])
        c.seek(tp, start)
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                out.extend(recs)
        assert len(out) >= count, f"kafka-python read {len(out)} of {count}"
        return out
    finally:
        c.close()


def kp_write(bootstrap, topic, records, compression=None):
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=compression, linger_ms=5)
    try:
        futs = [p.send(topic, key=r["key"], value=r["value"], headers=r["headers"], partition=0,
                       timestamp_ms=r["timestamp"]) for r in records]
        p.flush(30)
        return [f.get(timeout=30) for f in futs]
    finally:
        p.close(timeout=10)


# -- aiokafka -------------------------------------------------------------------------
async def _aio_read(bootstrap, topic, count, timeout):
    from aiokafka import AIOKafkaConsumer, TopicPartition

    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest")
    await c.start()
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek(tp, 0)
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for recs in (await c.getmany(timeout_ms=500)).values():
                out.extend(recs)
        return out
    finally:
        await c.stop()


async def _aio_write(bootstrap, topic, records, compression):
    from aiokafka import AIOKafkaProducer

    p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=compression, linger_ms=5)
    await p.start()
    try:
        futs = [await p.send(topic, key=r["key"], value=r["value"], headers=r["headers"], partition=0,
                             timestamp_ms=r["timestamp"]) for r in records]
        return [await f for f in futs]
    finally:
        await p.stop()


def aio_read(bootstrap, topic, count, timeout=30.0):
    out = asyncio.run(asyncio.wait_for(_aio_read(bootstrap, topic, count, timeout), timeout + 15))
    assert len(out) >= count, f"aiokafka read {len(out)} of {count}"
    return out


def aio_write(bootstrap, topic, records, compression=None):
    return asyncio.run(asyncio.wait_for(_aio_write(bootstrap, topic, records, compression), 60))


# -- librdkafka ----------------------------------------------------------------------
def rd_write(bootstrap, topic, records, codec="none"):
    p = producer(bootstrap, **{"compression.codec": codec, "acks": "all"})
    recs = [dict(r, partition=0, headers=r["headers"] or None) for r in records]
    return produce_ok(p, topic, recs)


def check_python_records(got, records):
    assert [r.offset for r in got] == list(range(len(records)))
    assert [r.key for r in got] == [r["key"] for r in records]
    assert [r.value for r in got] == [r["value"] for r in records]
    assert [norm_headers(r.headers) for r in got] == [r["headers"] for r in records]
    assert [r.timestamp for r in got] == [r["timestamp"] for r in records]
    assert {r.timestamp_type for r in got} == {0}  # CreateTime


def check_rd_messages(msgs, records):
    assert [m.offset() for m in msgs] == list(range(len(records)))
    assert [m.key() for m in msgs] == [r["key"] for r in records]
    assert [m.value() for m in msgs] == [r["value"] for r in records]
    assert [norm_headers(m.headers()) for m in msgs] == [r["headers"] for r in records]
    assert [m.timestamp() for m in msgs] == [(TIMESTAMP_CREATE_TIME, r["timestamp"]) for r in records]


@pytest.mark.parametrize("codec", ["none", "gzip", "lz4", "zstd"])
def test_librdkafka_to_kafka_python(broker, topic, codec):
    create_topic(broker.bootstrap, topic)
    records = sample("rd")
    rd_write(broker.bootstrap, topic, records, codec)
    check_python_records(kp_read(broker.bootstrap, topic, N), records)


@pytest.mark.parametrize("codec", ["none", "snappy", "zstd"])
def test_librdkafka_to_aiokafka(broker, topic, codec):
    create_topic(broker.bootstrap, topic)
    records = sample("rd")
    rd_write(broker.bootstrap, topic, records, codec)
    check_python_records(aio_read(broker.bootstrap, topic, N), records)


@pytest.mark.parametrize("codec", [None, "gzip", "zstd"])
def test_kafka_python_to_librdkafka(broker, topic, codec):
    create_topic(broker.bootstrap, topic)
    records = sample("kp")
    meta = kp_write(broker.bootstrap, topic, records, codec)
    assert [m.offset for m in meta] == list(range(N))
    check_rd_messages(consume_range(broker.bootstrap, topic, 0, 0, N), records)


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_aiokafka_to_librdkafka(broker, topic, codec):
    create_topic(broker.bootstrap, topic)
    records = sample("aio")
    meta = aio_write(broker.bootstrap, topic, records, codec)
    assert [m.offset for m in meta] == list(range(N))
    check_rd_messages(consume_range(broker.bootstrap, topic, 0, 0, N), records)


def test_kafka_python_to_aiokafka_and_back(broker, topic):
    t1, t2 = f"{topic}-1", f"{topic}-2"
    create_topic(broker.bootstrap, t1)
    create_topic(broker.bootstrap, t2)
    r1, r2 = sample("kp"), sample("aio")
    kp_write(broker.bootstrap, t1, r1, "gzip")
    check_python_records(aio_read(broker.bootstrap, t1, N), r1)
    aio_write(broker.bootstrap, t2, r2, "lz4")
    check_python_records(kp_read(broker.bootstrap, t2, N), r2)


def test_kafka_python_auto_creates_topic_on_send(broker, topic):
    # kafka-python's producer asks for auto-creation in its metadata requests.
    records = sample("auto")[:5]
    meta = kp_write(broker.bootstrap, topic, records)
    assert [m.offset for m in meta] == list(range(5))
    check_python_records(kp_read(broker.bootstrap, topic, 5), records)
