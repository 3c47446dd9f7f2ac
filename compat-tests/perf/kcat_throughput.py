#!/usr/bin/env python3
"""Produce and consume throughput with kcat (the system librdkafka).

Produce: `kcat -P` reading a file of newline-separated 1 KiB records (stdin).
Consume: `kcat -C -e -o beginning` until the end of every partition; the output
format prints one byte per record so the count is checked without moving the
payload through a pipe. Both timed with a wall clock; bounded by a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

from common import Result, create_topic, mb, parser, run, unique_topic


def bench(target, args):
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not kcat:
        return [Result("kcat", target.label, {}, {}, notes="kcat not installed")]
    size = args.size
    count = int(args.megabytes * 1_000_000 // size)
    out = []
    with tempfile.NamedTemporaryFile(prefix="kcat-perf-", delete=False) as f:
        line = os.urandom(size).hex()[: size - 1].encode() + b"\n"
        for _ in range(count):
            f.write(line)
        path = f.name
    try:
        for parts in args.partitions:
            for acks in args.acks:
                params = {"size_B": size, "partitions": parts, "acks": acks}
                topic = unique_topic(f"kcat-{parts}")
                create_topic(target.bootstrap, topic, parts)
                start = time.perf_counter()
                with open(path, "rb") as stdin:
                    p = subprocess.run([kcat, "-P", "-b", target.bootstrap, "-t", topic,
                                        "-X", f"acks={acks}"], stdin=stdin, capture_output=True,
                                       timeout=args.timeout)
                secs = time.perf_counter() - start
                if p.returncode != 0:
                    out.append(Result("kcat produce", target.label, params, {},
                                      notes=f"exit {p.returncode}: {p.stderr[-200:]!r}"))
                    continue
                out.append(Result("kcat produce", target.label, params, {
                    "MB/s": mb(count * size) / secs, "records/s": count / secs}))
                start = time.perf_counter()
                try:
                    c = subprocess.run([kcat, "-C", "-b", target.bootstrap, "-t", topic, "-e", "-o", "beginning",
                                        "-q", "-f", "x"], capture_output=True, timeout=args.timeout)
                    secs = time.perf_counter() - start
                    got = len(c.stdout)
                    out.append(Result("kcat consume", target.label, {"size_B": size, "partitions": parts}, {
                        "MB/s": mb(got * size) / secs, "records/s": got / secs, "records": float(got)},
                        notes="" if got == count else f"read {got} of {count}"))
                except subprocess.TimeoutExpired:
                    out.append(Result("kcat consume", target.label, {"size_B": size, "partitions": parts}, {},
                                      notes=f"timeout {args.timeout}s"))
    finally:
        os.unlink(path)
    return out


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--megabytes", type=float, default=100.0)
    p.add_argument("--partitions", type=int, nargs="+", default=[1, 6])
    p.add_argument("--acks", nargs="+", default=["all"])
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args()
    if args.quick:
        args.megabytes = min(args.megabytes, 20.0)
    run(args, bench)
