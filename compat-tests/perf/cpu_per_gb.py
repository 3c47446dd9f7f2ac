#!/usr/bin/env python3
"""Broker CPU seconds per GB produced: 1 KiB records, 6 partitions, acks=all.

utime+stime of the broker process from /proc/PID/stat, read right before the
first record and right after the last acknowledgement; divided by the record
value bytes produced (1 GB = 10^9 bytes). The run is bounded by bytes and time.
"""

from __future__ import annotations

from common import Result, cpu_of, create_topic, mb, parser, produce_bulk, run, unique_topic


def bench(target, args):
    if not target.pid:
        return [Result("cpu/GB", target.label, {}, {}, notes="no broker pid (pass --pid)")]
    topic = unique_topic("cpu")
    create_topic(target.bootstrap, topic, 6)
    size = 1024
    count = int(args.megabytes * 1_000_000 // size)
    before = cpu_of(target.pid)
    r = produce_bulk(target.bootstrap, topic, 6, size, count, "all", args.seconds)
    after = cpu_of(target.pid)
    gb = r["bytes"] / 1e9
    cpu = after - before
    return [Result("cpu/GB", target.label, {"size_B": size, "partitions": 6, "acks": "all"}, {
        "cpu_s": cpu,
        "GB": gb,
        "cpu_s_per_GB": cpu / gb if gb else float("nan"),
        "MB/s": mb(r["bytes"]) / r["seconds"],
        "errors": float(r["errors"]),
    })]


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--megabytes", type=float, default=1000.0, help="volume to produce")
    p.add_argument("--seconds", type=float, default=30.0, help="time bound")
    args = p.parse_args()
    if args.quick:
        args.megabytes = min(args.megabytes, 200.0)
    run(args, bench)
