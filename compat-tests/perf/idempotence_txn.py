#!/usr/bin/env python3
"""What idempotence and transactions cost, measured in one run on the same broker.

1. produce, 1 KiB records, 6 partitions, acks=all, confluent-kafka: plain against
   enable.idempotence=true. Broker CPU seconds (utime+stime from /proc) per GB and MB/s.
   The two alternate (plain, idempotent, plain, idempotent, ... --rounds times) on fresh
   topics so that a noisy machine does not favour one; the table has the median of each.
   Each producer first delivers one record before the clock starts (startup_ms, reported
   apart): librdkafka's idempotent producer gets its producer id from a 500 ms timer once a
   connection is up (its debug log: "Starting PID FSM timer: Coordinator not up"), a start of
   0-1,000 ms against any broker that made short runs read 0.56-0.80x of plain.
2. transactions of --txn-records (100) records each, committed one after another from one
   transactional producer, against the same records produced plain (flush every
   --txn-records, the same synchronisation without a transaction): MB/s, records/s, and
   the commit_transaction() latency p50/p99.
3. the same transactions from --txn-producers producers at once (separate processes, each
   with its own transactional.id, as a Kafka Streams application runs one per stream
   thread): their MB/s together, over the wall time from the first begin to the last commit.
   One transactional producer spends most of each cycle in its own sequential steps (partition
   registration, produce, flush, EndTxn, each answered before the next is sent), so it
   measures the client; several show what the broker sustains.
4. read_committed against read_uncommitted consume throughput over the same transactional
   data (the topic of step 2, every partition from offset 0 to its end).

Timings only: nothing here passes or fails.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import time
import uuid

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from common import Result, cpu_of, create_topic, mb, parser, percentile, produce_bulk, run, unique_topic

SIZE = 1024
PARTITIONS = 6


def produce_round(target, idempotent: bool, megabytes: float, seconds: float):
    topic = unique_topic("idem" if idempotent else "plain")
    create_topic(target.bootstrap, topic, PARTITIONS)
    count = int(megabytes * 1_000_000 // SIZE)
    extra = {"enable.idempotence": idempotent, "linger.ms": 5}
    r = produce_bulk(target.bootstrap, topic, PARTITIONS, SIZE, count, "all", seconds, extra,
                     warm_up=True, on_start=lambda: cpu_of(target.pid))
    before = r["on_start"]
    after = cpu_of(target.pid)
    gb = r["bytes"] / 1e9
    cpu = (after - before) if before is not None and after is not None else float("nan")
    return {"cpu_s_per_GB": cpu / gb if gb else float("nan"), "MB/s": mb(r["bytes"]) / r["seconds"],
            "startup_ms": r["startup_ms"], "errors": float(r["errors"])}


def txn_produce(bootstrap: str, topic: str, count: int, per_txn: int, transactional: bool):
    """count records of SIZE over PARTITIONS, per_txn at a time: commit each group as a
    transaction, or (plain) flush each group. Returns (records, seconds, latencies of the
    commit or flush in ms, errors, CPU seconds this process spent meanwhile: librdkafka's
    threads and Python's)."""
    errors = [0]

    def on_delivery(err, msg):
        if err is not None:
            errors[0] += 1

    conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "on_delivery": on_delivery}
    if transactional:
        conf["transactional.id"] = f"perf-{uuid.uuid4().hex[:8]}"
    p = Producer(conf)
    if transactional:
        p.init_transactions(30)
    payload = os.urandom(SIZE)
    lat = []
    sent = 0
    cpu_before = own_cpu()
    start = time.perf_counter()
    while sent < count:
        if transactional:
            p.begin_transaction()
        for _ in range(per_txn):
            while True:
                try:
                    p.produce(topic, payload, partition=sent % PARTITIONS)
                    break
                except BufferError:
                    p.poll(0.005)
            sent += 1
        t0 = time.perf_counter()
        if transactional:
            p.commit_transaction(30)
        else:
            p.flush(30)
        lat.append((time.perf_counter() - t0) * 1000)
    p.flush(30)
    return sent, time.perf_counter() - start, sorted(lat), errors[0], own_cpu() - cpu_before


def own_cpu() -> float:
    """User and system CPU seconds of this process, all its threads."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def txn_worker(bootstrap: str, topic: str, count: int, per_txn: int, ready, go):
    """One of several transactional producers: waits for the others, then commits count
    records per_txn at a time. Returns what txn_produce returns, with the wall-clock start
    (after init_transactions) and end instead of the duration, so the caller can take the
    span of all."""
    ready.release()
    go.wait()
    sent, secs, lat, errors, cpu = txn_produce(bootstrap, topic, count, per_txn, True)
    end = time.time()
    return sent, end - secs, end, lat, errors, cpu


def parallel_txn_produce(bootstrap: str, topic: str, count: int, per_txn: int, producers: int):
    """count records in transactions of per_txn from `producers` processes at once. Returns
    (records, seconds from the first start to the last end, sorted commit latencies, errors,
    CPU seconds of the producer processes together)."""
    ctx = multiprocessing.get_context("spawn")
    share = (count // producers // per_txn) * per_txn
    with ctx.Manager() as manager, ctx.Pool(producers) as pool:
        ready, go = manager.Semaphore(0), manager.Event()
        jobs = [pool.apply_async(txn_worker, (bootstrap, topic, share, per_txn, ready, go))
                for _ in range(producers)]
        for _ in range(producers):
            ready.acquire(timeout=60)
        go.set()
        results = [j.get(timeout=300) for j in jobs]
    sent = sum(r[0] for r in results)
    span = max(r[2] for r in results) - min(r[1] for r in results)
    lat = sorted(x for r in results for x in r[3])
    return sent, span, lat, sum(r[4] for r in results), sum(r[5] for r in results)


def consume_to_end(bootstrap: str, topic: str, isolation: str, max_seconds: float):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"perf-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "isolation.level": isolation,
    })
    try:
        start = time.perf_counter()
        c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        got = nbytes = 0
        eof = set()
        deadline = start + max_seconds
        while len(eof) < PARTITIONS and time.perf_counter() < deadline:
            for m in c.consume(num_messages=10000, timeout=0.2):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                    continue
                got += 1
                nbytes += len(m.value())
        return got, nbytes, time.perf_counter() - start, len(eof) == PARTITIONS
    finally:
        c.close()


def txn_metrics(n, secs, lat, errors, client_cpu, broker_before, broker_after):
    """The columns of a transactional (or flush-per-group) produce: throughput, commit latency,
    and the CPU per GB of the broker and of the producing processes. The client's share shows
    where a run on one shared machine is bound."""
    gb = n * SIZE / 1e9
    metrics = {"MB/s": mb(n * SIZE) / secs, "records/s": n / secs,
               "p50_ms": percentile(lat, 0.50), "p99_ms": percentile(lat, 0.99), "errors": float(errors)}
    if gb:
        if broker_before is not None and broker_after is not None:
            metrics["cpu_s_per_GB"] = (broker_after - broker_before) / gb
        metrics["client_cpu_s_per_GB"] = client_cpu / gb
    return metrics


def bench(target, args):
    out = []
    # 1. plain against idempotent produce, alternating
    rounds = {False: [], True: []}
    for _ in range(args.rounds):
        for idem in (False, True):
            try:
                rounds[idem].append(produce_round(target, idem, args.megabytes, args.seconds))
            except Exception as e:
                out.append(Result("produce", target.label, {"idempotent": idem}, {},
                                  notes=f"failed: {type(e).__name__}: {e}"[:200]))
    for idem in (False, True):
        rs = rounds[idem]
        if rs:
            out.append(Result("produce", target.label,
                              {"mode": "idempotent" if idem else "plain", "size_B": SIZE, "partitions": PARTITIONS,
                               "acks": "all"},
                              {"cpu_s_per_GB": statistics.median(r["cpu_s_per_GB"] for r in rs),
                               "MB/s": statistics.median(r["MB/s"] for r in rs),
                               "startup_ms": statistics.median(r["startup_ms"] for r in rs),
                               "errors": sum(r["errors"] for r in rs)},
                              notes=f"median of {len(rs)}"))

    # 2. transactions of per_txn records against the same records with a flush per group.
    # Step 1 leaves ~2 GB of dirty pages the kernel writes back for the next half minute;
    # those writes queue ahead of every fsync of a step that measures fsync-bound latency
    # (commit p99 read 14-20 ms right after step 1 and 6-9 ms without it), so they are
    # written out first and each step starts from a settled disk.
    os.sync()
    per_txn = args.txn_records
    count = (int(args.txn_megabytes * 1_000_000 // SIZE) // per_txn) * per_txn
    txn_topic = None
    for transactional in (False, True):
        mode = f"txn/{per_txn}" if transactional else f"plain, flush/{per_txn}"
        try:
            topic = unique_topic("txn" if transactional else "flush")
            create_topic(target.bootstrap, topic, PARTITIONS)
            before = cpu_of(target.pid)
            n, secs, lat, errors, client_cpu = txn_produce(target.bootstrap, topic, count, per_txn, transactional)
            after = cpu_of(target.pid)
            metrics = txn_metrics(n, secs, lat, errors, client_cpu, before, after)
            out.append(Result("txn produce", target.label, {"mode": mode, "size_B": SIZE, "partitions": PARTITIONS},
                              metrics, notes="latency of commit_transaction()" if transactional
                              else "latency of flush()"))
            if transactional:
                txn_topic = (topic, n)
        except Exception as e:
            out.append(Result("txn produce", target.label, {"mode": mode}, {},
                              notes=f"failed: {type(e).__name__}: {e}"[:200]))

    # 3. the same transactions from several producers at once
    if args.txn_producers > 1:
        os.sync()
        mode = f"txn/{per_txn} x{args.txn_producers} producers"
        try:
            topic = unique_topic("ptxn")
            create_topic(target.bootstrap, topic, PARTITIONS)
            before = cpu_of(target.pid)
            n, secs, lat, errors, client_cpu = parallel_txn_produce(target.bootstrap, topic, count, per_txn,
                                                                    args.txn_producers)
            after = cpu_of(target.pid)
            metrics = txn_metrics(n, secs, lat, errors, client_cpu, before, after)
            out.append(Result("txn produce", target.label, {"mode": mode, "size_B": SIZE, "partitions": PARTITIONS},
                              metrics, notes="together; latency of commit_transaction()"))
        except Exception as e:
            out.append(Result("txn produce", target.label, {"mode": mode}, {},
                              notes=f"failed: {type(e).__name__}: {e}"[:200]))

    # 4. read_committed against read_uncommitted over the transactional topic
    if txn_topic is not None:
        topic, n = txn_topic
        for isolation in ("read_uncommitted", "read_committed", "read_uncommitted", "read_committed"):
            try:
                got, nbytes, secs, ended = consume_to_end(target.bootstrap, topic, isolation, args.seconds)
                out.append(Result("txn consume", target.label, {"mode": isolation, "size_B": SIZE,
                                                                 "partitions": PARTITIONS},
                                  {"MB/s": mb(nbytes) / secs, "records/s": got / secs, "records": float(got),
                                   "of": float(n)},
                                  notes="" if ended else f"time bound hit after {secs:.1f}s"))
            except Exception as e:
                out.append(Result("txn consume", target.label, {"mode": isolation}, {},
                                  notes=f"failed: {type(e).__name__}: {e}"[:200]))
    return out


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--megabytes", type=float, default=300.0, help="volume of each plain/idempotent round")
    p.add_argument("--seconds", type=float, default=30.0, help="time bound of each produce or consume")
    p.add_argument("--rounds", type=int, default=3, help="alternating plain/idempotent rounds")
    p.add_argument("--txn-records", type=int, default=100, help="records per transaction")
    p.add_argument("--txn-megabytes", type=float, default=50.0, help="volume produced in transactions")
    p.add_argument("--txn-producers", type=int, default=4,
                   help="transactional producers at once in step 3 (1 skips it)")
    args = p.parse_args()
    if args.quick:
        args.megabytes = min(args.megabytes, 50.0)
        args.txn_megabytes = min(args.txn_megabytes, 10.0)
        args.rounds = min(args.rounds, 2)
    run(args, bench)
