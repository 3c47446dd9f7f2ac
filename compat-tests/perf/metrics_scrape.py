#!/usr/bin/env python3
"""/metrics scrape time and CPU with many partitions and consumer groups (figures only).

Starts Strata (or uses --admin-url/--bootstrap of a running one), creates topics
totalling --partitions partitions, produces one record to every partition, commits
offsets for --groups groups on the first topic (so lag series exist: groups x that
topic's partitions), then times --scrapes GETs of /metrics and reads the broker's CPU
seconds across them. Reports the scrape wall time (min, median, p95, max), the body
size and the number of samples, and the broker CPU milliseconds per scrape.

The budget the issue states is a scrape under 50 ms at 10,000 partitions; this script
prints the figures and decides nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from common import print_table, Result, unique_topic  # noqa: E402
from strata_harness import Broker, proc_cpu_seconds  # noqa: E402


def create_topics(bootstrap: str, topics: int, per_topic: int) -> list:
    a = AdminClient({"bootstrap.servers": bootstrap})
    names = [unique_topic("scrape") for _ in range(topics)]
    for start in range(0, topics, 10):
        batch = names[start:start + 10]
        fs = a.create_topics([NewTopic(n, num_partitions=per_topic, replication_factor=1) for n in batch],
                             request_timeout=120)
        for n in batch:
            fs[n].result(timeout=120)
    return names


def fill(bootstrap: str, names: list, per_topic: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "acks": "all"})
    for n in names:
        for part in range(per_topic):
            p.produce(n, b"x" * 100, partition=part)
        p.poll(0)
    assert p.flush(120) == 0, "records not delivered"


def commit_groups(bootstrap: str, topic: str, per_topic: int, groups: int) -> None:
    for g in range(groups):
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"scrape-group-{g}",
                      "enable.auto.commit": False})
        try:
            c.commit(offsets=[TopicPartition(topic, p, 0) for p in range(per_topic)], asynchronous=False)
        finally:
            c.close()


def measure(admin_url: str, pid, scrapes: int) -> dict:
    session = requests.Session()
    session.get(f"{admin_url}/metrics", timeout=30)  # warm the connection
    times = []
    body = ""
    cpu_before = proc_cpu_seconds(pid) if pid else None
    for _ in range(scrapes):
        t0 = time.perf_counter()
        r = session.get(f"{admin_url}/metrics", timeout=30)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200
        body = r.text
    cpu_after = proc_cpu_seconds(pid) if pid else None
    samples = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    times.sort()
    out = {
        "min_ms": times[0],
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, int(len(times) * 0.95) - 1)],
        "max_ms": times[-1],
        "body_KiB": len(body.encode()) / 1024,
        "samples": float(samples),
        "lag_series": float(body.count("\nstrata_consumer_group_lag{")),
    }
    if cpu_before is not None:
        out["broker_cpu_ms_per_scrape"] = (cpu_after - cpu_before) * 1000 / scrapes
    return out


def main() -> None:
    import argparse
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--partitions", type=int, default=10_000, help="total partitions to create")
    p.add_argument("--per-topic", type=int, default=100, help="partitions per topic")
    p.add_argument("--groups", type=int, default=20, help="groups committing on the first topic")
    p.add_argument("--scrapes", type=int, default=30)
    p.add_argument("--bootstrap", help="a running broker (with --admin-url) instead of a fresh Strata")
    p.add_argument("--admin-url", help="its admin URL, e.g. http://127.0.0.1:9644")
    p.add_argument("--pid", type=int, help="its pid, for CPU figures")
    args = p.parse_args()
    topics = max(1, args.partitions // args.per_topic)
    broker = None
    if args.bootstrap:
        bootstrap, admin_url, pid = args.bootstrap, args.admin_url, args.pid
        assert admin_url, "--admin-url is needed with --bootstrap"
    else:
        broker = Broker(name="strata-scrape").start()
        bootstrap, admin_url, pid = broker.bootstrap, broker.admin_url, broker.pid
    try:
        t0 = time.monotonic()
        names = create_topics(bootstrap, topics, args.per_topic)
        created = time.monotonic() - t0
        fill(bootstrap, names, args.per_topic)
        commit_groups(bootstrap, names[0], args.per_topic, args.groups)
        figures = measure(admin_url, pid, args.scrapes)
        figures["create_s"] = created
    finally:
        if broker is not None:
            broker.cleanup()
    print_table([Result("metrics scrape", "strata", {
        "partitions": topics * args.per_topic, "topics": topics, "groups": args.groups}, figures)])


if __name__ == "__main__":
    main()
