#!/usr/bin/env python3
"""Broker CPU seconds per GB for Avro records with and without broker-side schema validation.

The same AvroSerializer-framed records (about 1 KiB each: a record of scalars, strings, an
array, a map and a nested record) are produced with confluent-kafka (acks=all, 6 partitions,
as cpu_per_gb.py) to three topics of one broker:

  none      no validation
  id        confluent.value.schema.validation=true (Confluent's schema id check)
  payload   the same plus strata.value.schema.validation.mode=payload (each value decoded)

The broker's utime+stime (/proc/PID/stat) is read right before the first record and right
after the last acknowledgement of each run, divided by the value bytes produced (1 GB =
10^9 bytes). Rounds alternate the topics so that background noise spreads over all three.
The issue's bar: payload validation at most 2x the CPU of a produce without validation.
"""

from __future__ import annotations

import random
import time

from common import Result, cpu_of, create_topic, mb, overrides_of, parser, run, unique_topic
from strata_harness import Broker

SCHEMA = """
{"type": "record", "name": "Event", "namespace": "perf",
 "fields": [
   {"name": "id", "type": "long"},
   {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
   {"name": "user", "type": "string"},
   {"name": "email", "type": ["null", "string"], "default": null},
   {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["VIEW", "CLICK", "BUY"]}},
   {"name": "amount", "type": "double"},
   {"name": "tags", "type": {"type": "array", "items": "string"}},
   {"name": "attributes", "type": {"type": "map", "values": "string"}},
   {"name": "address", "type": {"type": "record", "name": "Address", "fields": [
      {"name": "street", "type": "string"}, {"name": "city", "type": "string"},
      {"name": "zip", "type": "int"}]}},
   {"name": "body", "type": "string"}
 ]}
"""


def make_values(sr_url: str, topic: str, count: int) -> list:
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    serializer = AvroSerializer(SchemaRegistryClient({"url": sr_url}), SCHEMA)
    ctx = SerializationContext(topic, MessageField.VALUE)
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    out = []
    for i in range(count):
        event = {
            "id": i, "ts": 1_700_000_000_000 + i, "user": f"user-{rng.randrange(10**6)}",
            "email": None if i % 3 == 0 else f"u{i}@example.com", "kind": rng.choice(["VIEW", "CLICK", "BUY"]),
            "amount": rng.random() * 100, "tags": rng.sample(words, 4),
            "attributes": {f"k{j}": rng.choice(words) * 2 for j in range(6)},
            "address": {"street": f"{rng.randrange(999)} Main Street", "city": "Springfield", "zip": 12345},
            "body": " ".join(rng.choice(words) for _ in range(140))[:900],
        }
        out.append(serializer(event, ctx))
    return out


def produce_values(bootstrap: str, topic: str, partitions: int, values: list, total_bytes: int,
                   max_seconds: float) -> dict:
    from confluent_kafka import Producer

    errors = [0]
    acked = [0]
    acked_bytes = [0]

    def on_delivery(err, msg):
        if err is not None:
            errors[0] += 1
        else:
            acked[0] += 1
            acked_bytes[0] += len(msg.value())

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "on_delivery": on_delivery,
                  "queue.buffering.max.kbytes": 1048576, "queue.buffering.max.messages": 1000000})
    start = time.perf_counter()
    deadline = start + max_seconds
    sent = sent_bytes = 0
    produce = p.produce
    n = len(values)
    while sent_bytes < total_bytes:
        v = values[sent % n]
        try:
            produce(topic, v, partition=sent % partitions)
        except BufferError:
            p.poll(0.005)
            continue
        sent += 1
        sent_bytes += len(v)
        if sent % 1000 == 0:
            p.poll(0)
            if time.perf_counter() > deadline:
                break
    left = p.flush(120)
    return {"records": acked[0], "bytes": acked_bytes[0], "seconds": time.perf_counter() - start,
            "errors": errors[0] + left}


MODES = {
    "none": {},
    "id": {"confluent.value.schema.validation": "true"},
    "payload": {"confluent.value.schema.validation": "true", "strata.value.schema.validation.mode": "payload"},
}


def bench(target, args):
    if not target.pid:
        return [Result("validation cpu/GB", target.label, {}, {}, notes="no broker pid (pass --pid)")]
    if not args.schema_registry:
        host = target.bootstrap.rsplit(":", 1)[0]
        args.schema_registry = f"http://{host}:{args.sr_port}"
    partitions = 6
    topics = {mode: unique_topic(f"val-{mode}") for mode in MODES}
    for mode, topic in topics.items():
        create_topic(target.bootstrap, topic, partitions, MODES[mode])
    # One set of values, registered under each topic's subject (one schema id).
    values = make_values(args.schema_registry, topics["none"], 200)
    for topic in topics.values():
        make_values(args.schema_registry, topic, 1)
    size = sum(map(len, values)) / len(values)
    totals = {mode: {"cpu": 0.0, "bytes": 0, "seconds": 0.0, "errors": 0} for mode in MODES}
    per_round = int(args.megabytes * 1_000_000 / args.rounds)
    for _ in range(args.rounds):
        for mode, topic in topics.items():
            before = cpu_of(target.pid)
            r = produce_values(target.bootstrap, topic, partitions, values, per_round, args.seconds)
            after = cpu_of(target.pid)
            t = totals[mode]
            t["cpu"] += after - before
            t["bytes"] += r["bytes"]
            t["seconds"] += r["seconds"]
            t["errors"] += r["errors"]
    base = totals["none"]["cpu"] / (totals["none"]["bytes"] / 1e9)
    results = []
    for mode, t in totals.items():
        gb = t["bytes"] / 1e9
        per_gb = t["cpu"] / gb if gb else float("nan")
        results.append(Result("validation cpu/GB", target.label,
                              {"mode": mode, "record_B": round(size), "partitions": partitions, "acks": "all"}, {
                                  "cpu_s": t["cpu"],
                                  "GB": gb,
                                  "cpu_s_per_GB": per_gb,
                                  "x_none": per_gb / base if base else float("nan"),
                                  "MB/s": mb(t["bytes"]) / t["seconds"],
                                  "errors": float(t["errors"]),
                              }))
    return results


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--megabytes", type=float, default=600.0, help="volume per mode")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds over the three topics")
    p.add_argument("--seconds", type=float, default=30.0, help="time bound of one run")
    p.add_argument("--schema-registry", help="Schema Registry URL (default: the broker host, --sr-port)")
    p.add_argument("--sr-port", type=int, default=8081)
    args = p.parse_args()
    if args.quick:
        args.megabytes = min(args.megabytes, 150.0)
    if args.bootstrap:
        run(args, bench)
    else:
        # A fresh Strata, whose Schema Registry port the harness knows.
        broker = Broker(name="strata-perf", overrides=overrides_of(args))
        try:
            broker.start()
            args.bootstrap, args.pid = broker.bootstrap, broker.pid
            args.label = args.label or "strata"
            args.schema_registry = broker.schema_registry_url
            run(args, bench)
        finally:
            broker.cleanup()
