#!/usr/bin/env python3
"""Broker resident memory: idle, and with 500 idle client connections.

Each connection is a raw socket that completed one ApiVersions v3 round trip
and then stays open doing nothing. RSS comes from /proc/PID/status (VmRSS).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import kafka_wire as kw  # noqa: E402
from common import Result, parser, rss_of, run  # noqa: E402


def bench(target, args):
    if not target.pid:
        return [Result("rss", target.label, {}, {}, notes="no broker pid (pass --pid)")]
    time.sleep(args.settle)
    idle = rss_of(target.pid)
    socks = []
    try:
        for i in range(args.connections):
            s = kw.connect(target.bootstrap)
            s.sendall(kw.api_versions_request(3, i))
            corr, _ = kw.read_response(s)
            assert corr == i
            socks.append(s)
        time.sleep(args.settle)
        with_conns = rss_of(target.pid)
    finally:
        for s in socks:
            s.close()
    return [Result("rss", target.label, {"connections": args.connections}, {
        "idle_MiB": idle / 2**20,
        "with_conns_MiB": with_conns / 2**20,
        "per_conn_KiB": (with_conns - idle) / 1024 / max(1, args.connections),
    })]


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--connections", type=int, default=500)
    p.add_argument("--settle", type=float, default=2.0, help="seconds to wait before each reading")
    run(p.parse_args(), bench)
