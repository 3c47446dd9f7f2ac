#!/usr/bin/env python3
"""Schema Registry requests per second from one keep-alive HTTP client (the issue #4 bars).

Client: wrk 4.1 (Debian: `apt-get install wrk`) with one thread and one connection
(`wrk -t1 -c1`): every request waits for the previous answer on a single kept-alive
connection, which is what "one HTTP client with keep-alive" means here. POST bodies come
from a generated Lua script (`wrk.method`, `wrk.body`, `wrk.headers`). A Python loop
(requests, http.client) tops out near 3-5k requests/s on this 2-core machine and would
measure itself, not the registry.

For each schema in SCHEMAS (Avro records of 2, 20 and 100 fields, a JSON Schema, a
Protobuf file), registered once beforehand:

  register   POST /subjects/{s}/versions with the already-registered schema (what a
             serializer with auto.register.schemas sends on every cache miss)
  lookup     POST /subjects/{s} with the same schema (auto.register.schemas=false)
  get by id  GET /schemas/ids/{id} (what a deserializer sends on every cache miss)

Every answer must be 200: wrk's non-2xx and socket-error counts are checked and reported.
The broker's CPU seconds per 1,000 requests are reported too (from /proc, so only for the
registry this script starts). Bars (issue #4): register and lookup at least 5,000
requests/s, GET by id at least 20,000 requests/s. The client shares the 2 cores with the
broker, so other load on the machine moves the figures: run it 2-3 times.

  compat-tests/perf/schema_registry_throughput.py [--seconds 5] [--json FILE]
  compat-tests/perf/schema_registry_throughput.py --url http://127.0.0.1:8081 [--pid PID]
      measures a registry that is already running (Strata or Confluent's) instead

`--connections N` keeps N connections busy instead (one wrk thread), to see how far the
figures are bound by one connection's round trips rather than by the registry.

On this VM the one-connection figure for GET by id is bound by the round trip, not by the
registry: the admin port's `/health` answers at the same rate (about 20-50k/s, varying with
the machine's load), with one context switch per request in the broker.

Nothing here decides pass/fail: the notes column says whether each figure meets its bar.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import Result, report  # noqa: E402
from strata_harness import Broker, proc_cpu_seconds  # noqa: E402

CT = "application/vnd.schemaregistry.v1+json"
BARS = {"register": 5000.0, "lookup": 5000.0, "get by id": 20000.0}


def avro_record(fields: int) -> str:
    return json.dumps({
        "type": "record", "name": f"Perf{fields}", "namespace": "perf.avro",
        "doc": "a record as applications register them",
        "fields": [{"name": f"field_{i}", "type": ["null", "string"], "default": None,
                    "doc": f"field number {i}"} for i in range(fields)],
    })


def json_schema(properties: int) -> str:
    return json.dumps({
        "$schema": "http://json-schema.org/draft-07/schema#", "title": "Perf", "type": "object",
        "properties": {f"p{i}": {"type": "string", "description": f"property {i}"} for i in range(properties)},
        "required": ["p0"], "additionalProperties": False,
    })


def proto_file(fields: int) -> str:
    body = "".join(f"  string f{i} = {i + 1};\n" for i in range(fields))
    return f'syntax = "proto3";\npackage perf.proto;\n\nmessage Thing {{\n{body}}}\n'


# (label, schemaType, schema text)
SCHEMAS = [
    ("avro 2 fields", "AVRO", avro_record(2)),
    ("avro 20 fields", "AVRO", avro_record(20)),
    ("avro 100 fields", "AVRO", avro_record(100)),
    ("json 20 properties", "JSON", json_schema(20)),
    ("protobuf 20 fields", "PROTOBUF", proto_file(20)),
]


def request_body(schema_type: str, text: str) -> str:
    body = {"schema": text}
    if schema_type != "AVRO":
        body["schemaType"] = schema_type
    return json.dumps(body)


def lua_post(body: str) -> str:
    assert "]==]" not in body
    return (f'wrk.method = "POST"\n'
            f'wrk.headers["Content-Type"] = "{CT}"\n'
            f"wrk.body = [==[{body}]==]\n")


def parse_duration_us(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1.0, "ms": 1e3, "s": 1e6}[unit]


def run_wrk(url: str, seconds: int, script: Optional[Path], connections: int = 1) -> Dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if rate is None or total is None:
        raise RuntimeError(f"unreadable wrk output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    metrics = {
        "requests": float(total.group(1)),
        "req/s": float(rate.group(1)),
        "errors": float(int(non2xx.group(1)) if non2xx else 0)
        + float(sum(int(x) for x in socket.groups()) if socket else 0),
    }
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.MULTILINE)
        if m:
            metrics[f"p{pct} us"] = parse_duration_us(m.group(1))
    return metrics


def measure(url: str, pid: Optional[int], seconds: int, workdir: Path, label: str,
            connections: int = 1) -> List[Result]:
    results: List[Result] = []
    for n, (name, schema_type, text) in enumerate(SCHEMAS):
        subject = f"perf-{n}-value"
        body = request_body(schema_type, text)
        r = requests.post(f"{url}/subjects/{subject}/versions", data=body,
                          headers={"Content-Type": CT}, timeout=30)
        r.raise_for_status()
        schema_id = r.json()["id"]
        script = workdir / f"post-{n}.lua"
        script.write_text(lua_post(body))
        runs = [
            ("register", f"{url}/subjects/{subject}/versions", script),
            ("lookup", f"{url}/subjects/{subject}", script),
            ("get by id", f"{url}/schemas/ids/{schema_id}", None),
        ]
        for op, target, lua in runs:
            cpu0 = proc_cpu_seconds(pid) if pid else None
            metrics = run_wrk(target, seconds, lua, connections)
            if pid and cpu0 is not None and metrics["requests"]:
                metrics["broker cpu us/req"] = (proc_cpu_seconds(pid) - cpu0) * 1e6 / metrics["requests"]
            bar = BARS[op]
            met = "met" if metrics["req/s"] >= bar and metrics["errors"] == 0 else "NOT met"
            if connections != 1:
                met = "not judged (the bar is for one connection)"
            params = {"schema": name, "bytes": len(body), "connections": connections}
            results.append(Result(op, label, params, metrics,
                                  notes=f"bar {bar:,.0f}/s: {met}"))
            print(f"# {op} {name}: {metrics['req/s']:,.0f} req/s", file=sys.stderr)
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=5, help="length of each wrk run (default 5)")
    p.add_argument("--url", help="measure a running registry at this URL instead of starting Strata")
    p.add_argument("--pid", type=int, help="pid of the registry given by --url (for CPU figures)")
    p.add_argument("--label", default=None, help="name of the target in the output")
    p.add_argument("--json", help="append results as JSON lines to this file")
    p.add_argument("--quick", action="store_true", help="1-second runs, for a smoke run")
    p.add_argument("--connections", type=int, default=1,
                   help="keep-alive connections wrk keeps busy (default 1, what the bars are about)")
    args = p.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    seconds = 1 if args.quick else args.seconds
    workdir = Path(tempfile.mkdtemp(prefix="sr-perf-"))
    broker = None
    try:
        if args.url:
            url, pid, label = args.url.rstrip("/"), args.pid, args.label or "registry"
        else:
            broker = Broker(name="strata-perf").start()
            url, pid, label = broker.schema_registry_url, broker.pid, args.label or "strata"
        results = measure(url, pid, seconds, workdir, label, args.connections)
    finally:
        if broker is not None:
            broker.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
