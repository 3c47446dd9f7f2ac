#!/usr/bin/env python3
"""What a topic's compression.type costs: broker CPU seconds per GB of record values produced by
confluent-kafka with lz4 (1 KiB values, half random and half repeated text, so that codecs have
something to do; 6 partitions, acks=all) into topics whose compression.type is `producer` (stored
as sent, the fast path), `lz4` (the producer's codec: also stored as sent), and `uncompressed`,
`snappy`, `gzip` and `zstd` (each batch decompressed and recompressed once on append). One broker,
topics in turn. The ratio column is against `producer`.
"""

from __future__ import annotations

import os

from common import Result, cpu_of, create_topic, mb, overrides_of, parser, report, produce_bulk, unique_topic
from strata_harness import Broker

TOPIC_CODECS = ["producer", "lz4", "uncompressed", "snappy", "gzip", "zstd"]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--megabytes", type=float, default=300.0)
    p.add_argument("--seconds", type=float, default=30.0)
    args = p.parse_args()
    if args.quick:
        args.megabytes = min(args.megabytes, 60.0)
    size = 1024
    payload = os.urandom(size // 2) + (b"strata-recompress-" * 64)[: size - size // 2]
    count = int(args.megabytes * 1_000_000 // size)
    b = Broker(name="strata-perf-recompress", overrides=overrides_of(args))
    results = []
    try:
        b.start()
        for codec in TOPIC_CODECS:
            topic = unique_topic(f"recompress-{codec}")
            create_topic(b.bootstrap, topic, 6, config={"compression.type": codec})
            before = cpu_of(b.pid)
            r = produce_bulk(b.bootstrap, topic, 6, size, count, "all", args.seconds,
                             extra={"compression.codec": "lz4", "linger.ms": 5}, payload=payload)
            cpu = cpu_of(b.pid) - before
            gb = r["bytes"] / 1e9
            results.append(Result("recompress_cpu", "strata", {"producer_codec": "lz4", "topic_codec": codec}, {
                "MB/s": mb(r["bytes"]) / r["seconds"],
                "cpu_s_per_GB": cpu / gb if gb else float("nan"),
                "errors": float(r["errors"]),
            }))
    finally:
        b.cleanup()
    base = results[0].metrics["cpu_s_per_GB"]
    for r in results:
        r.metrics["cpu_vs_producer"] = r.metrics["cpu_s_per_GB"] / base
    report(results, args.json)


if __name__ == "__main__":
    main()
