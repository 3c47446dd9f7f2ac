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

A second consumer instance (its own group) then reads the same records with curl, one
`curl` process per GET writing the answer to a file, so the figure is what the proxy
serves to a client that keeps up (on this 2-core machine, `requests` reading a 45 MB
answer and `json.loads` parsing it take longer than the proxy takes to write it). The
curl answers are parsed after the clock stops and checked: every record once, in order.

Starts its own Strata (release binary, STRATA_BIN) unless --rest-url and --bootstrap
name a running one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import create_topic, produce_bulk  # noqa: E402
from strata_harness import Broker  # noqa: E402


def subscribe(s, rest_url, topic):
    """A new consumer instance in a group of its own, subscribed and assigned: its base URL."""
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
    return base


def consume_rest(rest_url, topic, expected, max_bytes, max_seconds):
    s = requests.Session()
    base = subscribe(s, rest_url, topic)
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


def consume_curl(rest_url, topic, expected, max_bytes, max_seconds):
    """Reads `expected` records with one curl per GET; returns records, payload, wire, seconds, requests."""
    s = requests.Session()
    base = subscribe(s, rest_url, topic)
    work = Path(tempfile.mkdtemp(prefix="perf-v2c-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    files = []
    got = 0
    try:
        start = time.perf_counter()
        end = start + max_seconds
        while got < expected and time.perf_counter() < end:
            out = work / f"answer-{len(files)}.json"
            subprocess.run(["curl", "-sSf", "-H", "Accept: application/vnd.kafka.binary.v2+json", "-o", str(out),
                            f"{base}/records?max_bytes={max_bytes}"], check=True, timeout=120)
            files.append(out)
            got += out.read_bytes().count(b'"offset":')
        secs = time.perf_counter() - start
        wire = sum(f.stat().st_size for f in files)
        # Checked after the clock: every offset once and in order, values of the produced size.
        offsets, payload = [], 0
        for f in files:
            for rec in json.loads(f.read_bytes()):
                offsets.append(rec["offset"])
                payload += len(rec["value"]) * 3 // 4
        if offsets != sorted(set(offsets)) or len(offsets) != got:
            raise SystemExit(f"curl read {len(offsets)} records, not each once in order")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        s.delete(base, timeout=30)
    return got, payload, wire, secs, len(files)


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
        if shutil.which("curl"):
            got, payload, wire, secs, calls = consume_curl(rest_url, topic, n, args.max_bytes, args.seconds)
            print()
            print("| client | records | of | payload MB | wire MB | seconds | MB/s (payload) | MB/s (wire) | requests |")
            print("|---|---|---|---|---|---|---|---|---|")
            print(f"| curl | {got} | {n} | {payload / 1e6:.1f} | {wire / 1e6:.1f} | {secs:.2f} "
                  f"| {payload / 1e6 / secs:.1f} | {wire / 1e6 / secs:.1f} | {calls} |")
        else:
            print("# curl not found: its run is skipped", file=sys.stderr)
    finally:
        if broker is not None:
            broker.cleanup()


if __name__ == "__main__":
    main()
