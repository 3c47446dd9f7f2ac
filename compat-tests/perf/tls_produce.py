#!/usr/bin/env python3
"""Produce throughput over PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-512) with confluent-kafka.

1 KiB records, 6 partitions, acks=all, librdkafka's defaults otherwise (as produce_throughput.py).
One Strata with the three listeners (a test CA and server certificate from secutil.Pki, the
first admin user for the SASL login); each protocol produces to its own topic, in turn.
Reports MB/s, records/s and broker CPU seconds per GB of record values; the note of issue #11
asks that TLS keep at least 70% of plaintext throughput.

Client and broker share this machine's cores, so the client's own cost is reported too: the
CPU seconds per GB of this process (librdkafka runs in it) and its write(2) calls per MB
(/proc/self/io). librdkafka hands OpenSSL one SSL_write per buffer segment, and a record's
payload that is not copied into the request buffer is a segment of its own: over SSL it sends
a TLS record (and a syscall) per ~1 KiB payload and per small header segment, where over
PLAINTEXT one sendmsg takes the whole request. Measured on 2 cores (session 13): 327 writes
per 300 MB plaintext, 175,794 over SSL; client 5.6 -> 10.8 s/GB.
"""

from __future__ import annotations

import os
import resource
import tempfile
from pathlib import Path

from common import Result, cpu_of, create_topic, mb, overrides_of, parser, report, produce_bulk, unique_topic

from secutil import ADMIN_PASSWORD, ADMIN_USER, Login, Pki, SecureBroker, ck_conf

PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_SSL"]


def own_cpu() -> float:
    """CPU seconds of this process: the Python client and librdkafka's threads."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def own_writes() -> int:
    """write(2)-family calls this process has made (`syscw` of /proc/self/io)."""
    with open(f"/proc/{os.getpid()}/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("syscw:"))


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
            cpu0, own0, writes0 = cpu_of(b.pid), own_cpu(), own_writes()
            r = produce_bulk(bootstrap, topic, args.partitions, args.size, count, "all", args.seconds, extra=conf)
            cpu = cpu_of(b.pid) - cpu0
            own, writes = own_cpu() - own0, own_writes() - writes0
            gb = r["bytes"] / 1e9
            results.append(Result("tls_produce", "strata", {"protocol": proto, "size_B": args.size,
                                                            "partitions": args.partitions, "acks": "all"}, {
                "MB/s": mb(r["bytes"]) / r["seconds"],
                "records/s": r["records"] / r["seconds"],
                "broker_cpu_s_per_GB": cpu / gb if gb else float("nan"),
                "client_cpu_s_per_GB": own / gb if gb else float("nan"),
                "client_writes_per_MB": writes / (gb * 1000) if gb else float("nan"),
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
