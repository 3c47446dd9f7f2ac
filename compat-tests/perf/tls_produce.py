#!/usr/bin/env python3
"""Produce throughput over PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-512) with confluent-kafka.

1 KiB records, 6 partitions, acks=all, librdkafka's defaults otherwise (as produce_throughput.py).
One Strata with the three listeners (a test CA and server certificate from secutil.Pki, the
first admin user for the SASL login); each protocol produces to its own topic, in turn.
Reports MB/s, records/s and broker CPU seconds per GB of record values; the note of issue #11
asks that TLS keep at least 70% of plaintext throughput.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import Result, cpu_of, create_topic, mb, overrides_of, parser, report, produce_bulk, unique_topic

from secutil import ADMIN_PASSWORD, ADMIN_USER, Login, Pki, SecureBroker, ck_conf

PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_SSL"]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=10.0, help="time bound per protocol")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--protocols", nargs="+", default=PROTOCOLS)
    args = p.parse_args()
    budget = (32 if args.quick else 256) * 1_000_000
    count = max(1000, min(400_000, budget // args.size))
    work = Path(tempfile.mkdtemp(prefix="perf-tls-"))
    pki = Pki(work / "pki")
    b = SecureBroker({"SSL": "SSL", "SASL_SSL": "SASL_SSL"}, pki=pki, workdir=work / "broker",
                     name="strata-perf-tls", overrides=overrides_of(args))
    results = []
    try:
        b.start()
        for proto in args.protocols:
            who = Login("SCRAM-SHA-512", ADMIN_USER, ADMIN_PASSWORD) if proto == "SASL_SSL" else None
            conf = ck_conf(b, proto, who)
            bootstrap = conf.pop("bootstrap.servers")
            topic = unique_topic(f"tls-{proto.lower()}")
            create_topic(b.bootstrap, topic, args.partitions)
            cpu0 = cpu_of(b.pid)
            r = produce_bulk(bootstrap, topic, args.partitions, args.size, count, "all", args.seconds, extra=conf)
            cpu = cpu_of(b.pid) - cpu0
            gb = r["bytes"] / 1e9
            results.append(Result("tls_produce", "strata", {"protocol": proto, "size_B": args.size,
                                                            "partitions": args.partitions, "acks": "all"}, {
                "MB/s": mb(r["bytes"]) / r["seconds"],
                "records/s": r["records"] / r["seconds"],
                "broker_cpu_s_per_GB": cpu / gb if gb else float("nan"),
                "errors": float(r["errors"]),
            }))
    finally:
        b.cleanup()
    base = next((r.metrics["MB/s"] for r in results if r.params["protocol"] == "PLAINTEXT"), None)
    for r in results:
        if base:
            r.metrics["vs_plaintext"] = r.metrics["MB/s"] / base
    report(results, args.json)


if __name__ == "__main__":
    main()
