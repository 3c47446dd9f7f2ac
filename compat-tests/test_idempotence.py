"""Idempotent producers: real clients (librdkafka, kafka-python 3 defaults, aiokafka, kcat) and
the raw protocol (InitProducerId, sequence numbers, epochs), including a kill -9 restart.

Every test reads back what came back from the broker: consumed records, the producer id,
epoch and sequence that the stored batches carry, and the high watermark.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections import defaultdict

import pytest
from confluent_kafka import TopicPartition

import kafka_wire as kw
from kafkautil import consume, consumer, create_topic, produce_ok, producer, watermarks

KCAT = shutil.which("kcat") or shutil.which("kafkacat")


def read_partitions(bootstrap: str, topic: str, partitions: int, count: int, timeout: float = 60.0, **conf):
    c = consumer(bootstrap, **conf)
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        msgs = consume(c, count, timeout=timeout)
        # anything beyond `count` (a duplicate) shows up within a short extra poll
        extra = c.consume(num_messages=1000, timeout=1.0)
        msgs += [m for m in extra if m.error() is None]
    finally:
        c.close()
    out = defaultdict(list)
    for m in msgs:
        out[m.partition()].append(m)
    return out


# -- librdkafka ------------------------------------------------------------------------
@pytest.mark.timeout(180)
def test_librdkafka_idempotent_exactly_once_in_order(broker, topic):
    partitions, per_partition = 6, 1000
    create_topic(broker.bootstrap, topic, partitions=partitions)
    p = producer(broker.bootstrap, **{
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "batch.num.messages": 50,  # many small batches, up to 5 in flight per partition
        "max.in.flight.requests.per.connection": 5,
    })
    records = [{"partition": i % partitions, "key": b"k%06d" % i, "value": b"v%06d-" % i + b"x" * (i % 300)}
               for i in range(partitions * per_partition)]
    reports = produce_ok(p, topic, records)
    offsets = defaultdict(list)
    for r in reports:
        offsets[r.partition].append(r.offset)
    for part in range(partitions):
        assert offsets[part] == list(range(per_partition)), f"partition {part}: offsets out of order or repeated"
        assert watermarks(broker.bootstrap, topic, part) == (0, per_partition)

    got = read_partitions(broker.bootstrap, topic, partitions, len(records))
    for part in range(partitions):
        sent = [(r["key"], r["value"]) for r in records if r["partition"] == part]
        assert [(m.key(), m.value()) for m in got[part]] == sent, f"partition {part} differs from what was sent"
        assert [m.offset() for m in got[part]] == list(range(per_partition))
        kw.assert_idempotent_batches(broker.bootstrap, topic, part, per_partition)


# -- kafka-python 3.x ----------------------------------------------------------------------
def test_kafka_python_default_producer_is_idempotent(broker, topic):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTP

    create_topic(broker.bootstrap, topic, partitions=2)
    # No idempotence settings: kafka-python 3 turns it on by default (acks=all, retries).
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5, request_timeout_ms=15000)
    try:
        assert p.config["enable_idempotence"] is True
        futs = [p.send(topic, key=b"k%d" % i, value=b"kp3-%d" % i, partition=i % 2) for i in range(300)]
        p.flush(30)
        meta = [f.get(timeout=30) for f in futs]
    finally:
        p.close(timeout=10)
    for part in range(2):
        assert [m.offset for m in meta if m.partition == part] == list(range(150))

    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest")
    got = defaultdict(list)
    try:
        c.assign([KTP(topic, 0), KTP(topic, 1)])
        deadline = time.monotonic() + 30
        while sum(map(len, got.values())) < 300 and time.monotonic() < deadline:
            for tp, recs in c.poll(timeout_ms=500).items():
                got[tp.partition].extend(recs)
    finally:
        c.close()
    for part in range(2):
        assert [(r.offset, r.key, r.value) for r in got[part]] == \
            [(j, b"k%d" % i, b"kp3-%d" % i) for j, i in enumerate(range(part, 300, 2))]
        kw.assert_idempotent_batches(broker.bootstrap, topic, part, 150)


# -- aiokafka ------------------------------------------------------------------------------
def test_aiokafka_idempotent_producer(broker, topic):
    from aiokafka import AIOKafkaProducer

    create_topic(broker.bootstrap, topic, partitions=3)

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=True, acks="all", linger_ms=5)
        try:
            await p.start()
            futs = [await p.send(topic, key=b"a%d" % i, value=b"aio-%d" % i, partition=i % 3) for i in range(300)]
            return [await f for f in futs]
        finally:
            await p.stop()

    meta = asyncio.run(asyncio.wait_for(run(), 60))
    for part in range(3):
        assert [m.offset for m in meta if m.partition == part] == list(range(100))
    got = read_partitions(broker.bootstrap, topic, 3, 300)
    for part in range(3):
        assert [m.value() for m in got[part]] == [b"aio-%d" % i for i in range(part, 300, 3)]
        kw.assert_idempotent_batches(broker.bootstrap, topic, part, 100)


# -- kcat (Debian's librdkafka) --------------------------------------------------------------
@pytest.mark.skipif(KCAT is None, reason="kcat not installed (apt-get install kcat)")
def test_kcat_idempotent_produce(broker, topic):
    create_topic(broker.bootstrap, topic)
    lines = [f"kcat-idem-{i}" for i in range(500)]
    p = subprocess.run([KCAT, "-b", broker.bootstrap, "-P", "-t", topic, "-p", "0",
                        "-X", "enable.idempotence=true", "-X", "acks=all", "-X", "linger.ms=5"],
                       input=("\n".join(lines) + "\n").encode(), capture_output=True, timeout=60)
    stderr = p.stderr.decode(errors="replace")
    # kcat exits 0 even after a fatal client error: its stderr tells
    assert p.returncode == 0 and "FATAL" not in stderr and "ERROR" not in stderr, stderr
    got = read_partitions(broker.bootstrap, topic, 1, len(lines))
    assert [m.value() for m in got[0]] == [line.encode() for line in lines]
    kw.assert_idempotent_batches(broker.bootstrap, topic, 0, len(lines))


# -- raw protocol ------------------------------------------------------------------------------
class Raw:
    """One connection, increasing correlation ids."""

    def __init__(self, bootstrap: str) -> None:
        self.sock = kw.connect(bootstrap)
        self.corr = 0

    def next(self) -> int:
        self.corr += 1
        return self.corr

    def init_pid(self, transactional_id=None, **kwargs) -> kw.InitProducerIdResponse:
        return kw.init_producer_id(self.sock, self.next(), transactional_id, **kwargs)

    def produce(self, topic, partition, batch, **kwargs) -> kw.ProducePartition:
        return kw.produce(self.sock, self.next(), topic, partition, batch, **kwargs)

    def close(self) -> None:
        self.sock.close()


def values(tag: str, n: int):
    return [b"%s-%d" % (tag.encode(), i) for i in range(n)]


def stored_values(bootstrap: str, topic: str, partition: int) -> list:
    """Every record value of the partition, read with kafka-python's record decoder."""
    from kafka.record.default_records import DefaultRecordBatch

    out = []
    for b in kw.fetch_all_batches(bootstrap, topic, partition):
        out += [r.value for r in DefaultRecordBatch(b.raw)]
    return out


def test_raw_init_producer_id_and_retried_batch(broker, topic):
    create_topic(broker.bootstrap, topic)
    raw = Raw(broker.bootstrap)
    try:
        r = raw.init_pid(None)
        assert r.error_code == 0, r
        assert r.producer_id >= 0 and r.producer_epoch == 0, r
        r2 = raw.init_pid(None)
        assert r2.error_code == 0 and r2.producer_id >= 0 and r2.producer_id != r.producer_id, (r, r2)
        pid = r.producer_id

        b0 = kw.build_producer_batch(values("b0", 3), pid, 0, 0)
        first = raw.produce(topic, 0, b0)
        assert first.error_code == 0 and first.base_offset == 0, first
        # the same batch again, as a client retries after a lost answer: same offset, not appended
        again = raw.produce(topic, 0, b0)
        assert (again.error_code, again.base_offset) == (0, 0), again
        b1 = kw.build_producer_batch(values("b1", 2), pid, 0, 3)
        second = raw.produce(topic, 0, b1)
        assert (second.error_code, second.base_offset) == (0, 3), second
        # an older batch still among the last five is answered with its offset too
        old0 = raw.produce(topic, 0, b0)
        assert (old0.error_code, old0.base_offset) == (0, 0), old0
        old1 = raw.produce(topic, 0, b1)
        assert (old1.error_code, old1.base_offset) == (0, 3), old1
        assert watermarks(broker.bootstrap, topic, 0) == (0, 5)
        assert stored_values(broker.bootstrap, topic, 0) == values("b0", 3) + values("b1", 2)
        assert len(kw.fetch_all_batches(broker.bootstrap, topic, 0)) == 2

        # a second producer id writes its own sequence from 0 on the same partition
        other = kw.build_producer_batch(values("o", 1), r2.producer_id, 0, 0)
        assert (raw.produce(topic, 0, other).error_code) == 0
        assert watermarks(broker.bootstrap, topic, 0) == (0, 6)
    finally:
        raw.close()


def test_raw_sequence_gap_is_out_of_order_and_connection_survives(broker, topic):
    create_topic(broker.bootstrap, topic)
    raw = Raw(broker.bootstrap)
    try:
        pid = raw.init_pid(None).producer_id
        assert raw.produce(topic, 0, kw.build_producer_batch(values("a", 2), pid, 0, 0)).error_code == 0
        # sequences 0..1 written; 5 skips 2..4
        gap = raw.produce(topic, 0, kw.build_producer_batch(values("gap", 1), pid, 0, 5))
        assert gap.error_code == kw.OUT_OF_ORDER_SEQUENCE_NUMBER, gap
        # the same connection still serves requests, and the right next sequence is accepted
        ok = raw.produce(topic, 0, kw.build_producer_batch(values("b", 1), pid, 0, 2))
        assert (ok.error_code, ok.base_offset) == (0, 2), ok
        assert kw.parse_api_versions(*_api_versions_on(raw)).error_code == 0
        assert stored_values(broker.bootstrap, topic, 0) == values("a", 2) + values("b", 1)
    finally:
        raw.close()


def _api_versions_on(raw: Raw):
    corr = raw.next()
    raw.sock.sendall(kw.api_versions_request(3, corr))
    c, r = kw.read_response(raw.sock)
    assert c == corr
    return r, 3


def test_raw_older_epoch_is_invalid_producer_epoch(broker, topic):
    create_topic(broker.bootstrap, topic)
    raw = Raw(broker.bootstrap)
    try:
        pid = raw.init_pid(None).producer_id
        assert raw.produce(topic, 0, kw.build_producer_batch(values("e0", 2), pid, 0, 0)).error_code == 0
        # an idempotent producer bumps its own epoch (KIP-360) and starts again at sequence 0
        bumped = raw.produce(topic, 0, kw.build_producer_batch(values("e1", 2), pid, 1, 0))
        assert (bumped.error_code, bumped.base_offset) == (0, 2), bumped
        stale = raw.produce(topic, 0, kw.build_producer_batch(values("stale", 1), pid, 0, 2))
        assert stale.error_code == kw.INVALID_PRODUCER_EPOCH, stale
        # a new epoch that does not start at sequence 0 is out of order
        bad = raw.produce(topic, 0, kw.build_producer_batch(values("e2", 1), pid, 2, 7))
        assert bad.error_code == kw.OUT_OF_ORDER_SEQUENCE_NUMBER, bad
        ok = raw.produce(topic, 0, kw.build_producer_batch(values("e1b", 1), pid, 1, 2))
        assert (ok.error_code, ok.base_offset) == (0, 4), ok
        assert stored_values(broker.bootstrap, topic, 0) == values("e0", 2) + values("e1", 2) + values("e1b", 1)
    finally:
        raw.close()


@pytest.mark.timeout(180)
def test_raw_retry_after_kill9_restart_is_not_appended_twice(fresh_broker, topic):
    b = fresh_broker
    create_topic(b.bootstrap, topic, partitions=2)
    raw = Raw(b.bootstrap)
    try:
        pid = raw.init_pid(None).producer_id
        seq = 0
        last = None
        for i in range(20):
            batch = kw.build_producer_batch(values(f"r{i}", 5), pid, 0, seq)
            res = raw.produce(topic, 1, batch)
            assert res.error_code == 0 and res.base_offset == i * 5, res
            seq += 5
            last = (batch, res.base_offset)
    finally:
        raw.close()
    assert watermarks(b.bootstrap, topic, 1) == (0, 100)

    b.kill9()
    b.start()

    raw = Raw(b.bootstrap)
    try:
        batch, offset = last
        again = raw.produce(topic, 1, batch)
        assert (again.error_code, again.base_offset) == (0, offset), again
        # and the producer carries on with the next sequence after the restart
        nxt = raw.produce(topic, 1, kw.build_producer_batch(values("after", 1), pid, 0, seq))
        assert (nxt.error_code, nxt.base_offset) == (0, 100), nxt
        gap = raw.produce(topic, 1, kw.build_producer_batch(values("gap", 1), pid, 0, seq + 10))
        assert gap.error_code == kw.OUT_OF_ORDER_SEQUENCE_NUMBER, gap
        # a fresh producer id after the restart differs from the one before
        assert raw.init_pid(None).producer_id != pid
    finally:
        raw.close()
    assert watermarks(b.bootstrap, topic, 1) == (0, 101)
    expected = [v for i in range(20) for v in values(f"r{i}", 5)] + values("after", 1)
    assert stored_values(b.bootstrap, topic, 1) == expected
