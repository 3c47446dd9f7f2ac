#!/usr/bin/env python3
"""Tiered storage against the issue's bar, with moto_server as the object store.

All in one run, one broker at a time (the machine has few cores):

1. cold tiered consume vs plain gets. A 1-partition topic of 1 KiB records is produced to a
   broker with `--tier-url s3://...` (moto_server), rolled by segment.ms and aged out of local
   disk by local.retention.ms until every record lives only in the bucket (ListOffsets -5 and
   -4 past the last record; one 16-byte marker record produced after the roll stays local and
   is not read). Baseline: the partition's `.log` objects read whole and in order from the same
   moto_server, once with boto3 `get_object` (signed, as object_store signs) and once with
   presigned URLs over one keep-alive http.client connection (the cheapest client), and with
   plain object_store GETs through the store Strata opens (tier/examples/plain_gets.rs, built
   by this script): the issue's baseline. Each is the best of a run before and after the
   consumes; the ratio is also given against the fastest of the three.
2. warm tiered consume vs local disk: the same topic read again (served from the cache), against
   the same volume produced to a broker without tiering and read there (page cache warm).
3. CPU per GB produced: 1 KiB records, 6 partitions, acks=all, on both brokers; broker
   utime+stime from /proc from the first record until every sealed segment is uploaded (the
   uploaded-segments counter has grown by the number of sealed local segments and the lag is 0),
   and for the broker without tiering over the same wall time. Both brokers run side by side and
   the passes alternate (--cpu-rounds, 3 each); the median of each is compared.

Each consume reads from offset 0 and is measured two ways (each cold pass after its own cold
restart: tier cache directory removed; warm and local-disk passes run twice, the faster kept):
  raw        Fetch v4 requests on one connection (8 MiB per partition and request), received
             into one reused buffer, batches stepped over by header, never copied or decoded:
             what the broker serves, with almost no client cost;
  librdkafka one confluent-kafka consumer with default fetch settings, every message touched in
             Python: what an application sees (the Python loop caps it, and it is noisy).
Throughput is segment bytes per second (the `.log` objects' total size over the elapsed time),
so every ratio compares the same bytes. Bars: cold >= 50% of plain gets, warm >= 80% of local
disk, tiering adds <= 10% CPU per GB. Prints a table and the ratios; never pass/fail.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

# common puts compat-tests/ on sys.path (kafka_wire, moto, strata_harness, test_tiering).
from common import Result, cpu_of, create_topic, mb, print_table, produce_bulk, unique_topic
from consume_throughput import consume_all
import kafka_wire as kw
from moto import MotoServer
from strata_harness import Broker
from test_tiering import offset_of

PREFIX = "perf"
OVERRIDES = {
    "remote.log.manager.task.interval.ms": 200,
    "log.retention.check.interval.ms": 200,
    "strata.remote.internal.roll.ms": 500,
}
CPU_SEGMENT = 16 << 20


def tier_metrics(b: Broker) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for line in b.metrics().splitlines():
        if line.startswith("strata_tier_"):
            head, _, value = line.rpartition(" ")
            name = head.split("{", 1)[0]
            out[name] = out.get(name, 0.0) + float(value)
    return out


def wait(what: str, cond: Callable[[], bool], timeout: float, interval: float = 0.2) -> float:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"{what}: not within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - start


# -- the baseline: plain gets ------------------------------------------------------------
def segment_objects(moto: MotoServer, topic: str) -> List[Tuple[str, int]]:
    objs = moto.objects(f"{PREFIX}/{topic}-")
    return sorted((k, n) for k, n in objs.items() if k.split("/")[2:3] == ["0"] and k.endswith(".log"))


def get_boto3(moto: MotoServer, keys: List[str]) -> Tuple[int, float]:
    c = moto.client()
    start = time.perf_counter()
    total = 0
    for k in keys:
        total += len(c.get_object(Bucket=moto.bucket, Key=k)["Body"].read())
    return total, time.perf_counter() - start


def get_raw(moto: MotoServer, keys: List[str]) -> Tuple[int, float]:
    """Presigned URLs (signing is local) fetched over one keep-alive http.client connection."""
    c = moto.client()
    urls = [c.generate_presigned_url("get_object", Params={"Bucket": moto.bucket, "Key": k}, ExpiresIn=3600)
            for k in keys]
    conn = http.client.HTTPConnection("127.0.0.1", moto.port, timeout=60)
    start = time.perf_counter()
    total = 0
    try:
        for k, url in zip(keys, urls):
            conn.request("GET", url[url.index("/", len("http://")):])
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError(f"GET {k}: {r.status} {body[:200]!r}")
            total += len(body)
    finally:
        conn.close()
    return total, time.perf_counter() - start


def plain_gets_binary() -> Optional[Path]:
    """Builds tier/examples/plain_gets.rs: object_store GETs through the store Strata opens."""
    root = Path(__file__).resolve().parents[2]
    built = subprocess.run(["cargo", "build", "--release", "-q", "-p", "strata-tier", "--example", "plain_gets"],
                           cwd=root, timeout=900)
    binary = root / "target" / "release" / "examples" / "plain_gets"
    return binary if built.returncode == 0 and binary.exists() else None


def get_object_store(moto: MotoServer, keys: List[str], binary: Path) -> Tuple[int, float]:
    """Plain object_store GETs of whole objects, one after another (the issue's baseline)."""
    relative = [k[len(PREFIX) + 1:] for k in keys]
    out = subprocess.run([str(binary), moto.tier_url(PREFIX), *relative], env=dict(os.environ, **moto.env()),
                         capture_output=True, text=True, timeout=600, check=True)
    r = json.loads(out.stdout)
    return r["bytes"], r["seconds"]


def baseline(moto: MotoServer, keys: List[str], binary: Optional[Path]) -> Dict[str, float]:
    n1, s1 = get_boto3(moto, keys)
    n2, s2 = get_raw(moto, keys)
    out = {"boto3_MB/s": mb(n1) / s1, "raw_get_MB/s": mb(n2) / s2}
    if binary is not None:
        moto0 = cpu_of(moto.proc.pid) if moto.proc else None
        child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        n3, s3 = get_object_store(moto, keys, binary)
        child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["object_store_MB/s"] = mb(n3) / s3
        # What the baseline costs (the cargo build is done before): the getter, and moto.
        out["getter_cpu_s"] = (child1.ru_utime + child1.ru_stime) - (child0.ru_utime + child0.ru_stime)
        if moto0 is not None:
            out["moto_cpu_s"] = cpu_of(moto.proc.pid) - moto0
    return out


# -- consumes ----------------------------------------------------------------------------
def recv_into_exact(sock, view: memoryview) -> None:
    got = 0
    while got < len(view):
        n = sock.recv_into(view[got:])
        if not n:
            raise ConnectionError(f"connection closed after {got} of {len(view)} bytes")
        got += n


def raw_fetch_all(bootstrap: str, topic: str, records: int, seconds: float) -> Tuple[int, int, float]:
    """Fetch v4 from offset 0 until `records` offsets are covered: (offsets, record bytes, seconds).

    The client's own cost is kept near zero, so the figure is the broker's: each response is
    received into one reused buffer and its batches are stepped through by their headers
    (struct.unpack_from on a memoryview), without copying or decoding them."""
    offset = 0
    nbytes = 0
    corr = 0
    buf = bytearray(80 << 20)
    view = memoryview(buf)
    with kw.connect(bootstrap, timeout=30) as s:
        start = time.perf_counter()
        deadline = start + seconds
        while offset < records and time.perf_counter() < deadline:
            corr += 1
            s.sendall(kw.fetch_v4_request(corr, topic, 0, offset, max_wait_ms=500, min_bytes=1,
                                          max_bytes=64 << 20, partition_max_bytes=8 << 20))
            recv_into_exact(s, view[:4])
            (size,) = struct.unpack_from(">i", buf, 0)
            if not 0 < size <= len(buf):
                raise RuntimeError(f"bad response size {size}")
            recv_into_exact(s, view[:size])
            # correlation id, throttle, [topic count, topic name, [partition count, partition...]]
            got, _throttle, n_topics, name_len = struct.unpack_from(">iiih", buf, 0)
            pos = 14 + name_len
            n_parts, _part, err, _hwm, _lso, n_aborted = struct.unpack_from(">iihqqi", buf, pos)
            if got != corr or n_topics != 1 or n_parts != 1:
                raise RuntimeError(f"unexpected fetch response {got} {n_topics} {n_parts}")
            if err:
                raise RuntimeError(f"fetch at {offset}: error {err}")
            pos += 30 + 16 * max(n_aborted, 0)
            (length,) = struct.unpack_from(">i", buf, pos)
            pos += 4
            end = pos + max(length, 0)
            while pos + 61 <= end:
                base_offset, batch_length = struct.unpack_from(">qi", buf, pos)
                if pos + 12 + batch_length > end:
                    break  # a partial trailing batch
                (last_delta,) = struct.unpack_from(">i", buf, pos + 23)
                offset = base_offset + last_delta + 1
                nbytes += 12 + batch_length
                pos += 12 + batch_length
        return offset, nbytes, time.perf_counter() - start


def consume_pass(b: Broker, how: str, topic: str, records: int, seg_bytes: int, seconds: float,
                 moto: Optional[MotoServer] = None) -> Dict[str, float]:
    m0 = tier_metrics(b)
    cpu0 = (cpu_of(b.pid), cpu_of(moto.proc.pid) if moto and moto.proc else None, time.process_time())
    if how == "raw":
        got, nbytes, secs = raw_fetch_all(b.bootstrap, topic, records, seconds)
        errors = 0
    else:
        got, nbytes, secs, errors = consume_all(b.bootstrap, topic, 1, records, seconds)
    cpu1 = (cpu_of(b.pid), cpu_of(moto.proc.pid) if moto and moto.proc else None, time.process_time())
    m1 = tier_metrics(b)
    d = {k: m1.get(k, 0) - m0.get(k, 0) for k in m1}
    cpu = {"broker_cpu_s": cpu1[0] - cpu0[0], "client_cpu_s": cpu1[2] - cpu0[2]}
    if cpu0[1] is not None and cpu1[1] is not None:
        cpu["moto_cpu_s"] = cpu1[1] - cpu0[1]
    return {**cpu,
        "segment_MB/s": mb(seg_bytes) / secs if got >= records else float("nan"),
        "seconds": secs,
        "records": float(got),
        "errors": float(errors),
        "remote_read_MB": mb(d.get("strata_tier_remote_read_bytes_total", 0)),
        "cache_hits": d.get("strata_tier_cache_hits_total", 0),
        "cache_misses": d.get("strata_tier_cache_misses_total", 0),
    }


def best_of(n: int, run: Callable[[], Dict[str, float]]) -> Dict[str, float]:
    """The fastest of n passes (warm passes only: a cold pass cannot be repeated cold)."""
    return max((run() for _ in range(n)), key=lambda r: r["segment_MB/s"])


def cold_restart(b: Broker) -> str:
    """Restart with the tier cache directory removed: memory and disk cache both cold."""
    b.stop()
    cache = b.data_dir / "tier-cache"
    note = "" if cache.exists() else f"no {cache} to empty"
    shutil.rmtree(cache, ignore_errors=True)
    b.start()
    return note


# -- CPU per GB --------------------------------------------------------------------------
def produce_1k(bootstrap: str, topic: str, partitions: int, megabytes: float, acks: str) -> Dict[str, float]:
    count = int(megabytes * 1_000_000 // 1024)
    r = produce_bulk(bootstrap, topic, partitions, 1024, count, acks, max_seconds=600)
    if r["errors"] or r["records"] < count:
        raise RuntimeError(f"produce: {r}")
    return r


def cpu_pass(b: Broker, megabytes: float, tiered: bool, settle_s: float = 0.0) -> Dict[str, float]:
    topic = unique_topic("tier-cpu")
    config = {"segment.bytes": str(CPU_SEGMENT)}
    if tiered:
        config["remote.storage.enable"] = "true"
    create_topic(b.bootstrap, topic, 6, config)
    uploaded0 = tier_metrics(b).get("strata_tier_uploaded_segments_total", 0)
    before = cpu_of(b.pid)
    t0 = time.monotonic()
    r = produce_1k(b.bootstrap, topic, 6, megabytes, "all")
    produced_at = time.monotonic()
    if tiered:
        sealed = sum(max(0, len(list((b.data_dir / f"{topic}-{p}").glob("*.log"))) - 1) for p in range(6))

        def caught_up() -> bool:
            m = tier_metrics(b)
            return (m.get("strata_tier_uploaded_segments_total", 0) - uploaded0 >= sealed
                    and m.get("strata_tier_upload_lag_bytes", 1) == 0)
        wait(f"{sealed} sealed segments uploaded", caught_up, 300)
    else:
        time.sleep(settle_s)
    after = cpu_of(b.pid)
    gb = r["bytes"] / 1e9
    return {"cpu_s": after - before, "GB": gb, "cpu_s_per_GB": (after - before) / gb,
            "produce_MB/s": mb(r["bytes"]) / (produced_at - t0), "settle_s": time.monotonic() - produced_at}


def median_run(runs: List[Dict[str, float]]) -> Dict[str, float]:
    """The run with the median CPU per GB."""
    return sorted(runs, key=lambda r: r["cpu_s_per_GB"])[len(runs) // 2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--megabytes", type=float, default=256.0, help="consume data volume")
    p.add_argument("--cpu-megabytes", type=float, default=1000.0, help="volume for CPU per GB")
    p.add_argument("--cpu-rounds", type=int, default=3, help="alternating CPU passes per broker (median kept)")
    p.add_argument("--segment-mb", type=int, default=8, help="segment.bytes of the consume topic, MiB")
    p.add_argument("--seconds", type=float, default=300.0, help="time bound per consume pass")
    p.add_argument("--quick", action="store_true", help="64 MB to consume, 300 MB for CPU")
    p.add_argument("--json", help="append results as JSON lines to this file")
    args = p.parse_args()
    if args.quick:
        args.megabytes, args.cpu_megabytes = min(args.megabytes, 64.0), min(args.cpu_megabytes, 300.0)

    results: List[Result] = []
    params = {"size_B": 1024, "MB": args.megabytes, "segment_MiB": args.segment_mb}
    cpu_params = {"size_B": 1024, "partitions": 6, "acks": "all", "MB": args.cpu_megabytes}
    moto = MotoServer()
    tiered = local = None
    cold: Dict[str, Dict[str, float]] = {}
    warm: Dict[str, Dict[str, float]] = {}
    loc: Dict[str, Dict[str, float]] = {}
    try:
        moto.start()
        tiered = Broker(overrides=OVERRIDES, extra_args=["--tier-url", moto.tier_url(PREFIX)], env=moto.env(),
                        name="strata-perf-tier")
        tiered.start()
        topic = unique_topic("tier-consume")
        create_topic(tiered.bootstrap, topic, 1, {
            "remote.storage.enable": "true", "segment.bytes": str(args.segment_mb << 20),
            "segment.ms": "2000", "local.retention.ms": "1000"})
        records = int(produce_1k(tiered.bootstrap, topic, 1, args.megabytes, "1")["records"])
        # segment.ms rolls the last data segment; the marker record after that roll makes sure an
        # fsync covers it (a roll on an idle log alone may leave it unsealed), and stays local.
        time.sleep(3.0)
        produce_bulk(tiered.bootstrap, topic, 1, 16, 1, "all", 30)
        took = wait("every record only in the bucket",
                    lambda: (offset_of(tiered.bootstrap, topic, 0, -5) >= records - 1
                             and offset_of(tiered.bootstrap, topic, 0, -4) >= records), 180)
        print(f"# {records} records tiered {took:.1f}s after the last ack", file=sys.stderr)

        objs = segment_objects(moto, topic)
        keys = [k for k, _ in objs]
        seg_bytes = sum(n for _, n in objs)
        gets_binary = plain_gets_binary()
        bases = [baseline(moto, keys, gets_binary)]
        for how in ("raw", "librdkafka"):
            note = cold_restart(tiered)
            cold[how] = consume_pass(tiered, how, topic, records, seg_bytes, args.seconds, moto)
            results.append(Result(f"tier/consume-cold-{how}", "strata", params, cold[how], notes=note))
        bases.append(baseline(moto, keys, gets_binary))
        # Each client's best run; CPU figures are those of the best object_store run.
        base = {k: max(b[k] for b in bases) for k in bases[0] if k.endswith("MB/s")}
        base.update({k: v for k, v in max(bases, key=lambda b: b.get("object_store_MB/s", 0)).items()
                     if k.endswith("cpu_s")})
        base_best = max(v for k, v in base.items() if k.endswith("MB/s"))
        results.insert(0, Result("tier/plain-gets", "moto_server", dict(params, objects=len(keys)),
                                 dict(base, **{"segment_MB/s": base_best})))
        for how in ("raw", "librdkafka"):
            warm[how] = best_of(2, lambda: consume_pass(tiered, how, topic, records, seg_bytes, args.seconds))
            results.append(Result(f"tier/consume-warm-{how}", "strata", params, warm[how]))

        local = Broker(overrides={"log.retention.check.interval.ms": 200}, name="strata-perf-local")
        local.start()
        # CPU per GB swings 2x from run to run on a shared 2-core VM: alternate the two brokers
        # (both running, one idle at a time) and compare medians.
        tier_runs: List[Dict[str, float]] = []
        plain_runs: List[Dict[str, float]] = []
        for _ in range(args.cpu_rounds):
            tier_runs.append(cpu_pass(tiered, args.cpu_megabytes, tiered=True))
            plain_runs.append(cpu_pass(local, args.cpu_megabytes, tiered=False, settle_s=tier_runs[-1]["settle_s"]))
        cpu_tier, cpu_plain = median_run(tier_runs), median_run(plain_runs)
        results.append(Result("tier/cpu-per-GB", "strata+tier", cpu_params,
                              cpu_tier, notes="runs: " + " ".join(f"{r['cpu_s_per_GB']:.2f}" for r in tier_runs)))
        results.append(Result("tier/cpu-per-GB", "strata", cpu_params,
                              cpu_plain, notes="runs: " + " ".join(f"{r['cpu_s_per_GB']:.2f}" for r in plain_runs)))
        tiered.stop()

        ltopic = unique_topic("local-consume")
        create_topic(local.bootstrap, ltopic, 1, {"segment.bytes": str(args.segment_mb << 20)})
        produce_1k(local.bootstrap, ltopic, 1, args.megabytes, "1")
        for how in ("raw", "librdkafka"):
            loc[how] = best_of(2, lambda: consume_pass(local, how, ltopic, records, seg_bytes, args.seconds))
            results.append(Result(f"tier/consume-local-disk-{how}", "strata", params, loc[how]))
    finally:
        for x in (tiered, local):
            if x is not None:
                x.cleanup()
        moto.cleanup()

    print_table(results)
    ratios = {}
    for how in ("raw", "librdkafka"):
        if "object_store_MB/s" in base:
            ratios[f"cold {how} consume / plain object_store gets (bar >= 0.50)"] = \
                cold[how]["segment_MB/s"] / base["object_store_MB/s"]
        ratios[f"cold {how} consume / fastest plain gets of any client"] = cold[how]["segment_MB/s"] / base_best
    for how in ("raw", "librdkafka"):
        ratios[f"warm {how} consume / local-disk {how} consume (bar >= 0.80)"] = \
            warm[how]["segment_MB/s"] / loc[how]["segment_MB/s"]
    ratios["CPU per GB with / without tiering (bar <= 1.10)"] = cpu_tier["cpu_s_per_GB"] / cpu_plain["cpu_s_per_GB"]
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}")
    if args.json:
        with open(args.json, "a") as f:
            for r in results:
                f.write(json.dumps(r.__dict__) + "\n")
            f.write(json.dumps({"bench": "tier/ratios", "target": "strata", "params": params, "metrics": ratios,
                                "notes": ""}) + "\n")


if __name__ == "__main__":
    main()
