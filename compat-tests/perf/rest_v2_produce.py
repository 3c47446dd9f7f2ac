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
A run with one connection (`--single`, default on) shows the service time of one request
without queueing.

Targets (bars from the task): p50 < 2 ms, p99 < 10 ms at 50 connections.

  compat-tests/perf/rest_v2_produce.py [--seconds 10] [--connections 50] [--partitions 1]
  compat-tests/perf/rest_v2_produce.py --url http://127.0.0.1:8082 --pid PID   # a running proxy
"""

from __future__ import annotations

import argparse
import base64
import json
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

from common import Result, print_table  # noqa: E402
from schema_registry_throughput import run_wrk  # noqa: E402
from strata_harness import Broker, proc_cpu_seconds  # noqa: E402

CT = "application/vnd.kafka.binary.v2+json"
HEADERS = {"Content-Type": CT, "Accept": "application/vnd.kafka.v2+json"}


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


def measure(url: str, pid: Optional[int], args, workdir: Path) -> List[Result]:
    payload = body(args.size)
    results: List[Result] = []
    runs = [("python", args.connections)]
    if shutil.which("wrk"):
        runs.append(("wrk", args.connections))
    else:
        print("wrk not found (apt-get install wrk): python client only", file=sys.stderr)
    if args.single:
        runs.append(("wrk" if shutil.which("wrk") else "python", 1))
    lua = workdir / "post.lua"
    lua.write_text(lua_post(payload))
    for client, connections in runs:
        cpu0 = proc_cpu_seconds(pid) if pid else None
        if client == "python":
            metrics = python_client(url, payload, connections, args.seconds, warmup=1.0)
        else:
            run_wrk(url, 1, lua, connections)  # warm-up
            cpu0 = proc_cpu_seconds(pid) if pid else None
            metrics = run_wrk(url, int(args.seconds), lua, connections)
        if cpu0 is not None:
            cpu = proc_cpu_seconds(pid) - cpu0
            if metrics.get("requests"):
                metrics["broker cpu us/req"] = cpu / metrics["requests"] * 1e6
        results.append(Result(
            bench="rest v2 produce (binary, 1 record)",
            target=client,
            params={"connections": connections, "partitions": args.partitions, "bytes": args.size},
            metrics=metrics,
            notes=bars(metrics) if connections == args.connections else "service time of one request",
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
            topic = f"rest-perf-{uuid.uuid4().hex[:8]}"
            if bootstrap:
                from kafkautil import create_topic
                create_topic(bootstrap, topic, partitions=args.partitions)
            url = f"{base}/topics/{topic}"
            r = requests.post(url, data=body(args.size), headers=HEADERS, timeout=30)
            r.raise_for_status()
            results = measure(url, pid, args, workdir)
        finally:
            if broker is not None:
                broker.cleanup()
    print()
    print_table(results)
    if args.json:
        with open(args.json, "a") as f:
            for r in results:
                f.write(json.dumps(r.__dict__) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
