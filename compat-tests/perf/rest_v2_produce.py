#!/usr/bin/env python3
"""REST Proxy v2 produce: single-record binary POSTs from many keep-alive connections.

Each request is `POST /topics/{t}` with `application/vnd.kafka.binary.v2+json` and one keyless
100-byte record, answered once the record is durable (the proxy produces with acks=all; Strata
fsyncs before an acks=all answer). Clients:

  python   --connections threads (default 50), each with its own requests.Session, posting
           back to back for --seconds (default 10) after a 1 s warm-up; every latency is
           recorded (time.perf_counter around the call) and p50/p99/p99.9 are computed
  wrk      wrk 4.1 (`apt-get install wrk`) with the same body and the same number of
           connections (two threads), when wrk is on PATH: its own latency percentiles

Both are closed loops: each connection sends its next request when the previous one is
answered, so by Little's law latency = connections / throughput. At 50 connections, a p50 under
2 ms therefore needs about 25,000 requests/s. The Python client cannot send that many on this
2-core machine (the GIL and `requests` cost some 0.3 ms of CPU per request, on the cores the
broker uses), so its latency mostly measures its own queueing; wrk's figures are the proxy's.
A run with one connection (`--no-single` skips it) shows the service time of one request
without queueing.

To tell the proxy's cost from the disk's, wrk also runs against a second topic created with
`flush.messages` and `flush.ms` so large that no produce waits for an fsync (`--no-compare`
skips it): the difference is what acks=all durability costs on this disk. The script prints
the disk's fdatasync latency (200-byte appends, the data directory's file system) for the
same reason: a request that must be durable cannot be answered faster than one fdatasync.

Targets (bars from the task): p50 < 2 ms, p99 < 10 ms at 50 connections.

  compat-tests/perf/rest_v2_produce.py [--seconds 10] [--connections 50] [--partitions 1]
  compat-tests/perf/rest_v2_produce.py --url http://127.0.0.1:8082 --pid PID   # a running proxy
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import Result, print_table, report  # noqa: E402
from schema_registry_throughput import run_wrk  # noqa: E402
from strata_harness import Broker, proc_cpu_seconds  # noqa: E402

CT = "application/vnd.kafka.binary.v2+json"
HEADERS = {"Content-Type": CT, "Accept": "application/vnd.kafka.v2+json"}
# Topic configs under which no produce waits for an fsync (Strata fsyncs before an acks=all
# answer only when flush.messages is 1, the default).
NO_FSYNC = {"flush.messages": "9223372036854775807", "flush.ms": "60000"}


def body(size: int) -> str:
    return json.dumps({"records": [{"value": base64.b64encode(b"x" * size).decode()}]})


def percentile(sorted_values: List[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def python_client(url: str, payload: str, connections: int, seconds: float, warmup: float) -> Dict[str, float]:
    """`connections` threads posting back to back; latencies of requests started after the warm-up."""
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    latencies: List[List[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    barrier = threading.Barrier(connections)

    def worker(i: int) -> None:
        s = requests.Session()
        mine = latencies[i]
        barrier.wait()
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                break
            try:
                r = s.post(url, data=payload, headers=HEADERS, timeout=30)
                ok = r.status_code == 200 and r.json()["offsets"][0]["error_code"] is None
            except requests.RequestException:
                ok = False
            t1 = time.perf_counter()
            if t0 >= measure_from:
                if ok:
                    mine.append(t1 - t0)
                else:
                    errors[i] += 1
        s.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    all_latencies = sorted(x for per in latencies for x in per)
    n = len(all_latencies)
    return {
        "requests": float(n),
        "req/s": n / seconds,
        "errors": float(sum(errors)),
        "p50 us": percentile(all_latencies, 0.50) * 1e6,
        "p99 us": percentile(all_latencies, 0.99) * 1e6,
        "p99.9 us": percentile(all_latencies, 0.999) * 1e6,
        "mean us": (statistics.fmean(all_latencies) * 1e6) if n else float("nan"),
    }


def lua_post(payload: str) -> str:
    assert "]==]" not in payload
    return (f'wrk.method = "POST"\n'
            f'wrk.headers["Content-Type"] = "{CT}"\n'
            f'wrk.headers["Accept"] = "{HEADERS["Accept"]}"\n'
            f"wrk.body = [==[{payload}]==]\n")


def bars(metrics: Dict[str, float]) -> str:
    p50, p99 = metrics.get("p50 us", float("nan")), metrics.get("p99 us", float("nan"))
    return (f"p50 {'meets' if p50 < 2000 else 'misses'} < 2 ms, "
            f"p99 {'meets' if p99 < 10000 else 'misses'} < 10 ms")


def fdatasync_latency(directory: Path, count: int = 200) -> Dict[str, float]:
    """fdatasync after 200-byte appends in `directory`: p50 and p99 in microseconds."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    took = []
    try:
        for _ in range(count):
            os.write(fd, b"x" * 200)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            took.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()
    took.sort()
    return {"p50 us": percentile(took, 0.5) * 1e6, "p99 us": percentile(took, 0.99) * 1e6}


def measure(urls: Dict[str, str], pid: Optional[int], args, workdir: Path) -> List[Result]:
    payload = body(args.size)
    results: List[Result] = []
    have_wrk = shutil.which("wrk") is not None
    if not have_wrk:
        print("wrk not found (apt-get install wrk): python client only", file=sys.stderr)
    runs = [("python", "fsync", args.connections)]
    if have_wrk:
        runs.append(("wrk", "fsync", args.connections))
        if "no fsync" in urls:
            runs.append(("wrk", "no fsync", args.connections))
    if args.single:
        client = "wrk" if have_wrk else "python"
        runs.append((client, "fsync", 1))
        if "no fsync" in urls:
            runs.append((client, "no fsync", 1))
    lua = workdir / "post.lua"
    lua.write_text(lua_post(payload))
    for client, durability, connections in runs:
        url = urls[durability]
        if client == "python":
            cpu0 = proc_cpu_seconds(pid) if pid else None
            metrics = python_client(url, payload, connections, args.seconds, warmup=1.0)
        else:
            run_wrk(url, 1, lua, connections)  # warm-up
            cpu0 = proc_cpu_seconds(pid) if pid else None
            metrics = run_wrk(url, int(args.seconds), lua, connections)
        if cpu0 is not None and metrics.get("requests"):
            metrics["broker cpu us/req"] = (proc_cpu_seconds(pid) - cpu0) / metrics["requests"] * 1e6
        if connections != args.connections:
            notes = "service time of one request"
        elif durability == "fsync":
            notes = bars(metrics)
        else:
            notes = "no fsync before the answer: the proxy's own cost"
        results.append(Result(
            bench="rest v2 produce (binary, 1 record)",
            target=client,
            params={"connections": connections, "topic": durability, "partitions": args.partitions,
                    "bytes": args.size},
            metrics=metrics,
            notes=notes,
        ))
        print_table(results[-1:])
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--partitions", type=int, default=1)
    p.add_argument("--size", type=int, default=100, help="value bytes per record (default 100)")
    p.add_argument("--no-single", dest="single", action="store_false",
                   help="skip the one-connection run")
    p.add_argument("--no-compare", dest="compare", action="store_false",
                   help="skip the topic whose produces do not wait for an fsync")
    p.add_argument("--url", help="a running REST Proxy (http://HOST:PORT) instead of starting Strata")
    p.add_argument("--bootstrap", help="its Kafka listener, to create the topic (default: auto-created)")
    p.add_argument("--pid", type=int, help="the broker's pid, for CPU per request")
    p.add_argument("--json", help="append results as JSON lines to this file")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="rest-v2-perf-") as tmp:
        workdir = Path(tmp)
        broker = None
        try:
            if args.url:
                base, pid, bootstrap = args.url.rstrip("/"), args.pid, args.bootstrap
            else:
                broker = Broker(workdir=workdir / "broker", name="strata-rest-perf").start()
                base, pid, bootstrap = broker.rest_proxy_url, broker.pid, broker.bootstrap
            disk = fdatasync_latency(broker.data_dir if broker else workdir)
            print(f"fdatasync of a 200-byte append: p50 {disk['p50 us']:,.0f} us, "
                  f"p99 {disk['p99 us']:,.0f} us")
            urls = {}
            for durability in ("fsync", "no fsync") if args.compare else ("fsync",):
                topic = f"rest-perf-{uuid.uuid4().hex[:8]}"
                if bootstrap:
                    from kafkautil import create_topic
                    config = {} if durability == "fsync" else NO_FSYNC
                    create_topic(bootstrap, topic, partitions=args.partitions, config=config)
                elif durability != "fsync":
                    continue  # without --bootstrap the topic is auto-created with defaults
                urls[durability] = f"{base}/topics/{topic}"
                r = requests.post(urls[durability], data=body(args.size), headers=HEADERS, timeout=30)
                r.raise_for_status()
            results = measure(urls, pid, args, workdir)
        finally:
            if broker is not None:
                broker.cleanup()
    print()
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
