#!/usr/bin/env python3
"""Tiered storage against the issue's bar, with moto_server as the object store.

All in one run, one broker at a time (the machine has few cores):

1. cold tiered consume vs plain gets. A 1-partition topic of 1 KiB records is produced to a
   broker with `--tier-url s3://...` (moto_server), rolled by segment.ms and local retention
   until every record lives only in the bucket (ListOffsets -4 == log end, -5 == log end - 1).
   The broker is restarted with its tier cache directory removed (cold memory and disk cache).
   Baseline: the partition's `.log` objects read whole and in order from the same moto_server,
   once with boto3 `get_object` (signed, as object_store signs) and once with presigned URLs over
   one keep-alive http.client connection (the cheapest client); the faster of the two is the baseline, measured
   before and after the consume, best kept. Then one confluent-kafka consumer reads the topic
   from offset 0 with librdkafka's default fetch settings. Both are reported as segment bytes
   per second (the sum of the `.log` object sizes over the elapsed time), so the ratio compares
   the same bytes. Bar: consume >= 50% of the baseline.
2. warm tiered consume vs local disk. The same topic read again from 0 (served from the cache:
   the strata_tier_remote_read_bytes_total delta shows whether it was), against the same records
   produced to a broker without tiering and consumed from 0 there (page cache warm). Bar: >= 80%.
3. CPU per GB produced. 1 KiB records, 6 partitions, acks=all, on both brokers; broker
   utime+stime from /proc from the first record until the uploads caught up (upload lag 0), and
   for the broker without tiering over the same wall time. Bar: tiering adds <= 10%.

Prints a table and the three ratios; never pass/fail. Volumes: --megabytes (consume data) and
--cpu-megabytes; --quick shrinks both.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import time
from typing import Dict, List, Tuple

# common puts compat-tests/ on sys.path (moto, strata_harness, test_tiering).
from common import Result, cpu_of, create_topic, mb, print_table, produce_bulk, unique_topic
from consume_throughput import consume_all
from moto import MotoServer
from strata_harness import Broker

PREFIX = "perf"
OVERRIDES = {
    "remote.log.manager.task.interval.ms": 200,
    "log.retention.check.interval.ms": 200,
    "strata.remote.internal.roll.ms": 500,
}


def list_offset(bootstrap: str, topic: str, partition: int, timestamp: int) -> int:
    """ListOffsets v9 by hand (for -4 and -5); see test_tiering.py."""
    from test_tiering import offset_of

    return offset_of(bootstrap, topic, partition, timestamp)


def tier_metrics(b: Broker) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for line in b.metrics().splitlines():
        if line.startswith("strata_tier_"):
            head, _, value = line.rpartition(" ")
            name = head.split("{", 1)[0]
            out[name] = out.get(name, 0.0) + float(value)
    return out


def wait(what: str, cond, timeout: float, interval: float = 0.5) -> float:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"{what}: not within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - start


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


def baseline(moto: MotoServer, keys: List[str]) -> Dict[str, float]:
    n1, s1 = get_boto3(moto, keys)
    n2, s2 = get_raw(moto, keys)
    return {"boto3_MB/s": mb(n1) / s1, "raw_get_MB/s": mb(n2) / s2}


def produce_1k(bootstrap: str, topic: str, partitions: int, megabytes: float, acks: str) -> Dict[str, float]:
    count = int(megabytes * 1_000_000 // 1024)
    r = produce_bulk(bootstrap, topic, partitions, 1024, count, acks, max_seconds=600)
    if r["errors"] or r["records"] < count:
        raise RuntimeError(f"produce: {r}")
    return r


def consume_pass(b: Broker, topic: str, records: int, seg_bytes: int, seconds: float) -> Dict[str, float]:
    m0 = tier_metrics(b)
    got, nbytes, secs, errors = consume_all(b.bootstrap, topic, 1, records, seconds)
    m1 = tier_metrics(b)
    d = {k: m1.get(k, 0) - m0.get(k, 0) for k in m1}
    return {
        "segment_MB/s": mb(seg_bytes) / secs if got >= records else float("nan"),
        "value_MB/s": mb(nbytes) / secs,
        "seconds": secs,
        "records": float(got),
        "errors": float(errors),
        "remote_read_MB": mb(d.get("strata_tier_remote_read_bytes_total", 0)),
        "cache_hits": d.get("strata_tier_cache_hits_total", 0),
        "cache_misses": d.get("strata_tier_cache_misses_total", 0),
    }


def cpu_pass(b: Broker, megabytes: float, tiered: bool, settle_s: float = 0.0) -> Dict[str, float]:
    """CPU from before the first record until uploads caught up (tiered) or settle_s after the last ack."""
    topic = unique_topic("tier-cpu")
    config = {"segment.bytes": str(16 << 20)}
    if tiered:
        config["remote.storage.enable"] = "true"
    create_topic(b.bootstrap, topic, 6, config)
    before = cpu_of(b.pid)
    t0 = time.monotonic()
    r = produce_1k(b.bootstrap, topic, 6, megabytes, "all")
    produced_at = time.monotonic()
    if tiered:
        wait("uploads caught up", lambda: tier_metrics(b).get("strata_tier_upload_lag_bytes", 1) == 0, 300)
    else:
        time.sleep(settle_s)
    after = cpu_of(b.pid)
    gb = r["bytes"] / 1e9
    return {"cpu_s": after - before, "GB": gb, "cpu_s_per_GB": (after - before) / gb,
            "produce_MB/s": mb(r["bytes"]) / (produced_at - t0), "settle_s": time.monotonic() - produced_at}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--megabytes", type=float, default=256.0, help="consume data volume")
    p.add_argument("--cpu-megabytes", type=float, default=512.0, help="volume for CPU per GB")
    p.add_argument("--segment-mb", type=int, default=8, help="segment.bytes of the consume topic, MiB")
    p.add_argument("--seconds", type=float, default=300.0, help="time bound per consume pass")
    p.add_argument("--quick", action="store_true", help="64 MB and 128 MB")
    p.add_argument("--json", help="append results as JSON lines to this file")
    args = p.parse_args()
    if args.quick:
        args.megabytes, args.cpu_megabytes = min(args.megabytes, 64.0), min(args.cpu_megabytes, 128.0)

    results: List[Result] = []
    params = {"size_B": 1024, "MB": args.megabytes, "segment_MiB": args.segment_mb}
    moto = MotoServer()
    tiered = local = None
    try:
        moto.start()
        tiered = Broker(overrides=OVERRIDES, extra_args=["--tier-url", moto.tier_url(PREFIX)], env=moto.env(),
                        name="strata-perf-tier")
        tiered.start()
        topic = unique_topic("tier-consume")
        create_topic(tiered.bootstrap, topic, 1, {
            "remote.storage.enable": "true", "segment.bytes": str(args.segment_mb << 20),
            "segment.ms": "2000", "local.retention.bytes": str(1 << 20)})
        pre = produce_1k(tiered.bootstrap, topic, 1, args.megabytes, "1")
        records = int(pre["records"])

        def fully_tiered() -> bool:
            end = list_offset(tiered.bootstrap, topic, 0, -1)
            return (list_offset(tiered.bootstrap, topic, 0, -5) == end - 1
                    and list_offset(tiered.bootstrap, topic, 0, -4) == end)
        took = wait("every record only in the bucket", fully_tiered, 600)
        print(f"# {records} records tiered {took:.1f}s after the last ack", file=sys.stderr)

        # Cold: a restart empties the memory cache, removing the directory empties the disk cache.
        tiered.stop()
        cache = tiered.data_dir / "tier-cache"
        cache_note = "" if cache.exists() else f"no {cache} to empty"
        shutil.rmtree(cache, ignore_errors=True)
        tiered.start()

        objs = segment_objects(moto, topic)
        keys = [k for k, _ in objs]
        seg_bytes = sum(n for _, n in objs)
        base1 = baseline(moto, keys)
        cold = consume_pass(tiered, topic, records, seg_bytes, args.seconds)
        base2 = baseline(moto, keys)
        base = {k: max(base1[k], base2[k]) for k in base1}
        base_best = max(base.values())
        results.append(Result("tier/plain-gets", "moto_server", dict(params, objects=len(keys)),
                              dict(base, **{"segment_MB/s": base_best})))
        results.append(Result("tier/consume-cold", "strata", params, cold, notes=cache_note))
        warm = consume_pass(tiered, topic, records, seg_bytes, args.seconds)
        results.append(Result("tier/consume-warm", "strata", params, warm))

        cpu_tier = cpu_pass(tiered, args.cpu_megabytes, tiered=True)
        results.append(Result("tier/cpu-per-GB", "strata+tier", {"size_B": 1024, "partitions": 6, "acks": "all"},
                              cpu_tier))
        tiered.stop()

        local = Broker(overrides={"log.retention.check.interval.ms": 200}, name="strata-perf-local")
        local.start()
        ltopic = unique_topic("local-consume")
        create_topic(local.bootstrap, ltopic, 1, {"segment.bytes": str(args.segment_mb << 20)})
        produce_1k(local.bootstrap, ltopic, 1, args.megabytes, "1")
        loc = consume_pass(local, ltopic, records, seg_bytes, args.seconds)
        results.append(Result("tier/consume-local-disk", "strata", params, loc))
        cpu_plain = cpu_pass(local, args.cpu_megabytes, tiered=False, settle_s=cpu_tier["settle_s"])
        results.append(Result("tier/cpu-per-GB", "strata", {"size_B": 1024, "partitions": 6, "acks": "all"},
                              cpu_plain))
    finally:
        for x in (tiered, local):
            if x is not None:
                x.cleanup()
        moto.cleanup()

    print_table(results)
    ratios = {
        "cold consume / plain gets (bar >= 0.50)": cold["segment_MB/s"] / base_best,
        "warm consume / local-disk consume (bar >= 0.80)": warm["segment_MB/s"] / loc["segment_MB/s"],
        "CPU per GB with / without tiering (bar <= 1.10)": cpu_tier["cpu_s_per_GB"] / cpu_plain["cpu_s_per_GB"],
    }
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
