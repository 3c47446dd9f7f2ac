"""Produce and fetch through confluent-kafka (librdkafka 2.16).

Consumers use assign() with explicit offsets (no consumer groups yet).
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import (
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    KafkaError,
    TopicPartition,
)
from confluent_kafka.admin import ConfigResource, ResourceType

import kafka_wire as kw
from kafkautil import (
    admin,
    consume,
    consume_range,
    consumer,
    create_topic,
    produce_all,
    produce_ok,
    producer,
    result,
    topic_config,
    watermarks,
)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def compressible(i: int, size: int = 300) -> bytes:
    return (b"strata-compat-%06d-" % i) * (size // 20)


def raw_fetch_batches(bootstrap: str, topic: str, partition: int, offset: int) -> list:
    with kw.connect(bootstrap) as s:
        s.sendall(kw.fetch_v4_request(11, topic, partition, offset))
        corr, r = kw.read_response(s)
        assert corr == 11
        resp = kw.parse_fetch_v4(r)[(topic, partition)]
        assert resp.error_code == 0, resp
        return kw.split_batches(resp.records)


@pytest.mark.parametrize("codec", CODECS)
def test_every_codec_round_trip(broker, topic, codec):
    create_topic(broker.bootstrap, topic)
    p = producer(broker.bootstrap, **{"compression.codec": codec, "linger.ms": 20, "batch.num.messages": 100})
    records = [
        {"key": b"key-%d" % i, "value": compressible(i), "headers": [("idx", str(i).encode()), ("codec", codec.encode())]}
        for i in range(200)
    ]
    reports = produce_ok(p, topic, records)
    assert [r.offset for r in reports] == list(range(200))

    msgs = consume_range(broker.bootstrap, topic, 0, 0, 200)
    assert [m.offset() for m in msgs] == list(range(200))
    assert [m.key() for m in msgs] == [r["key"] for r in records]
    assert [m.value() for m in msgs] == [r["value"] for r in records]
    assert [m.headers() for m in msgs] == [r["headers"] for r in records]

    # Stored as sent: the batches the broker hands back carry the producer's codec.
    batches = raw_fetch_batches(broker.bootstrap, topic, 0, 0)
    assert batches, "fetch returned no batches"
    assert {b.magic for b in batches} == {2}
    assert {b.codec for b in batches} == {CODEC_IDS[codec]}, [b.codec for b in batches]
    assert batches[0].base_offset == 0


@pytest.mark.parametrize("codec", [0, 1, 2, 3], ids=["none", "gzip", "snappy", "lz4"])
def test_batch_bytes_stored_unchanged(broker, topic, codec):
    """A batch produced by hand comes back byte-for-byte (past the base offset and leader epoch)."""
    create_topic(broker.bootstrap, topic)
    first = kw.build_batch([b"first"], compression=0)
    batch = kw.build_batch([b"payload-%d" % i * 10 for i in range(20)], compression=codec)
    with kw.connect(broker.bootstrap) as s:
        for corr, blob in ((1, first), (2, batch)):
            s.sendall(kw.produce_v3_request(corr, topic, 0, blob))
            c, r = kw.read_response(s)
            assert c == corr
            part = kw.parse_produce_v3(r)[(topic, 0)]
            assert part.error_code == 0, part
            assert part.base_offset == corr - 1
    batches = raw_fetch_batches(broker.bootstrap, topic, 0, 1)
    got = [b for b in batches if b.base_offset == 1]
    assert got, [b.base_offset for b in batches]
    raw = got[0].raw
    assert raw[8:12] == batch[8:12], "batch length changed"
    assert raw[16:] == batch[16:], "batch bytes changed after the leader epoch field"
    assert got[0].crc == kw.crc32c(raw[21:])
    # and a real client decodes it
    msgs = consume_range(broker.bootstrap, topic, 0, 1, 20)
    assert [m.value() for m in msgs] == [b"payload-%d" % i * 10 for i in range(20)]


def test_zstd_on_produce_v3_is_refused(broker, topic):
    # Kafka accepts zstd only from Produce v7 on: UNSUPPORTED_COMPRESSION_TYPE (76) before.
    create_topic(broker.bootstrap, topic)
    batch = kw.build_batch([b"zstd-%d" % i * 10 for i in range(20)], compression=4)
    assert kw.split_batches(batch)[0].codec == 4
    with kw.connect(broker.bootstrap) as s:
        s.sendall(kw.produce_v3_request(1, topic, 0, batch))
        _, r = kw.read_response(s)
        assert kw.parse_produce_v3(r)[(topic, 0)].error_code == 76
    assert watermarks(broker.bootstrap, topic, 0) == (0, 0)


def test_keys_headers_tombstones_and_empty_values(broker, topic):
    create_topic(broker.bootstrap, topic)
    p = producer(broker.bootstrap)
    records = [
        {"key": b"k1", "value": b"v1"},
        {"key": None, "value": b"no-key"},
        {"key": b"k1", "value": None},  # tombstone
        {"key": b"", "value": b""},  # empty, not null
        {"key": b"k2", "value": b"v2", "headers": [("a", b"1"), ("a", b"2"), ("empty", b""), ("null", None)]},
        {"key": b"\x00\xff\x00", "value": bytes(range(256))},
    ]
    produce_ok(p, topic, records)
    msgs = consume_range(broker.bootstrap, topic, 0, 0, len(records))
    assert [m.key() for m in msgs] == [b"k1", None, b"k1", b"", b"k2", b"\x00\xff\x00"]
    assert [m.value() for m in msgs] == [b"v1", b"no-key", None, b"", b"v2", bytes(range(256))]
    assert msgs[4].headers() == [("a", b"1"), ("a", b"2"), ("empty", b""), ("null", None)]
    assert msgs[0].headers() is None


def test_create_time_timestamps(broker, topic):
    create_topic(broker.bootstrap, topic)
    p = producer(broker.bootstrap)
    base = 1_600_000_000_000
    stamps = [base + 1000 * i for i in range(10)] + [base - 5000, base + 10**6]
    reports = produce_ok(p, topic, [{"value": b"t%d" % i, "timestamp": ts} for i, ts in enumerate(stamps)])
    assert [r.timestamp for r in reports] == [(TIMESTAMP_CREATE_TIME, ts) for ts in stamps]
    msgs = consume_range(broker.bootstrap, topic, 0, 0, len(stamps))
    assert [m.timestamp() for m in msgs] == [(TIMESTAMP_CREATE_TIME, ts) for ts in stamps]


def test_producer_default_timestamp_is_now(broker, topic):
    create_topic(broker.bootstrap, topic)
    before = int(time.time() * 1000)
    produce_ok(producer(broker.bootstrap), topic, [{"value": b"now"}])
    after = int(time.time() * 1000)
    (m,) = consume_range(broker.bootstrap, topic, 0, 0, 1)
    ts_type, ts = m.timestamp()
    assert ts_type == TIMESTAMP_CREATE_TIME
    assert before - 1 <= ts <= after + 1


def test_log_append_time_topic(broker, topic):
    create_topic(broker.bootstrap, topic, config={"message.timestamp.type": "LogAppendTime"})
    assert topic_config(broker.bootstrap, topic)["message.timestamp.type"].value == "LogAppendTime"
    p = producer(broker.bootstrap, **{"compression.codec": "lz4"})
    before = int(time.time() * 1000)
    reports = produce_ok(p, topic, [{"value": compressible(i), "timestamp": 1_000_000_000_000 + i} for i in range(20)])
    after = int(time.time() * 1000)
    # The produce answer carries the log append time; librdkafka reports it.
    for r in reports:
        assert r.timestamp[0] == TIMESTAMP_LOG_APPEND_TIME, r.timestamp
        assert before - 1 <= r.timestamp[1] <= after + 1, (before, r.timestamp, after)
    msgs = consume_range(broker.bootstrap, topic, 0, 0, 20)
    for m in msgs:
        ts_type, ts = m.timestamp()
        assert ts_type == TIMESTAMP_LOG_APPEND_TIME
        assert before - 1 <= ts <= after + 1, (before, ts, after)
    assert [m.value() for m in msgs] == [compressible(i) for i in range(20)]


@pytest.mark.parametrize("size", [0, 1, 1024, 100 * 1024, 900_000], ids=["0B", "1B", "1KiB", "100KiB", "900KB"])
def test_record_sizes(broker, topic, size):
    create_topic(broker.bootstrap, topic)
    p = producer(broker.bootstrap)
    values = [bytes([i % 251]) * size for i in range(3)]
    values[1] = bytes((j * 7 + 3) % 256 for j in range(size))
    reports = produce_ok(p, topic, [{"key": b"s%d" % i, "value": v} for i, v in enumerate(values)])
    assert [r.offset for r in reports] == [0, 1, 2]
    msgs = consume_range(broker.bootstrap, topic, 0, 0, 3)
    assert [len(m.value()) for m in msgs] == [size] * 3
    assert [m.value() for m in msgs] == values
    assert [m.key() for m in msgs] == [b"s0", b"s1", b"s2"]


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(broker, topic, acks):
    create_topic(broker.bootstrap, topic)
    p = producer(broker.bootstrap, acks=acks)
    n = 300
    reports = produce_all(p, topic, [{"key": b"%d" % i, "value": b"acks-%s-%d" % (acks.encode(), i)} for i in range(n)])
    assert all(r.error is None for r in reports), [r.error for r in reports if r.error][:3]
    if acks != "0":
        assert [r.offset for r in reports] == list(range(n))
    msgs = consume_range(broker.bootstrap, topic, 0, 0, n)
    assert [m.value() for m in msgs] == [b"acks-%s-%d" % (acks.encode(), i) for i in range(n)]
    assert [m.offset() for m in msgs] == list(range(n))
    assert watermarks(broker.bootstrap, topic, 0) == (0, n)


def test_multiple_partitions(broker, topic):
    parts = 4
    create_topic(broker.bootstrap, topic, partitions=parts)
    p = producer(broker.bootstrap, **{"compression.codec": "snappy"})
    records = [{"partition": i % parts, "key": b"k%d" % i, "value": b"p%d-v%d" % (i % parts, i)} for i in range(400)]
    reports = produce_ok(p, topic, records)
    for part in range(parts):
        offs = [r.offset for r in reports if r.partition == part]
        assert offs == list(range(100)), part
        assert watermarks(broker.bootstrap, topic, part) == (0, 100)
    # one consumer, all partitions in one fetch session
    c = consumer(broker.bootstrap)
    try:
        c.assign([TopicPartition(topic, part, 0) for part in range(parts)])
        msgs = consume(c, 400)
    finally:
        c.close()
    by_part = {}
    for m in msgs:
        by_part.setdefault(m.partition(), []).append(m)
    assert sorted(by_part) == list(range(parts))
    for part, ms in by_part.items():
        assert [m.offset() for m in ms] == list(range(100))
        assert [m.value() for m in ms] == [r["value"] for r in records if r["partition"] == part]


def test_consume_from_middle_of_a_batch(broker, topic):
    create_topic(broker.bootstrap, topic)
    p = producer(broker.bootstrap, **{"linger.ms": 50, "compression.codec": "zstd"})
    produce_ok(p, topic, [{"value": b"m%d" % i} for i in range(100)])
    msgs = consume_range(broker.bootstrap, topic, 0, 37, 63)
    assert [m.offset() for m in msgs] == list(range(37, 100))
    assert msgs[0].value() == b"m37"


def test_consumer_waits_for_new_records(broker, topic):
    create_topic(broker.bootstrap, topic)
    c = consumer(broker.bootstrap)
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        assert c.poll(1.0) is None
        produce_ok(producer(broker.bootstrap), topic, [{"value": b"late"}])
        (m,) = consume(c, 1, timeout=15)
        assert (m.offset(), m.value()) == (0, b"late")
    finally:
        c.close()


def test_message_too_large_for_topic(broker, topic):
    create_topic(broker.bootstrap, topic, config={"max.message.bytes": "1024"})
    p = producer(broker.bootstrap)
    reports = produce_all(p, topic, [{"value": b"x" * 4096}])
    assert reports[0].error is not None, "oversized record was acknowledged"
    assert reports[0].error.code() == KafkaError.MSG_SIZE_TOO_LARGE, reports[0].error
    ok = produce_ok(p, topic, [{"value": b"small"}])
    assert ok[0].offset == 0
    assert watermarks(broker.bootstrap, topic, 0) == (0, 1)
    (m,) = consume_range(broker.bootstrap, topic, 0, 0, 1)
    assert m.value() == b"small"


def test_broker_message_max_bytes(broker_factory, topic):
    b = broker_factory({"message.max.bytes": 20000})
    create_topic(b.bootstrap, topic)
    # the topic default follows the broker's message.max.bytes
    assert topic_config(b.bootstrap, topic)["max.message.bytes"].value == "20000"
    p = producer(b.bootstrap)
    reports = produce_all(p, topic, [{"value": b"y" * 50_000}])
    assert reports[0].error is not None and reports[0].error.code() == KafkaError.MSG_SIZE_TOO_LARGE, reports[0].error
    reports = produce_ok(p, topic, [{"value": b"z" * 10_000}])
    assert reports[0].offset == 0
    (m,) = consume_range(b.bootstrap, topic, 0, 0, 1)
    assert m.value() == b"z" * 10_000


def test_produce_to_unknown_partition(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    p = producer(broker.bootstrap, **{"message.timeout.ms": 5000})
    reports = produce_all(p, topic, [{"value": b"nowhere", "partition": 7}], flush_timeout=20)
    assert reports[0].error is not None
    assert reports[0].error.code() == KafkaError._UNKNOWN_PARTITION, reports[0].error


def test_corrupt_and_legacy_batches_refused(broker, topic):
    create_topic(broker.bootstrap, topic)
    good = kw.build_batch([b"a", b"b"])
    corrupt = bytearray(good)
    corrupt[-1] ^= 0xFF  # flip a payload bit: CRC32C no longer matches
    legacy = kw.build_legacy_batch([b"old"], magic=1)
    with kw.connect(broker.bootstrap) as s:
        s.sendall(kw.produce_v3_request(1, topic, 0, bytes(corrupt)))
        _, r = kw.read_response(s)
        assert kw.parse_produce_v3(r)[(topic, 0)].error_code == 2  # CORRUPT_MESSAGE
        s.sendall(kw.produce_v3_request(2, topic, 0, legacy))
        _, r = kw.read_response(s)
        assert kw.parse_produce_v3(r)[(topic, 0)].error_code == 87  # INVALID_RECORD
        # the connection is still usable and a good batch lands at offset 0
        s.sendall(kw.produce_v3_request(3, topic, 0, good))
        corr, r = kw.read_response(s)
        assert corr == 3
        part = kw.parse_produce_v3(r)[(topic, 0)]
        assert (part.error_code, part.base_offset) == (0, 0)
    assert watermarks(broker.bootstrap, topic, 0) == (0, 2)


def test_many_small_records_and_batches(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    p = producer(broker.bootstrap, **{"linger.ms": 10, "batch.num.messages": 250, "compression.codec": "lz4"})
    n = 5000
    reports = produce_ok(p, topic, [{"partition": i % 2, "value": b"%08d" % i} for i in range(n)])
    assert sorted(r.offset for r in reports if r.partition == 0) == list(range(n // 2))
    c = consumer(broker.bootstrap)
    try:
        c.assign([TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 0)])
        msgs = consume(c, n)
    finally:
        c.close()
    assert sorted(int(m.value()) for m in msgs) == list(range(n))


@pytest.mark.parametrize("acks", [1, -1])
def test_pipelined_produce_keeps_order(broker, topic, acks):
    """Produce requests pipelined on one connection are appended in the order they were sent.

    Kafka handles one request per connection at a time, so batches from one producer
    connection land in send order (librdkafka keeps up to 5 requests in flight and relies
    on this for ordering without idempotence).
    """
    create_topic(broker.bootstrap, topic)
    rounds, per_round, per_batch = 10, 5, 3
    expected = []
    with kw.connect(broker.bootstrap) as s:
        for rnd in range(rounds):
            frames = []
            for j in range(per_round):
                values = [b"r%02d-b%d-v%d" % (rnd, j, k) * 50 for k in range(per_batch)]
                expected += values
                frames.append(kw.produce_v3_request(rnd * 100 + j, topic, 0, kw.build_batch(values), acks=acks))
            s.sendall(b"".join(frames))
            for j in range(per_round):
                corr, r = kw.read_response(s)
                assert corr == rnd * 100 + j
                part = kw.parse_produce_v3(r)[(topic, 0)]
                assert part.error_code == 0
                assert part.base_offset == (rnd * per_round + j) * per_batch, (rnd, j, part.base_offset)
    msgs = consume_range(broker.bootstrap, topic, 0, 0, len(expected))
    assert [m.value() for m in msgs] == expected
