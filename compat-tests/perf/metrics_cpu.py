#!/usr/bin/env python3
"""What the metrics cost the produce path (issue #12 asks under 2% of produce CPU per GB):
confluent-kafka produces 1 KiB records to 6 partitions with acks=all while `/metrics` is
scraped every `--scrape-interval` seconds (1 s by default, fifteen times Prometheus's usual
rate), and Linux `perf` samples the broker. The figure is the share of the broker's samples in
metrics code: Strata's `metrics` module (per-request counters and histograms, per-topic traffic,
the scrape itself) and the `prometheus` crate. A share of samples is what load on a busy
machine does not distort. Broker CPU seconds per GB are reported beside it.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import requests

from common import Result, cpu_of, create_topic, mb, overrides_of, parser, produce_bulk, report, unique_topic
from profiling import start_sampling, stop_sampling
from strata_harness import Broker

METRICS_CODE = ["strata_broker::metrics", "prometheus::"]


def scrape_until(stop: threading.Event, url: str, interval: float, counts: list) -> None:
    while not stop.wait(interval):
        r = requests.get(url, timeout=10)
        r.raise_for_status()
        counts.append(len(r.content))


def run_once(args, work: Path, round_no: int, count: int) -> Result:
    b = Broker(name=f"strata-perf-metrics-{round_no}", overrides=overrides_of(args))
    try:
        b.start()
        topic = unique_topic("metrics-cpu")
        create_topic(b.bootstrap, topic, args.partitions)
        profile = work / f"round-{round_no}.perf"
        sampler = start_sampling(b.pid, profile)
        stop, scrapes = threading.Event(), []
        scraper = threading.Thread(target=scrape_until,
                                   args=(stop, f"{b.admin_url}/metrics", args.scrape_interval, scrapes))
        scraper.start()
        cpu0 = cpu_of(b.pid)
        r = produce_bulk(b.bootstrap, topic, args.partitions, args.size, count, "all", args.seconds)
        cpu = cpu_of(b.pid) - cpu0
        stop.set()
        scraper.join(timeout=30)
        share = stop_sampling(sampler, profile, METRICS_CODE)
        gb = r["bytes"] / 1e9
        return Result("metrics_cpu", "strata", {"round": round_no, "size_B": args.size,
                                                "partitions": args.partitions,
                                                "scrape_every_s": args.scrape_interval},
                      {"MB/s": mb(r["bytes"]) / r["seconds"],
                       "broker_cpu_s_per_GB": cpu / gb if gb else float("nan"),
                       "scrapes": float(len(scrapes)),
                       "metrics_share_of_samples": share,
                       "errors": float(r["errors"])})
    finally:
        b.cleanup()


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=20.0, help="time bound per round")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--scrape-interval", type=float, default=1.0)
    args = p.parse_args()
    if shutil.which("perf") is None:
        p.error("needs Linux perf (apt-get install linux-perf)")
    count = max(1000, min(1_000_000, (64 if args.quick else 512) * 1_000_000 // args.size))
    work = Path(tempfile.mkdtemp(prefix="perf-metrics-"))
    results = [run_once(args, work, n, count) for n in range(args.rounds)]
    shares = sorted(r.metrics["metrics_share_of_samples"] for r in results)
    results.append(Result("metrics_cpu", "strata", {"round": "median", "size_B": args.size,
                                                    "partitions": args.partitions,
                                                    "scrape_every_s": args.scrape_interval},
                          {"metrics_share_of_samples": shares[len(shares) // 2]}))
    report(results, args.json)


if __name__ == "__main__":
    main()
