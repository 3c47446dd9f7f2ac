#!/usr/bin/env python3
"""Consume throughput with confluent-kafka and librdkafka's default fetch settings.

A topic is preloaded (acks=1), then one consumer assign()s every partition from
offset 0 and reads until it has every record or the time bound passes.
fetch.wait.max.ms stays at its default of 500 ms: a broker that answers a long
poll only when the wait expires is slow here.
"""

from __future__ import annotations

import itertools
import time

from confluent_kafka import Consumer, TopicPartition

from common import Result, create_topic, mb, parser, produce_bulk, run, unique_topic

SIZES = [100, 1024, 65536]
PARTITIONS = [1, 6]


def consume_all(bootstrap, topic, partitions, expected, max_seconds):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"perf-{topic}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
    })
    try:
        start = time.perf_counter()
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        got = 0
        nbytes = 0
        errors = 0
        deadline = start + max_seconds
        while got < expected and time.perf_counter() < deadline:
            for m in c.consume(num_messages=10000, timeout=0.2):
                if m.error():
                    errors += 1
                    continue
                got += 1
                nbytes += len(m.value())
        return got, nbytes, time.perf_counter() - start, errors
    finally:
        c.close()


def bench(target, args):
    out = []
    budget = (32 if args.quick else 128) * 1_000_000
    for size, parts in itertools.product(args.sizes, args.partitions):
        params = {"size_B": size, "partitions": parts}
        try:
            count = max(1000, min(400_000, budget // size))
            topic = unique_topic(f"cons-{size}-{parts}")
            create_topic(target.bootstrap, topic, parts)
            pre = produce_bulk(target.bootstrap, topic, parts, size, count, "1", 60)
            n = pre["records"]
            got, nbytes, secs, errors = consume_all(target.bootstrap, topic, parts, n, args.seconds)
            out.append(Result("consume", target.label, params, {
                "MB/s": mb(nbytes) / secs,
                "records/s": got / secs,
                "records": float(got),
                "of": float(n),
                "errors": float(errors),
            }, notes="" if got >= n else f"time bound hit after {secs:.1f}s"))
        except Exception as e:
            out.append(Result("consume", target.label, params, {}, notes=f"failed: {type(e).__name__}: {e}"[:200]))
    return out


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    p.add_argument("--partitions", type=int, nargs="+", default=PARTITIONS)
    p.add_argument("--seconds", type=float, default=30.0, help="time bound per consume")
    run(p.parse_args(), bench)
