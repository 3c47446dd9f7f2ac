#!/usr/bin/env python3
"""End-to-end latency (produce -> consume) at a fixed rate, and produce (ack) latency.

1,000 records/s of 1 KiB for a bounded time, acks=all, one partition. The
producer sets linger.ms=0 (librdkafka's default of 5 ms would add up to 5 ms by
itself); the consumer keeps librdkafka's default fetch settings
(fetch.wait.max.ms 500, fetch.min.bytes 1), so a broker that answers a long poll
as soon as data arrives shows low latency and one that waits out max_wait does
not. Each payload carries its send time (monotonic ns); the consumer thread in
the same process subtracts it on receipt. The first second is warm-up and not
counted.
"""

from __future__ import annotations

import struct
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from common import Result, create_topic, parser, percentile, run, unique_topic


def bench(target, args):
    topic = unique_topic("lat")
    create_topic(target.bootstrap, topic, 1)
    rate, seconds, size = args.rate, args.seconds, args.size
    total = int(rate * seconds)
    warmup = int(rate * 1.0)

    e2e = []
    acks = []
    stop = threading.Event()
    ready = threading.Event()

    def consume():
        c = Consumer({"bootstrap.servers": target.bootstrap, "group.id": f"perf-{topic}",
                      "enable.auto.commit": False, "enable.auto.offset.store": False,
                      "enable.partition.eof": False})
        try:
            c.assign([TopicPartition(topic, 0, 0)])
            ready.set()
            while not stop.is_set() and len(e2e) < total:
                # poll() hands over each record as soon as it is there (consume(n) would wait for n)
                m = c.poll(0.1)
                now = time.monotonic_ns()
                if m is None or m.error():
                    continue
                sent, seq = struct.unpack_from(">qq", m.value())
                e2e.append((now - sent) / 1e6 if seq >= warmup else None)
        finally:
            c.close()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    ready.wait(10)
    time.sleep(1.0)  # let the consumer's first fetch be in flight

    def on_delivery(err, msg):
        if err is None:
            sent, seq = struct.unpack_from(">qq", msg.value())
            if seq >= warmup:
                acks.append((time.monotonic_ns() - sent) / 1e6)

    p = Producer({"bootstrap.servers": target.bootstrap, "acks": "all", "linger.ms": 0,
                  "on_delivery": on_delivery})
    pad = b"\0" * (size - 16)
    start = time.monotonic()
    for i in range(total):
        due = start + i / rate
        while True:
            now = time.monotonic()
            if now >= due:
                break
            p.poll(min(due - now, 0.001))
        p.produce(topic, struct.pack(">qq", time.monotonic_ns(), i) + pad, partition=0)
        p.poll(0)
    p.flush(30)
    deadline = time.monotonic() + 15
    while len(e2e) < total and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(10)

    lat = sorted(x for x in e2e if x is not None)
    ack = sorted(acks)
    params = {"rate/s": rate, "size_B": size, "seconds": seconds}
    out = []
    for name, values in (("e2e latency", lat), ("produce ack latency", ack)):
        out.append(Result(name, target.label, params, {
            "p50_ms": percentile(values, 0.50),
            "p99_ms": percentile(values, 0.99),
            "p99.9_ms": percentile(values, 0.999),
            "max_ms": values[-1] if values else float("nan"),
            "samples": float(len(values)),
        }, notes="" if len(values) >= total - warmup else f"only {len(values)} of {total - warmup} arrived"))
    return out


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--rate", type=int, default=1000)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args()
    if args.quick:
        args.seconds = min(args.seconds, 4.0)
    run(args, bench)
