"""Shared plumbing for the perf scripts (not a pytest suite; nothing here decides pass/fail).

Each script measures one thing with real clients against one or two targets:

  (default)                 a fresh Strata started with the harness (release binary, default
                            durable settings: fsync before an acks=all answer)
  --bootstrap HOST:PORT     an already running broker instead (--pid PID for CPU/RSS figures;
                            otherwise the pid listening on that port is looked up in /proc)
  --compare-cmd "CMD ..."   also start CMD (e.g. Tansu) and run the same measurement against it,
                            at --compare-bootstrap (default 127.0.0.1:19092)

Results print as a markdown table; --json FILE appends one JSON line per measurement, which
run_all.sh gathers into the side-by-side table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from strata_harness import Broker, proc_cpu_seconds, proc_rss_bytes  # noqa: E402


@dataclass
class Target:
    label: str
    bootstrap: str
    pid: Optional[int]


@dataclass
class Result:
    bench: str
    target: str
    params: Dict[str, object]
    metrics: Dict[str, float]
    notes: str = ""


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bootstrap", help="use a running broker at HOST:PORT instead of starting Strata")
    p.add_argument("--pid", type=int, help="pid of the broker given by --bootstrap (for CPU/RSS)")
    p.add_argument("--label", default=None, help="name of the first target in the output (default: strata)")
    p.add_argument("--compare-cmd", default=os.environ.get("COMPARE_CMD"),
                   help="a second broker to start and measure the same way (e.g. Tansu)")
    p.add_argument("--compare-bootstrap", default=os.environ.get("COMPARE_BOOTSTRAP", "127.0.0.1:19092"))
    p.add_argument("--compare-label", default=os.environ.get("COMPARE_LABEL", "tansu"))
    p.add_argument("--json", help="append results as JSON lines to this file")
    p.add_argument("--quick", action="store_true", help="smaller volumes, for a smoke run")
    p.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                   help="a broker property for the Strata started here (repeatable), e.g. "
                        "log.flush.interval.messages=1000000 to take fsync latency out of a CPU-bound figure")
    return p


def overrides_of(args) -> Dict[str, str]:
    """`--override KEY=VALUE` arguments as a property map."""
    pairs = {}
    for item in getattr(args, "override", None) or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--override wants KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def find_listener_pid(port: int) -> Optional[int]:
    """The pid of the process listening on 127.0.0.1:port, from /proc/net/tcp and /proc/*/fd."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, state, inode = parts[1], parts[3], parts[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(inode)
        except OSError:
            continue
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return int(pid)
        except OSError:
            continue
    return None


def wait_for_port(bootstrap: str, timeout: float, proc: Optional[subprocess.Popen] = None) -> None:
    host, port = bootstrap.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"broker command exited with {proc.returncode}")
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {bootstrap} after {timeout}s")


@contextlib.contextmanager
def external_broker(cmd: str, bootstrap: str, label: str) -> Iterator[Target]:
    workdir = Path(tempfile.mkdtemp(prefix=f"perf-{label}-"))
    log = open(workdir / "broker.log", "wb")
    proc = subprocess.Popen(shlex.split(cmd), stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=str(workdir))
    try:
        wait_for_port(bootstrap, 60, proc)
        time.sleep(0.5)
        yield Target(label, bootstrap, proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


@contextlib.contextmanager
def strata_target(label: str, overrides: Optional[dict] = None) -> Iterator[Target]:
    b = Broker(overrides=overrides, name="strata-perf")
    try:
        b.start()
        yield Target(label, b.bootstrap, b.pid)
    finally:
        b.cleanup()


def targets(args):
    """(label, context manager) for each target, in order: the primary, then the comparison if any."""
    if args.bootstrap:
        pid = args.pid or find_listener_pid(int(args.bootstrap.rsplit(":", 1)[1]))
        label = args.label or "broker"
        yield label, contextlib.nullcontext(Target(label, args.bootstrap, pid))
    else:
        label = args.label or "strata"
        yield label, strata_target(label, overrides_of(args))
    if args.compare_cmd:
        yield args.compare_label, external_broker(args.compare_cmd, args.compare_bootstrap, args.compare_label)


def run(args, bench: Callable[[Target, argparse.Namespace], List[Result]]) -> List[Result]:
    results: List[Result] = []
    for label, ctx in targets(args):
        try:
            with ctx as target:
                results += bench(target, args)
        except Exception as e:  # a failing target is reported, the other still measured
            print(f"# {label} failed: {type(e).__name__}: {e}", file=sys.stderr)
            results.append(Result(bench.__name__, label, {}, {}, notes=f"failed: {type(e).__name__}: {e}"[:300]))
    report(results, args.json)
    return results


def report(results: List[Result], json_path: Optional[str]) -> None:
    """Prints the results as a table and, with `--json PATH`, appends one JSON line per result."""
    print_table(results)
    if json_path:
        with open(json_path, "a") as f:
            for r in results:
                f.write(json.dumps(r.__dict__) + "\n")


def print_table(results: List[Result]) -> None:
    if not results:
        return
    param_keys = []
    metric_keys = []
    for r in results:
        for k in r.params:
            if k not in param_keys:
                param_keys.append(k)
        for k in r.metrics:
            if k not in metric_keys:
                metric_keys.append(k)
    head = ["bench", "target"] + param_keys + metric_keys + ["notes"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        row = [r.bench, r.target] + [str(r.params.get(k, "")) for k in param_keys]
        row += [fmt(r.metrics.get(k)) for k in metric_keys] + [r.notes]
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


def fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        return f"{v:.4f}"
    return str(v)


def unique_topic(prefix: str) -> str:
    return f"perf-{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap: str, name: str, partitions: int, config: Optional[dict] = None) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    a = AdminClient({"bootstrap.servers": bootstrap})
    fs = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
                         request_timeout=30)
    fs[name].result(timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        t = a.list_topics(topic=name, timeout=10).topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
                p.leader >= 0 for p in t.partitions.values()):
            return
        time.sleep(0.1)
    raise RuntimeError(f"topic {name} not ready")


def produce_bulk(bootstrap: str, topic: str, partitions: int, size: int, count: int, acks: str,
                 max_seconds: float, extra: Optional[dict] = None,
                 payload: Optional[bytes] = None, warm_up: bool = False,
                 on_start: Optional[Callable[[], object]] = None) -> Dict[str, object]:
    """Produce `count` records of `size` bytes round-robin over partitions as fast as the client goes.

    Stops early after max_seconds of producing. Returns records, bytes, seconds, errors.
    With warm_up, one record is produced and flushed before the clock starts (not counted), and
    its time is returned as startup_ms: librdkafka's idempotent producer asks for its producer id
    only once a broker connection is up, from a 500 ms timer, so its start costs 0 to 1,000 ms
    whatever the broker; in a run of a few seconds that start would dominate a throughput figure.
    on_start is called as the clock starts (e.g. to read the broker's CPU time then); its value
    is returned as on_start.
    """
    from confluent_kafka import Producer

    errors = [0]
    acked = [0]

    def on_delivery(err, msg):
        if err is not None:
            errors[0] += 1
        else:
            acked[0] += 1

    conf = {"bootstrap.servers": bootstrap, "acks": acks, "on_delivery": on_delivery,
            "queue.buffering.max.kbytes": 1048576, "queue.buffering.max.messages": 1000000}
    conf.update(extra or {})
    p = Producer(conf)
    payload = payload if payload is not None else os.urandom(size)
    startup_ms = 0.0
    if warm_up:
        begun = time.perf_counter()
        p.produce(topic, payload, partition=0)
        p.flush(60)
        startup_ms = (time.perf_counter() - begun) * 1000
        acked[0] = 0
    started_with = on_start() if on_start is not None else None
    start = time.perf_counter()
    deadline = start + max_seconds
    sent = 0
    produce = p.produce
    while sent < count:
        try:
            produce(topic, payload, partition=sent % partitions)
            sent += 1
        except BufferError:
            p.poll(0.005)
            continue
        if sent % 1000 == 0:
            p.poll(0)
            if time.perf_counter() > deadline:
                break
    left = p.flush(120)
    elapsed = time.perf_counter() - start
    return {"records": acked[0], "bytes": acked[0] * size, "seconds": elapsed, "errors": errors[0] + left,
            "sent": sent, "startup_ms": startup_ms, "on_start": started_with}


def mb(n: float) -> float:
    return n / 1e6


def percentile(sorted_values: List[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[k]


def cpu_of(pid: Optional[int]) -> Optional[float]:
    return proc_cpu_seconds(pid) if pid else None


def rss_of(pid: Optional[int]) -> Optional[int]:
    return proc_rss_bytes(pid) if pid else None
