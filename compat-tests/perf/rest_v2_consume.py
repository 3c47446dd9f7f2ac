#!/usr/bin/env python3
"""REST Proxy v2 consume throughput: one consumer instance, binary format.

A topic is preloaded with ~200 MB of 1 KiB records by confluent_kafka (acks=1), then
one v2 consumer instance (format binary, auto.offset.reset earliest) subscribes and
reads them all with GET .../records and a large max_bytes, over one keep-alive HTTP
connection. `fetch.min.bytes` is 1 so that an answer goes back as soon as one Fetch
brought data (Confluent's default, -1, holds every answer until it is full or timed
out, so the last, partial answer would wait out the timeout). MB/s counts record payload bytes (1 KiB each). The time the client spends
parsing the JSON answers is reported apart (`client_parse_s`), so a slow Python side
is not mistaken for a slow server.

Starts its own Strata (release binary, STRATA_BIN) unless --rest-url and --bootstrap
name a running one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import create_topic, produce_bulk  # noqa: E402
from strata_harness import Broker  # noqa: E402


def consume_rest(rest_url, topic, expected, max_bytes, max_seconds):
    s = requests.Session()
    group = f"perf-rest-{uuid.uuid4().hex[:8]}"
    r = s.post(f"{rest_url}/consumers/{group}",
               json={"name": "perf", "format": "binary", "auto.offset.reset": "earliest",
                     "consumer.request.timeout.ms": 5000, "fetch.min.bytes": 1},
               headers={"Content-Type": "application/vnd.kafka.v2+json"}, timeout=30)
    r.raise_for_status()
    base = f"{rest_url}/consumers/{group}/instances/perf"
    s.post(f"{base}/subscription", json={"topics": [topic]},
           headers={"Content-Type": "application/vnd.kafka.v2+json"}, timeout=30).raise_for_status()
    # Wait for the group assignment before the clock starts.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        parts = s.get(f"{base}/assignments", timeout=30).json()["partitions"]
        if parts:
            break
        time.sleep(0.1)
    got = 0
    payload = 0
    wire = 0
    parse = 0.0
    requests_made = 0
    start = time.perf_counter()
    end = start + max_seconds
    while got < expected and time.perf_counter() < end:
        r = s.get(f"{base}/records", params={"max_bytes": max_bytes},
                  headers={"Accept": "application/vnd.kafka.binary.v2+json"}, timeout=60)
        r.raise_for_status()
        body = r.content
        wire += len(body)
        t0 = time.perf_counter()
        recs = json.loads(body)
        parse += time.perf_counter() - t0
        requests_made += 1
        got += len(recs)
        # base64 of 1024 bytes is 1368 characters.
        payload += sum(len(x["value"]) for x in recs) * 3 // 4
    secs = time.perf_counter() - start
    s.delete(base, timeout=30)
    return got, payload, wire, secs, parse, requests_made


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rest-url", help="a running REST Proxy (with --bootstrap)")
    p.add_argument("--bootstrap", help="the Kafka address of that broker")
    p.add_argument("--mb", type=int, default=200, help="megabytes to preload")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--partitions", type=int, default=1)
    p.add_argument("--max-bytes", type=int, default=32 * 1024 * 1024)
    p.add_argument("--seconds", type=float, default=120.0)
    args = p.parse_args()

    broker = None
    if args.rest_url:
        rest_url, bootstrap = args.rest_url, args.bootstrap
    else:
        broker = Broker(name="strata-perf-rest-v2c", overrides={"group.initial.rebalance.delay.ms": 0}).start()
        rest_url, bootstrap = broker.rest_proxy_url, broker.bootstrap
    try:
        topic = f"perf-rest-v2c-{uuid.uuid4().hex[:8]}"
        create_topic(bootstrap, topic, args.partitions)
        count = args.mb * 1_000_000 // args.size
        pre = produce_bulk(bootstrap, topic, args.partitions, args.size, count, "1", 300)
        n = int(pre["records"])
        got, payload, wire, secs, parse, calls = consume_rest(rest_url, topic, n, args.max_bytes, args.seconds)
        server = max(secs - parse, 1e-9)
        print("| records | of | payload MB | wire MB | seconds | MB/s (payload) | MB/s (wire) | requests "
              "| client_parse_s | MB/s payload, client parse excluded |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {got} | {n} | {payload / 1e6:.1f} | {wire / 1e6:.1f} | {secs:.2f} | {payload / 1e6 / secs:.1f} "
              f"| {wire / 1e6 / secs:.1f} | {calls} | {parse:.2f} | {payload / 1e6 / server:.1f} |")
        if got < n:
            print(f"# time bound hit: read {got} of {n}", file=sys.stderr)
    finally:
        if broker is not None:
            broker.cleanup()


if __name__ == "__main__":
    main()
