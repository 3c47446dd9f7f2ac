#!/usr/bin/env python3
"""Web console API answer times with many topics and partitions (figures only).

Starts Strata, creates --topics topics of --per-topic partitions (default 1,000 x 10 = 10,000
partitions), produces one record to every partition, commits offsets for one group, then times
--requests GETs of each JSON route a console page loads: the topic list (sizes and offsets of
every partition), the overview (polled every 2 s), the group list, a group's lag and one page of
messages. The budget the issue states is a page answering in under 300 ms at 1,000 topics and
10,000 partitions; this script prints the figures and decides nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Result, print_table  # noqa: E402
from metrics_scrape import commit_groups, create_topics, fill  # noqa: E402
from strata_harness import Broker  # noqa: E402


def timed(session: requests.Session, url: str, n: int) -> dict:
    session.get(url, timeout=60).raise_for_status()  # warm
    times = []
    size = 0
    for _ in range(n):
        t0 = time.perf_counter()
        r = session.get(url, timeout=60)
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
        size = len(r.content)
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[max(0, int(len(times) * 0.95) - 1)],
            "max_ms": times[-1], "body_KiB": size / 1024}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--topics", type=int, default=1000)
    p.add_argument("--per-topic", type=int, default=10)
    p.add_argument("--requests", type=int, default=20)
    args = p.parse_args()
    broker = Broker(name="strata-console-perf").start()
    results = []
    try:
        names = create_topics(broker.bootstrap, args.topics, args.per_topic)
        fill(broker.bootstrap, names, args.per_topic)
        commit_groups(broker.bootstrap, names[0], args.per_topic, 1)
        s = requests.Session()
        base = broker.admin_url
        cluster = s.get(f"{base}/console/api/whoami", timeout=30).json()["cluster_id"]
        routes = {
            "topics": "/console/api/topics",
            "overview": "/console/api/overview",
            "groups": f"/console/rest/v3/clusters/{cluster}/consumer-groups",
            "group lag": f"/console/rest/v3/clusters/{cluster}/consumer-groups/scrape-group-0/lags",
            "messages": f"/console/api/topics/{names[0]}/partitions/0/messages?offset=earliest&max_records=50",
        }
        params = {"topics": args.topics, "partitions": args.topics * args.per_topic}
        for name, path in routes.items():
            results.append(Result(f"console {name}", "strata", params, timed(s, base + path, args.requests)))
    finally:
        broker.cleanup()
    print_table(results)


if __name__ == "__main__":
    main()
