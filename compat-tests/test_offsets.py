"""ListOffsets (earliest, latest, by timestamp, max timestamp), watermarks, DeleteRecords."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import OFFSET_END, Consumer, IsolationLevel, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec

import kafka_wire as kw
from kafkautil import (
    REQUEST_TIMEOUT,
    admin,
    consume,
    consume_range,
    consumer,
    create_topic,
    produce_ok,
    producer,
    result,
    watermarks,
)

BASE = 1_700_000_000_000
N = 10


def timestamps():
    ts = [BASE + 1000 * i for i in range(N)]
    ts[6] = BASE + 100_000  # the maximum timestamp is not on the last record
    return ts


def fill(bootstrap: str, topic: str, partitions: int = 1) -> list:
    create_topic(bootstrap, topic, partitions=partitions)
    # one record per batch so that time lookups cannot hide behind a batch boundary
    p = producer(bootstrap, **{"linger.ms": 0, "max.in.flight": 1})
    out = []
    for i, ts in enumerate(timestamps()):
        out += produce_ok(p, topic, [{"partition": 0, "key": b"k%d" % i, "value": b"v%d" % i, "timestamp": ts}])
    assert [d.offset for d in out] == list(range(N))
    return out


def offsets_for_time(bootstrap: str, topic: str, ts: int) -> int:
    c = consumer(bootstrap)
    try:
        (tp,) = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=REQUEST_TIMEOUT)
        assert tp.error is None, tp.error
        return tp.offset
    finally:
        c.close()


def list_offsets(bootstrap: str, topic: str, spec, **kw_):
    tp = TopicPartition(topic, 0)
    fut = admin(bootstrap).list_offsets({tp: spec}, request_timeout=REQUEST_TIMEOUT, **kw_)[tp]
    return result(fut)


def raw_fetch_error(bootstrap: str, topic: str, offset: int) -> int:
    with kw.connect(bootstrap) as s:
        s.sendall(kw.fetch_v4_request(5, topic, 0, offset, max_wait_ms=10))
        corr, r = kw.read_response(s)
        assert corr == 5
        return kw.parse_fetch_v4(r)[(topic, 0)].error_code


def test_offsets_for_times(broker, topic):
    fill(broker.bootstrap, topic)
    assert offsets_for_time(broker.bootstrap, topic, BASE - 1) == 0
    assert offsets_for_time(broker.bootstrap, topic, BASE) == 0
    assert offsets_for_time(broker.bootstrap, topic, BASE + 1) == 1
    assert offsets_for_time(broker.bootstrap, topic, BASE + 3500) == 4
    assert offsets_for_time(broker.bootstrap, topic, BASE + 5000) == 5
    # only record 6 has a timestamp this large
    assert offsets_for_time(broker.bootstrap, topic, BASE + 50_000) == 6
    assert offsets_for_time(broker.bootstrap, topic, BASE + 100_000) == 6
    # nothing at or after it: -1 (OFFSET_END)
    assert offsets_for_time(broker.bootstrap, topic, BASE + 100_001) == OFFSET_END


def test_get_watermark_offsets(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    assert watermarks(broker.bootstrap, topic, 0) == (0, 0)
    produce_ok(producer(broker.bootstrap), topic, [{"partition": 1, "value": b"x"} for _ in range(7)])
    assert watermarks(broker.bootstrap, topic, 0) == (0, 0)
    assert watermarks(broker.bootstrap, topic, 1) == (0, 7)


def test_admin_list_offsets(broker, topic):
    fill(broker.bootstrap, topic)
    b = broker.bootstrap
    assert list_offsets(b, topic, OffsetSpec.earliest()).offset == 0
    assert list_offsets(b, topic, OffsetSpec.latest()).offset == N
    assert list_offsets(b, topic, OffsetSpec.latest(), isolation_level=IsolationLevel.READ_COMMITTED).offset == N
    mx = list_offsets(b, topic, OffsetSpec.max_timestamp())
    assert (mx.offset, mx.timestamp) == (6, BASE + 100_000)
    at = list_offsets(b, topic, OffsetSpec.for_timestamp(BASE + 3500))
    assert (at.offset, at.timestamp) == (4, BASE + 4000)
    none = list_offsets(b, topic, OffsetSpec.for_timestamp(BASE + 200_000))
    assert none.offset == -1


def test_list_offsets_empty_partition(broker, topic):
    create_topic(broker.bootstrap, topic)
    b = broker.bootstrap
    assert list_offsets(b, topic, OffsetSpec.earliest()).offset == 0
    assert list_offsets(b, topic, OffsetSpec.latest()).offset == 0
    assert list_offsets(b, topic, OffsetSpec.for_timestamp(BASE)).offset == -1
    assert list_offsets(b, topic, OffsetSpec.max_timestamp()).offset == -1


def test_delete_records_moves_log_start(broker, topic):
    fill(broker.bootstrap, topic)
    b = broker.bootstrap
    a = admin(b)
    tp = TopicPartition(topic, 0, 4)
    deleted = result(a.delete_records([tp], request_timeout=REQUEST_TIMEOUT)[tp])
    assert deleted.low_watermark == 4
    assert watermarks(b, topic, 0) == (4, N)
    assert list_offsets(b, topic, OffsetSpec.earliest()).offset == 4
    assert list_offsets(b, topic, OffsetSpec.latest()).offset == N
    # time lookups start at the log start offset
    assert offsets_for_time(b, topic, BASE) == 4
    # records at and above the new start are still there
    msgs = consume_range(b, topic, 0, 4, N - 4)
    assert [(m.offset(), m.value()) for m in msgs] == [(i, b"v%d" % i) for i in range(4, N)]
    # a fetch below the log start is out of range; at the high watermark it is not
    assert raw_fetch_error(b, topic, 2) == 1  # OFFSET_OUT_OF_RANGE
    assert raw_fetch_error(b, topic, N + 1) == 1
    assert raw_fetch_error(b, topic, N) == 0
    assert raw_fetch_error(b, topic, 4) == 0


def test_fetch_below_log_start_resets_earliest(broker, topic):
    fill(broker.bootstrap, topic)
    tp = TopicPartition(topic, 0, 6)
    result(admin(broker.bootstrap).delete_records([tp], request_timeout=REQUEST_TIMEOUT)[tp])
    msgs = consume_range(broker.bootstrap, topic, 0, 2, N - 6, **{"auto.offset.reset": "earliest"})
    assert [m.offset() for m in msgs] == list(range(6, N))


def test_fetch_below_log_start_resets_latest(broker, topic):
    fill(broker.bootstrap, topic)
    tp = TopicPartition(topic, 0, 6)
    result(admin(broker.bootstrap).delete_records([tp], request_timeout=REQUEST_TIMEOUT)[tp])
    c = consumer(broker.bootstrap, **{"auto.offset.reset": "latest"})
    try:
        c.assign([TopicPartition(topic, 0, 2)])
        assert c.poll(2.0) is None
        produce_ok(producer(broker.bootstrap), topic, [{"partition": 0, "value": b"after-reset"}])
        (m,) = consume(c, 1, timeout=15)
        assert (m.offset(), m.value()) == (N, b"after-reset")
    finally:
        c.close()


def test_fetch_below_log_start_reset_error(broker, topic):
    fill(broker.bootstrap, topic)
    tp = TopicPartition(topic, 0, 6)
    result(admin(broker.bootstrap).delete_records([tp], request_timeout=REQUEST_TIMEOUT)[tp])
    c = consumer(broker.bootstrap, **{"auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition(topic, 0, 2)])
        err = None
        for _ in range(20):
            m = c.poll(0.5)
            if m is not None:
                assert m.error() is not None, f"got a record at offset {m.offset()} below the log start"
                err = m.error()
                break
        assert err is not None, "no error event for an offset below the log start"
        assert err.code() == KafkaError._AUTO_OFFSET_RESET, err
    finally:
        c.close()


def test_delete_records_to_high_watermark_and_beyond(broker, topic):
    fill(broker.bootstrap, topic)
    a = admin(broker.bootstrap)
    beyond = TopicPartition(topic, 0, N + 5)
    with pytest.raises(KafkaException) as ei:
        result(a.delete_records([beyond], request_timeout=REQUEST_TIMEOUT)[beyond])
    assert ei.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE
    assert watermarks(broker.bootstrap, topic, 0) == (0, N)

    everything = TopicPartition(topic, 0, OFFSET_END)  # -1: up to the high watermark
    assert result(a.delete_records([everything], request_timeout=REQUEST_TIMEOUT)[everything]).low_watermark == N
    assert watermarks(broker.bootstrap, topic, 0) == (N, N)
    # new records keep counting from the high watermark
    d = produce_ok(producer(broker.bootstrap), topic, [{"partition": 0, "value": b"next"}])
    assert d[0].offset == N
    (m,) = consume_range(broker.bootstrap, topic, 0, N, 1)
    assert m.value() == b"next"


def test_delete_records_never_moves_backwards(broker, topic):
    fill(broker.bootstrap, topic)
    a = admin(broker.bootstrap)
    for target, expected in ((5, 5), (3, 5)):
        tp = TopicPartition(topic, 0, target)
        assert result(a.delete_records([tp], request_timeout=REQUEST_TIMEOUT)[tp]).low_watermark == expected
    assert watermarks(broker.bootstrap, topic, 0) == (5, N)


def test_pipelined_async_commits_land_in_order(broker, topic):
    """librdkafka's test 0030 (MANUAL.COMMIT.ASYNC & AUTO.STORE): one async commit per message,
    pipelined on the coordinator connection. Commit callbacks arrive in the order the broker
    answered, so once every callback is in, committed() must read what the last one reported:
    the commits must take effect in the order they were sent, not just be answered in it."""
    create_topic(broker.bootstrap, topic, partitions=1)
    n = 300
    produce_ok(producer(broker.bootstrap, **{"linger.ms": 5}), topic,
               [{"partition": 0, "value": b"v%d" % i} for i in range(n)])
    done = []
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": topic, "enable.auto.commit": False,
                  "enable.auto.offset.store": True, "auto.offset.reset": "earliest",
                  "on_commit": lambda err, parts: done.append((err, [p.offset for p in parts]))})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        got = 0
        while got < n:
            for m in c.consume(100, 1.0):
                assert m.error() is None, m.error()
                got += 1
                c.commit(asynchronous=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(done) < n:
            c.poll(0.1)
        assert len(done) == n, f"{len(done)} of {n} commit callbacks"
        assert all(err is None for err, _ in done), done[:5]
        last = done[-1][1]
        (tp,) = c.committed([TopicPartition(topic, 0)], timeout=REQUEST_TIMEOUT)
        # (the last callback is not always n: commits librdkafka parked while it looked for the
        # coordinator carry the offsets stored when they were made, and may go out last)
        assert [tp.offset] == last, (tp, done[-8:])
    finally:
        c.close()
