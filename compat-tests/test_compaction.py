"""Log compaction (cleanup.policy=compact) read back with real clients.

The broker cleans compacted topics every `log.cleaner.backoff.ms` (Kafka's property; 15 s by
default) and rolls segments by time every `log.retention.check.interval.ms`; both are set small
here, with segment.ms small and min.cleanable.dirty.ratio=0.01 on the topic, so a written
segment is sealed and cleaned within a second or two. Every wait is bounded.

Also: keyless records on a compacted topic are refused with INVALID_RECORD (87), as Kafka does.
"""

from __future__ import annotations

import time
from typing import Dict, List, Optional, Tuple

from confluent_kafka import KafkaError, TopicPartition

import kafka_wire as kw
from kafkautil import consumer, create_topic, produce_all, produce_ok, producer, watermarks

FAST_CLEANER = {"log.cleaner.backoff.ms": 200, "log.retention.check.interval.ms": 200}
COMPACT = {
    "cleanup.policy": "compact",
    "segment.bytes": "1048576",
    "segment.ms": "300",
    "min.cleanable.dirty.ratio": "0.01",
}
INVALID_RECORD = 87


def read_all(bootstrap: str, topic: str, partition: int = 0, timeout: float = 15.0) -> List[Tuple[int, bytes, Optional[bytes]]]:
    """Every record from the start of the partition to its high watermark: (offset, key, value)."""
    lo, hi = watermarks(bootstrap, topic, partition)
    out = []
    if hi <= lo:
        return out
    c = consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, partition, 0)])
        deadline = time.monotonic() + timeout
        last = -1
        while last < hi - 1 and time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error():
                    raise AssertionError(f"consume error: {m.error()}")
                out.append((m.offset(), m.key(), m.value()))
                last = m.offset()
        assert last >= hi - 1, f"read up to offset {last}, high watermark {hi}"
    finally:
        c.close()
    return out


def wait_compacted(bootstrap: str, topic: str, want: Dict[bytes, Tuple[int, Optional[bytes]]],
                   ignore_keys=(), timeout: float = 40.0):
    """Poll until a read from offset 0 holds exactly `want` ({key: (offset, value)}) apart from
    ignore_keys. Returns the last read and the seconds it took."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout:
        recs = read_all(bootstrap, topic)
        got = [(o, k, v) for o, k, v in recs if k not in ignore_keys]
        last = got
        if len(got) == len(want) and all(want.get(k) == (o, v) for o, k, v in got):
            return recs, time.monotonic() - start
        time.sleep(0.5)
    keys = {}
    for o, k, v in last or []:
        keys.setdefault(k, []).append(o)
    dup = {k: v for k, v in keys.items() if len(v) > 1}
    raise AssertionError(
        f"not compacted within {timeout}s: read {len(last or [])} records for {len(want)} wanted keys; "
        f"keys with several records: {len(dup)} (e.g. {list(dup.items())[:3]}); "
        f"unwanted keys: {sorted(set(keys) - set(want))[:5]}")


def test_compacted_topic_keeps_latest_value_per_key(broker_factory, topic):
    b = broker_factory(FAST_CLEANER)
    create_topic(b.bootstrap, topic, 1, config=COMPACT)
    p = producer(b.bootstrap)
    keys = [f"key-{i:03d}".encode() for i in range(100)]
    latest: Dict[bytes, Tuple[int, bytes]] = {}
    for rnd in range(5):
        # Each round a value for every key (later rounds only for some), ~1 KiB each.
        recs = [{"key": k, "value": f"{k.decode()}-round{rnd}-".encode() + b"x" * 1000}
                for i, k in enumerate(keys) if rnd < 3 or i % (rnd + 1) == 0]
        for rep in produce_ok(p, topic, recs):
            latest[rep.key] = (rep.offset, rep.value)
        time.sleep(0.4)  # > segment.ms: the next round lands in a new segment
    # A record under another key after the roll, so the last round sits in a sealed segment.
    time.sleep(0.5)
    produce_ok(p, topic, [{"key": b"sentinel", "value": b"s"}])
    lo, hi = watermarks(b.bootstrap, topic, 0)
    recs, took = wait_compacted(b.bootstrap, topic, latest, ignore_keys={b"sentinel"})
    # Offsets are never rewritten: every kept record still has the offset it was written at,
    # and the high watermark did not move.
    assert watermarks(b.bootstrap, topic, 0)[1] == hi
    assert [o for o, _, _ in recs] == sorted(o for o, _, _ in recs)
    print(f"compacted {hi} records to {len(recs)} in {took:.1f}s")

    # After a restart the compacted log reads the same.
    b.restart()
    again, _ = wait_compacted(b.bootstrap, topic, latest, ignore_keys={b"sentinel"}, timeout=10)
    assert again == recs


def test_compaction_removes_tombstones_after_delete_retention(broker_factory, topic):
    b = broker_factory(FAST_CLEANER)
    create_topic(b.bootstrap, topic, 1, config=dict(COMPACT, **{"delete.retention.ms": "1000"}))
    p = producer(b.bootstrap)
    keys = [f"t-{i:02d}".encode() for i in range(20)]
    live: Dict[bytes, Tuple[int, bytes]] = {}
    for rep in produce_ok(p, topic, [{"key": k, "value": b"v1-" + k} for k in keys]):
        live[rep.key] = (rep.offset, rep.value)
    time.sleep(0.4)
    for rep in produce_ok(p, topic, [{"key": k, "value": b"v2-" + k} for k in keys[10:]]):
        live[rep.key] = (rep.offset, rep.value)
    # Tombstones for the first half.
    tombstones = {}
    for rep in produce_ok(p, topic, [{"key": k, "value": None} for k in keys[:10]]):
        del live[rep.key]
        tombstones[rep.key] = (rep.offset, None)
    time.sleep(0.5)
    produce_ok(p, topic, [{"key": b"sentinel", "value": b"s"}])
    # First pass: older values go, the tombstones stay (delete.retention.ms has not passed yet).
    want = dict(live)
    want.update(tombstones)
    wait_compacted(b.bootstrap, topic, want, ignore_keys={b"sentinel"}, timeout=20)
    # As in Kafka, a tombstone goes in a cleaning pass that runs after delete.retention.ms:
    # newer (dirty) data makes the log cleanable again.
    time.sleep(1.2)
    for rep in produce_ok(p, topic, [{"key": k, "value": b"v3-" + k} for k in keys[10:]]):
        live[rep.key] = (rep.offset, rep.value)
    time.sleep(0.5)
    produce_ok(p, topic, [{"key": b"sentinel", "value": b"s2"}])
    recs, took = wait_compacted(b.bootstrap, topic, live, ignore_keys={b"sentinel"}, timeout=30)
    assert not [r for r in recs if r[2] is None and r[1] != b"sentinel"], "tombstones still readable"
    print(f"tombstones gone after {took:.1f}s")


def test_tombstones_kept_within_delete_retention(broker_factory, topic):
    """With the default delete.retention.ms (1 day) a cleaned tombstone stays readable."""
    b = broker_factory(FAST_CLEANER)
    create_topic(b.bootstrap, topic, 1, config=COMPACT)
    p = producer(b.bootstrap)
    first = produce_ok(p, topic, [{"key": b"k%d" % i, "value": b"v"} for i in range(5)])
    time.sleep(0.4)
    tomb = produce_ok(p, topic, [{"key": b"k%d" % i, "value": None} for i in range(5)])
    time.sleep(0.5)
    produce_ok(p, topic, [{"key": b"sentinel", "value": b"s"}])
    want = {r.key: (r.offset, None) for r in tomb}
    recs, _ = wait_compacted(b.bootstrap, topic, want, ignore_keys={b"sentinel"})
    assert all(o >= first[-1].offset + 1 for o, k, v in recs)


def test_keyless_record_on_compacted_topic_is_refused(broker_factory, topic):
    b = broker_factory()
    create_topic(b.bootstrap, topic, 1, config={"cleanup.policy": "compact"})
    p = producer(b.bootstrap, **{"message.send.max.retries": 0})
    reps = produce_all(p, topic, [{"value": b"no key"}])
    assert reps[0].error is not None and reps[0].error.code() == KafkaError.INVALID_RECORD, reps[0].error
    ok = produce_ok(p, topic, [{"key": b"k", "value": b"with key"}])
    assert ok[0].offset == 0

    # Raw Produce v3: a batch with one keyless record among keyed ones is refused whole.
    from kafka.record.default_records import DefaultRecordBatchBuilder

    bb = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=0, producer_id=-1,
                                   producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    bb.append(0, timestamp=int(time.time() * 1000), key=b"a", value=b"1", headers=[])
    bb.append(1, timestamp=int(time.time() * 1000), key=None, value=b"2", headers=[])
    batch = bytes(bb.build())
    with kw.connect(b.bootstrap) as s:
        s.sendall(kw.produce_v3_request(5, topic, 0, batch))
        corr, r = kw.read_response(s)
        res = kw.parse_produce_v3(r)
    assert corr == 5 and res[(topic, 0)].error_code == INVALID_RECORD, res
    assert watermarks(b.bootstrap, topic, 0)[1] == 1

    # librdkafka (test 0011): Kafka's record_errors name only the keyless records, so in one batch
    # those fail with INVALID_RECORD and the keyed ones with _INVALID_DIFFERENT_RECORD
    batched = producer(b.bootstrap, **{"message.send.max.retries": 0, "linger.ms": 200})
    reps = produce_all(batched, topic, [{"key": b"a", "value": b"1"}, {"value": b"2"},
                                        {"key": b"b", "value": b"3"}, {"value": b"4"}])
    assert [r.error.code() if r.error else None for r in reps] == [
        KafkaError._INVALID_DIFFERENT_RECORD, KafkaError.INVALID_RECORD,
        KafkaError._INVALID_DIFFERENT_RECORD, KafkaError.INVALID_RECORD], reps
    assert watermarks(b.bootstrap, topic, 0)[1] == 1

    # compact,delete behaves the same; a delete-only topic takes keyless records.
    t2 = topic + "-cd"
    create_topic(b.bootstrap, t2, 1, config={"cleanup.policy": "compact,delete"})
    reps = produce_all(p, t2, [{"value": b"no key"}])
    assert reps[0].error is not None and reps[0].error.code() == KafkaError.INVALID_RECORD
    t3 = topic + "-d"
    create_topic(b.bootstrap, t3, 1, config={"cleanup.policy": "delete"})
    produce_ok(p, t3, [{"value": b"no key"}])


def control_batches(bootstrap: str, topic: str) -> Tuple[List[Tuple[int, bool]], int, int]:
    """Every control batch in partition 0 as a raw Fetch returns them: (base offset, delete
    horizon set), with the partition's high watermark and last stable offset."""
    out: List[Tuple[int, bool]] = []
    offset, corr = 0, 100
    with kw.connect(bootstrap) as s:
        while True:
            corr += 1
            s.sendall(kw.fetch_v4_request(corr, topic, 0, offset))
            _, r = kw.read_response(s)
            part = kw.parse_fetch_v4(r)[(topic, 0)]
            assert part.error_code == 0, part
            batches = [b for b in kw.split_batches(part.records) if b.base_offset + b.last_offset_delta >= offset]
            for b in batches:
                if b.attributes & 0x20:
                    out.append((b.base_offset, bool(b.attributes & 0x40)))
            if not batches:
                return out, part.high_watermark, part.last_stable_offset
            offset = batches[-1].base_offset + batches[-1].last_offset_delta + 1


def test_transaction_markers_go_after_their_data_and_delete_retention(broker_factory, topic):
    """Kafka's cleaner (KIP-534) removes a COMMIT/ABORT marker once its transaction's records are
    gone and delete.retention.ms has passed since a pass set its delete horizon; the partition's
    last stable offset still reaches the end, also after a restart (producer state rebuilt)."""
    from confluent_kafka import Producer

    b = broker_factory(FAST_CLEANER)
    create_topic(b.bootstrap, topic, 1, config=dict(COMPACT, **{"delete.retention.ms": "1000"}))
    keys = [f"k{i}".encode() for i in range(5)]
    tp = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": f"markers-{topic}", "linger.ms": 5})
    tp.init_transactions(30)
    tp.begin_transaction()
    for k in keys:
        tp.produce(topic, b"committed-" + k, key=k, partition=0)
    tp.commit_transaction(30)
    tp.begin_transaction()
    for k in keys:
        tp.produce(topic, b"aborted-" + k, key=b"a-" + k, partition=0)
    tp.flush(30)  # written, so the abort needs a marker (unsent records are only purged)
    tp.abort_transaction(30)
    p = producer(b.bootstrap)
    live = {}
    for rep in produce_ok(p, topic, [{"key": k, "value": b"plain-" + k} for k in keys]):
        live[rep.key] = (rep.offset, rep.value)
    markers, _, _ = control_batches(b.bootstrap, topic)
    assert len(markers) == 2, markers

    # Dirty data every 0.3 s keeps passes coming (and segments rolling, so the producer snapshots
    # move above the markers); the markers go within the bound.
    deadline = time.monotonic() + 40
    seen_horizon = False
    while time.monotonic() < deadline:
        produce_ok(p, topic, [{"key": b"sentinel", "value": b"s"}])
        markers, hw, lso = control_batches(b.bootstrap, topic)
        seen_horizon |= any(h for _, h in markers)
        if not markers:
            break
        time.sleep(0.3)
    assert markers == [], f"markers still there: {markers}"
    assert seen_horizon, "a marker was removed without a pass setting its delete horizon first"
    assert lso == hw
    recs, _ = wait_compacted(b.bootstrap, topic, live, ignore_keys={b"sentinel"}, timeout=20)
    assert not [r for r in recs if r[2] and r[2].startswith((b"committed-", b"aborted-"))]

    # Rebuilt from snapshots and the cleaned log, no transaction is left open.
    b.restart()
    produce_ok(producer(b.bootstrap), topic, [{"key": b"after", "value": b"restart"}])
    _, hw, lso = control_batches(b.bootstrap, topic)
    assert lso == hw, (lso, hw)
    c = consumer(b.bootstrap, **{"isolation.level": "read_committed"})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        got = {}
        end = time.monotonic() + 15
        while b"after" not in got and time.monotonic() < end:
            for m in c.consume(num_messages=1000, timeout=0.5):
                assert not m.error(), m.error()
                got[m.key()] = m.value()
        assert got.get(b"after") == b"restart"
        assert {k: got[k] for k in keys} == {k: b"plain-" + k for k in keys}
    finally:
        c.close()
    tp.flush(5)
