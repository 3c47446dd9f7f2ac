"""Transactions with real clients (librdkafka, kafka-python 3, aiokafka) and over the raw protocol.

Commit and abort seen through read_committed and read_uncommitted consumers, the last stable
offset, consume-transform-produce with offsets committed in the transaction, zombie fencing,
the coordinator aborting a transaction that outlived its timeout, a kill -9 of the broker in
the middle of many transactions, and requests that Kafka refuses.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

import kafka_wire as kw
from kafkautil import consume, consumer, create_topic, produce_ok, producer, unique, watermarks

HERE = Path(__file__).resolve().parent
TXN_TIMEOUT_S = 30


def txn_producer(bootstrap: str, txn_id: str, **conf) -> Producer:
    c = {
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "linger.ms": 5,
        "message.timeout.ms": 30000,
    }
    c.update(conf)
    p = Producer(c)
    p.init_transactions(TXN_TIMEOUT_S)
    return p


def produce_txn(p: Producer, topic: str, values, partitions: int = 1) -> None:
    for i, v in enumerate(values):
        p.produce(topic, value=v, key=v, partition=i % partitions)
    p.poll(0)


def wait_stable(bootstrap: str, topic: str, partitions: int, timeout: float = 20.0) -> None:
    """Wait until no transaction is open on any partition: the last stable offset (what a
    read_committed consumer's ListOffsets answers) equals the high watermark. A commit or
    abort returns to the producer before its markers are written, as in Kafka."""
    deadline = time.monotonic() + timeout
    while True:
        state = [(isolated_watermarks(bootstrap, topic, p, "read_committed")[1], watermarks(bootstrap, topic, p)[1])
                 for p in range(partitions)]
        if all(lso == hw for lso, hw in state):
            return
        assert time.monotonic() < deadline, f"{topic}: (last stable offset, high watermark) per partition {state}"
        time.sleep(0.1)


def read_to_end(bootstrap: str, topic: str, partitions: int, isolation: str, timeout: float = 30.0) -> list:
    """Every record a consumer with `isolation` gets from offset 0 until each partition's end
    (its high watermark, or for read_committed its last stable offset): EOF on all of them.
    Waits first for every transaction's markers (wait_stable)."""
    wait_stable(bootstrap, topic, partitions)
    c = consumer(bootstrap, **{"isolation.level": isolation, "enable.partition.eof": True})
    out = []
    eof = set()
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        deadline = time.monotonic() + timeout
        while len(eof) < partitions and time.monotonic() < deadline:
            for m in c.consume(num_messages=500, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                        continue
                    raise KafkaException(m.error())
                eof.discard(m.partition())
                out.append(m)
    finally:
        c.close()
    assert len(eof) == partitions, f"{isolation}: no end of partition within {timeout}s on " \
                                   f"{sorted(set(range(partitions)) - eof)} ({len(out)} records read)"
    return out


def values_of(msgs) -> list:
    return sorted(m.value() for m in msgs)


def isolated_watermarks(bootstrap: str, topic: str, partition: int, isolation: str):
    c = consumer(bootstrap, **{"isolation.level": isolation})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
    finally:
        c.close()


def vals(tag: str, n: int) -> list:
    return [b"%s-%d" % (tag.encode(), i) for i in range(n)]


# -- librdkafka ----------------------------------------------------------------------------
def test_librdkafka_commit_and_abort(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    p = txn_producer(broker.bootstrap, unique("txn-rd"))
    p.begin_transaction()
    produce_txn(p, topic, vals("c1", 10), 2)
    p.commit_transaction(TXN_TIMEOUT_S)

    p.begin_transaction()
    produce_txn(p, topic, vals("ab", 10), 2)
    p.flush(30)
    # While the transaction is open, read_committed stops at the last stable offset: the
    # first offset of the open transaction (5 records + 1 commit marker before it).
    for part in range(2):
        assert isolated_watermarks(broker.bootstrap, topic, part, "read_uncommitted") == (0, 11)
        assert isolated_watermarks(broker.bootstrap, topic, part, "read_committed") == (0, 6)
    p.abort_transaction(TXN_TIMEOUT_S)

    p.begin_transaction()
    produce_txn(p, topic, vals("c2", 4), 2)
    p.commit_transaction(TXN_TIMEOUT_S)

    # each partition: 5 + marker, 5 + marker, 2 + marker
    wait_stable(broker.bootstrap, topic, 2)
    for part in range(2):
        assert watermarks(broker.bootstrap, topic, part) == (0, 15)
        assert isolated_watermarks(broker.bootstrap, topic, part, "read_committed") == (0, 15)

    rc = read_to_end(broker.bootstrap, topic, 2, "read_committed")
    assert values_of(rc) == sorted(vals("c1", 10) + vals("c2", 4))
    ru = read_to_end(broker.bootstrap, topic, 2, "read_uncommitted")
    assert values_of(ru) == sorted(vals("c1", 10) + vals("ab", 10) + vals("c2", 4))
    # control markers take offsets but are never handed to the application
    offsets = sorted(m.offset() for m in ru if m.partition() == 0)
    assert offsets == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13]


@pytest.mark.timeout(180)
def test_consume_transform_produce_exactly_once(broker, topic):
    src, dst = f"{topic}-in", f"{topic}-out"
    partitions, n = 3, 900
    create_topic(broker.bootstrap, src, partitions=partitions)
    create_topic(broker.bootstrap, dst, partitions=partitions)
    produce_ok(producer(broker.bootstrap, acks="all"), src,
               [{"partition": i % partitions, "key": b"%d" % i, "value": b"in-%d" % i} for i in range(n)])
    group = unique("eos-group")
    c = Consumer({
        "bootstrap.servers": broker.bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 1000,
    })
    p = txn_producer(broker.bootstrap, unique("eos-txn"))
    processed = 0
    commits = 0
    try:
        c.subscribe([src])
        p.begin_transaction()
        in_txn = 0
        deadline = time.monotonic() + 120
        while processed < n and time.monotonic() < deadline:
            for m in c.consume(num_messages=min(100 - in_txn, 100), timeout=0.5):
                if m.error():
                    raise KafkaException(m.error())
                p.produce(dst, key=m.key(), value=m.value().replace(b"in-", b"out-"), partition=m.partition())
                processed += 1
                in_txn += 1
            if in_txn >= 100 or (processed == n and in_txn):
                p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), TXN_TIMEOUT_S)
                p.commit_transaction(TXN_TIMEOUT_S)
                commits += 1
                in_txn = 0
                p.begin_transaction()
        p.abort_transaction(TXN_TIMEOUT_S)  # the empty one begun after the last commit
    finally:
        c.close()
    assert processed == n, f"processed {processed} of {n}"
    assert commits == n // 100

    out = read_to_end(broker.bootstrap, dst, partitions, "read_committed")
    assert Counter(m.value() for m in out) == Counter(b"out-%d" % i for i in range(n))
    # the group's committed offsets, written by the transactions, cover every input record
    probe = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = probe.committed([TopicPartition(src, part) for part in range(partitions)], timeout=15)
    finally:
        probe.close()
    assert {tp.partition: tp.offset for tp in committed} == {part: n // partitions for part in range(partitions)}
    assert sum(tp.offset for tp in committed) == n


def test_zombie_producer_is_fenced(broker, topic):
    create_topic(broker.bootstrap, topic)
    txn_id = unique("zombie")
    a = txn_producer(broker.bootstrap, txn_id)
    a.begin_transaction()
    produce_txn(a, topic, vals("zombie", 5))
    assert a.flush(30) == 0

    b = txn_producer(broker.bootstrap, txn_id)  # same transactional.id: bumps the epoch, aborts A's transaction
    with pytest.raises(KafkaException) as exc:
        a.commit_transaction(TXN_TIMEOUT_S)
    err = exc.value.args[0]
    assert err.fatal(), f"expected a fatal (fenced) error, got {err!r}"
    assert err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH), err

    b.begin_transaction()
    produce_txn(b, topic, vals("b", 5))
    b.commit_transaction(TXN_TIMEOUT_S)
    rc = read_to_end(broker.bootstrap, topic, 1, "read_committed")
    assert values_of(rc) == sorted(vals("b", 5))
    ru = read_to_end(broker.bootstrap, topic, 1, "read_uncommitted")
    assert values_of(ru) == sorted(vals("zombie", 5) + vals("b", 5))


@pytest.mark.timeout(120)
def test_coordinator_aborts_timed_out_transaction(broker_factory, topic):
    b = broker_factory({"transaction.abort.timed.out.transaction.cleanup.interval.ms": 500})
    create_topic(b.bootstrap, topic)
    # librdkafka wants message.timeout.ms <= transaction.timeout.ms
    p = txn_producer(b.bootstrap, unique("slow"), **{"transaction.timeout.ms": 2000, "message.timeout.ms": 2000})
    p.begin_transaction()
    produce_txn(p, topic, vals("late", 5))
    assert p.flush(30) == 0
    assert isolated_watermarks(b.bootstrap, topic, 0, "read_committed") == (0, 0)

    # the coordinator aborts it: the last stable offset moves past the abort marker
    deadline = time.monotonic() + 20
    lso = None
    while time.monotonic() < deadline:
        lso = isolated_watermarks(b.bootstrap, topic, 0, "read_committed")[1]
        if lso == 6:
            break
        time.sleep(0.25)
    assert lso == 6, f"last stable offset {lso}: the timed-out transaction was not aborted"
    # a record written afterwards is visible to read_committed; the transaction's are not
    produce_ok(producer(b.bootstrap, acks="all"), topic, [{"partition": 0, "value": b"after"}])
    rc = read_to_end(b.bootstrap, topic, 1, "read_committed")
    assert [(m.offset(), m.value()) for m in rc] == [(6, b"after")]
    with pytest.raises(KafkaException):
        p.commit_transaction(TXN_TIMEOUT_S)
    assert [m.value() for m in read_to_end(b.bootstrap, topic, 1, "read_committed")] == [b"after"]


# -- kafka-python 3.x and aiokafka ------------------------------------------------------------
def test_kafka_python_transactions(broker, topic):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTP

    create_topic(broker.bootstrap, topic, partitions=2)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=unique("kp-txn"), linger_ms=5)
    try:
        p.init_transactions()
        p.begin_transaction()
        for i, v in enumerate(vals("kpc", 10)):
            p.send(topic, value=v, partition=i % 2)
        p.commit_transaction()
        p.begin_transaction()
        for i, v in enumerate(vals("kpa", 10)):
            p.send(topic, value=v, partition=i % 2)
        p.flush(30)
        p.abort_transaction()
        p.begin_transaction()
        p.send(topic, value=b"kp-last", partition=0)
        p.commit_transaction()
    finally:
        p.close(timeout=10)

    assert values_of(read_to_end(broker.bootstrap, topic, 2, "read_committed")) == sorted(vals("kpc", 10) + [b"kp-last"])
    assert values_of(read_to_end(broker.bootstrap, topic, 2, "read_uncommitted")) == \
        sorted(vals("kpc", 10) + vals("kpa", 10) + [b"kp-last"])

    # kafka-python's own read_committed consumer agrees
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", isolation_level="read_committed")
    got = []
    try:
        c.assign([KTP(topic, 0), KTP(topic, 1)])
        deadline = time.monotonic() + 20
        while len(got) < 11 and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                got.extend(r.value for r in recs)
        for recs in c.poll(timeout_ms=1000).values():
            got.extend(r.value for r in recs)
    finally:
        c.close()
    assert sorted(got) == sorted(vals("kpc", 10) + [b"kp-last"])


def test_aiokafka_transactions(broker, topic):
    from aiokafka import AIOKafkaProducer

    create_topic(broker.bootstrap, topic, partitions=2)

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=unique("aio-txn"),
                             enable_idempotence=True, linger_ms=5)
        try:
            await p.start()
            async with p.transaction():
                for i, v in enumerate(vals("aioc", 10)):
                    await p.send(topic, value=v, partition=i % 2)
            await p.begin_transaction()
            for i, v in enumerate(vals("aioa", 10)):
                await p.send_and_wait(topic, value=v, partition=i % 2)
            await p.abort_transaction()
            async with p.transaction():
                await p.send(topic, value=b"aio-last", partition=1)
        finally:
            await p.stop()

    asyncio.run(asyncio.wait_for(run(), 60))
    assert values_of(read_to_end(broker.bootstrap, topic, 2, "read_committed")) == \
        sorted(vals("aioc", 10) + [b"aio-last"])
    assert values_of(read_to_end(broker.bootstrap, topic, 2, "read_uncommitted")) == \
        sorted(vals("aioc", 10) + vals("aioa", 10) + [b"aio-last"])


# -- kill -9 in the middle of many transactions ------------------------------------------------
@pytest.mark.timeout(240)
def test_kill9_during_transactions(broker_factory, topic):
    b = broker_factory({"transaction.abort.timed.out.transaction.cleanup.interval.ms": 500})
    partitions = 3
    create_topic(b.bootstrap, topic, partitions=partitions)
    txn_id = unique("crash-txn")
    log_path = b.workdir / "txn-producer.out"
    with open(log_path, "wb") as out:
        child = subprocess.Popen([sys.executable, str(HERE / "txn_producer_proc.py"), b.bootstrap, topic, txn_id,
                                  str(partitions), "90"], stdout=out, stderr=subprocess.STDOUT, cwd=str(HERE))
    try:
        def committed_count():
            return sum(1 for line in log_path.read_text().splitlines() if line.startswith("committed "))

        deadline = time.monotonic() + 60
        while committed_count() < 150 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert committed_count() >= 150, f"the producer committed too little:\n{log_path.read_text()[-3000:]}"
        # kill while a transaction is open (its records sent, no commit asked) when that
        # can be caught within a few seconds, else whatever the producer is doing
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            lines = log_path.read_text().split("\n")[:-1]
            if lines and lines[-1].startswith("begin "):
                break
            time.sleep(0.002)
        b.kill9()
        # what the producer had printed when the broker was dead: a transaction still at
        # "begin" then had never asked for its commit, whatever the producer does next
        at_kill = log_path.read_text()
        # the producer sees the broker go away; stop it too, so what it saw is final
        time.sleep(0.3)
        child.kill()
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)

    def states(text):
        seen, sizes = {}, {}  # n -> the last state printed, n -> its record count
        # whole lines only: a kill may have cut the last one
        for line in text.split("\n")[:-1]:
            words = line.split()
            if len(words) < 2 or words[0] not in ("begin", "committing", "committed", "aborted", "error"):
                continue
            n = int(words[1])
            if words[0] == "begin":
                sizes[n] = int(words[2])
            if words[0] != "error":
                seen[n] = words[0]
        return seen, sizes

    seen, sizes = states(log_path.read_text())
    seen_at_kill, _ = states(at_kill)
    committed = {n for n, s in seen.items() if s == "committed"}
    aborted = {n for n, s in seen.items() if s == "aborted"}
    open_txns = {n for n, s in seen_at_kill.items() if s == "begin"} - committed - aborted
    undecided_commit = {n for n, s in seen.items() if s == "committing"} - open_txns

    b.start()
    # The same transactional.id again fences the dead producer and aborts what it left open.
    p = txn_producer(b.bootstrap, txn_id)
    p.begin_transaction()
    produce_txn(p, topic, [b"final:0/1"])
    p.commit_transaction(TXN_TIMEOUT_S)

    # every partition becomes stable: no transaction left open
    wait_stable(b.bootstrap, topic, partitions, timeout=30)

    rc = read_to_end(b.bootstrap, topic, partitions, "read_committed", timeout=60)
    records = defaultdict(list)
    for m in rc:
        v = m.value().decode()
        if v == "final:0/1":
            records["final"].append(0)
            continue
        n, rest = v[3:].split(":")
        i, k = rest.split("/")
        records[int(n)].append(int(i))
        assert sizes.get(int(n), int(k)) == int(k)
    assert records.pop("final") == [0]
    visible = set(records)
    # all-or-nothing, each record once
    partial = {n: sorted(i) for n, i in records.items() if sorted(i) != list(range(sizes.get(n, len(i))))}
    assert not partial, f"read_committed saw partial or duplicated transactions: {dict(list(partial.items())[:5])}"
    missing = sorted(committed - visible)
    assert not missing, f"{len(missing)} committed transactions not visible, e.g. {missing[:10]}"
    leaked = sorted(visible & (aborted | open_txns))
    assert not leaked, f"aborted or never-committed transactions visible: {leaked[:10]}"
    unknown = sorted(visible - committed - undecided_commit)
    assert not unknown, f"transactions visible that the producer never asked to commit: {unknown[:10]}"
    in_log = {int(m.value().split(b":")[0][3:]) for m in read_to_end(b.bootstrap, topic, partitions, "read_uncommitted")
              if m.value().startswith(b"txn")}
    print(f"kill -9 during transactions: committed {len(committed)}, aborted {len(aborted)}, "
          f"open {len(open_txns)} (with records in the log: {len(open_txns & in_log)}), "
          f"commit undecided {len(undecided_commit)} (visible: {len(undecided_commit & visible)})")


# -- raw protocol errors -------------------------------------------------------------------------
def test_raw_transaction_requests_kafka_refuses(broker, topic):
    create_topic(broker.bootstrap, topic)
    txn_id = unique("raw-txn")
    s = kw.connect(broker.bootstrap)
    corr = iter(range(1, 1000))
    try:
        # COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS / CONCURRENT_TRANSACTIONS are retriable
        for _ in range(50):
            init = kw.init_producer_id(s, next(corr), txn_id, transaction_timeout_ms=30000)
            if init.error_code not in (14, 15, 51):
                break
            time.sleep(0.1)
        assert init.error_code == 0 and init.producer_id >= 0 and init.producer_epoch >= 0, init
        pid, epoch = init.producer_id, init.producer_epoch

        # EndTxn with no transaction going on (state Empty): INVALID_TXN_STATE for commit and abort (v3)
        assert kw.end_txn(s, next(corr), txn_id, pid, epoch, commit=True) == kw.INVALID_TXN_STATE
        assert kw.end_txn(s, next(corr), txn_id, pid, epoch, commit=False) == kw.INVALID_TXN_STATE
        # a transactional id the coordinator never saw
        assert kw.end_txn(s, next(corr), unique("never"), pid, epoch, commit=True) == kw.INVALID_PRODUCER_ID_MAPPING

        # AddPartitionsToTxn naming an unknown topic: that topic UNKNOWN_TOPIC_OR_PARTITION, the rest not attempted
        missing = unique("no-such-topic")
        res = kw.add_partitions_to_txn(s, next(corr), txn_id, pid, epoch, {missing: [0], topic: [0]})
        assert res == {(missing, 0): kw.UNKNOWN_TOPIC_OR_PARTITION, (topic, 0): kw.OPERATION_NOT_ATTEMPTED}, res
        # nothing was added: ending the transaction is still refused
        assert kw.end_txn(s, next(corr), txn_id, pid, epoch, commit=True) == kw.INVALID_TXN_STATE

        # a client writing a control batch (a commit marker) into a partition of its transaction
        assert kw.add_partitions_to_txn(s, next(corr), txn_id, pid, epoch, {topic: [0]}) == {(topic, 0): 0}
        ctl = kw.produce(s, next(corr), topic, 0, kw.build_control_batch(pid, epoch, commit=True),
                         transactional_id=txn_id)
        assert ctl.error_code == kw.INVALID_RECORD, ctl
        # the connection goes on: a transactional batch, then abort
        data = kw.produce(s, next(corr), topic, 0,
                          kw.build_producer_batch(vals("raw", 3), pid, epoch, 0, transactional=True),
                          transactional_id=txn_id)
        assert (data.error_code, data.base_offset) == (0, 0), data
        assert kw.end_txn(s, next(corr), txn_id, pid, epoch, commit=False) == 0
    finally:
        s.close()
    wait_stable(broker.bootstrap, topic, 1)
    assert watermarks(broker.bootstrap, topic, 0) == (0, 4)  # 3 records and the abort marker

    # other clients keep working, and see none of the aborted records
    p = producer(broker.bootstrap, acks="all")
    produce_ok(p, topic, [{"partition": 0, "value": b"plain-after"}])
    rc = read_to_end(broker.bootstrap, topic, 1, "read_committed")
    assert [m.value() for m in rc] == [b"plain-after"]
    ru = read_to_end(broker.bootstrap, topic, 1, "read_uncommitted")
    assert [m.value() for m in ru] == vals("raw", 3) + [b"plain-after"]
    # the refused control batch was not stored: 3 records, the abort marker, the plain record
    assert watermarks(broker.bootstrap, topic, 0) == (0, 5)
    batches = kw.fetch_all_batches(broker.bootstrap, topic, 0)
    control = [bh for bh in batches if bh.attributes & 0x20]
    assert len(control) == 1 and control[0].base_offset == 3
