#!/usr/bin/env python3
"""Produce throughput with confluent-kafka (librdkafka 2.16).

Record sizes 100 B, 1 KiB, 64 KiB; 1 and 6 partitions; acks=1 and acks=all.
Client settings are librdkafka's defaults (linger.ms 5, no compression) apart
from a larger local queue. Each case is bounded by a record count and a time.
Reports MB/s (1 MB = 10^6 bytes of record values) and records/s.
"""

from __future__ import annotations

import itertools

from common import Result, create_topic, mb, parser, produce_bulk, run, unique_topic

SIZES = [100, 1024, 65536]
PARTITIONS = [1, 6]
ACKS = ["1", "all"]


def bench(target, args):
    out = []
    budget_bytes = (32 if args.quick else 256) * 1_000_000
    max_records = 50_000 if args.quick else 400_000
    for size, parts, acks in itertools.product(args.sizes, args.partitions, args.acks):
        count = max(1000, min(max_records, budget_bytes // size))
        params = {"size_B": size, "partitions": parts, "acks": acks}
        try:
            topic = unique_topic(f"prod-{size}-{parts}")
            create_topic(target.bootstrap, topic, parts)
            r = produce_bulk(target.bootstrap, topic, parts, size, count, acks, args.seconds)
            out.append(Result("produce", target.label, params, {
                "MB/s": mb(r["bytes"]) / r["seconds"],
                "records/s": r["records"] / r["seconds"],
                "records": float(r["records"]),
                "errors": float(r["errors"]),
            }))
        except Exception as e:
            out.append(Result("produce", target.label, params, {}, notes=f"failed: {type(e).__name__}: {e}"[:200]))
    return out


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    p.add_argument("--partitions", type=int, nargs="+", default=PARTITIONS)
    p.add_argument("--acks", nargs="+", default=ACKS)
    p.add_argument("--seconds", type=float, default=10.0, help="time bound per case")
    run(p.parse_args(), bench)
