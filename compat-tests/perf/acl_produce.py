#!/usr/bin/env python3
"""What the ACL authorizer costs the produce path: broker CPU seconds per GB of record values
produced over SASL_PLAINTEXT by a user who is not a super user, with no authorizer at all
against the authorizer on and 10,000 ACLs loaded (literal and prefixed topic ACLs of other
users, group ACLs, and the producer's own PREFIXED WRITE among them). confluent-kafka, 1 KiB
records, 6 partitions, acks=all; the two brokers run in turn, `--rounds` times each, so that a
busy machine disturbs both alike. Issue #11 asks that authorization cost at most 2% of produce
CPU per GB.

On a busy machine the A/B difference drowns in noise; `--profile` (needs Linux `perf`) also
samples the broker during the ACL run and reports the share of its CPU samples spent in the
authorizer (`strata_governance` symbols), a figure that load does not distort.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from common import Result, cpu_of, mb, overrides_of, parser, report, produce_bulk, unique_topic
from profiling import start_sampling, stop_sampling

from secutil import (ADMIN_PASSWORD, ADMIN_USER, Login, SecureBroker, acl, ck_conf, create_acls,
                     upsert_scram_users)

USER, PASSWORD = "producer", "producer-secret"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def other_acls(n: int) -> list:
    """n bindings that do not name the producer: a third literal topics, a third prefixed
    topics, a third groups, spread over 100 principals."""
    out = []
    for i in range(n):
        who = f"User:u{i % 100}"
        if i % 3 == 0:
            out.append(acl("TOPIC", f"lit-{i}", who, "READ"))
        elif i % 3 == 1:
            out.append(acl("TOPIC", f"pre-{i}-", who, "WRITE", pattern="PREFIXED"))
        else:
            out.append(acl("GROUP", f"g-{i}", who, "READ"))
    return out


def run_one(with_acls: bool, args, work: Path, round_no: int, count: int) -> Result:
    overrides = {"authorizer.class.name": AUTHORIZER} if with_acls else {}
    name = f"acl-{'on' if with_acls else 'off'}-{round_no}"
    b = SecureBroker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, workdir=work / name, name=f"strata-perf-{name}",
                     overrides={**overrides, **overrides_of(args)})
    try:
        b.start()
        admin_conf = ck_conf(b, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", ADMIN_USER, ADMIN_PASSWORD))
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(admin_conf)
        upsert_scram_users(admin, {USER: PASSWORD}, mechanisms=("SCRAM-SHA-256",))
        topic = unique_topic("acl-perf")
        admin.create_topics([NewTopic(topic, args.partitions, 1)])[topic].result(timeout=30)
        if with_acls:
            bindings = other_acls(args.acls - 1) + [acl("TOPIC", "perf-acl-perf-", f"User:{USER}", "WRITE",
                                                        pattern="PREFIXED")]
            for i in range(0, len(bindings), 1000):
                create_acls(admin, bindings[i:i + 1000], timeout=60)
        conf = ck_conf(b, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", USER, PASSWORD))
        bootstrap = conf.pop("bootstrap.servers")
        profile = work / f"{name}.perf" if args.profile and with_acls else None
        sampler = start_sampling(b.pid, profile) if profile else None
        cpu0 = cpu_of(b.pid)
        r = produce_bulk(bootstrap, topic, args.partitions, args.size, count, "all", args.seconds, extra=conf)
        cpu = cpu_of(b.pid) - cpu0
        share = stop_sampling(sampler, profile, ["strata_governance"]) if sampler else None
        gb = r["bytes"] / 1e9
        return Result("acl_produce", "strata", {"acls": args.acls if with_acls else 0, "round": round_no,
                                                 "size_B": args.size, "partitions": args.partitions},
                      {"MB/s": mb(r["bytes"]) / r["seconds"],
                       "broker_cpu_s_per_GB": cpu / gb if gb else float("nan"),
                       "errors": float(r["errors"]),
                       **({"authorizer_share_of_samples": share} if share is not None else {})})
    finally:
        b.cleanup()


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=20.0, help="time bound per run")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--acls", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--profile", action="store_true", help="sample the ACL run with Linux perf")
    args = p.parse_args()
    if args.profile and shutil.which("perf") is None:
        p.error("--profile needs Linux perf (apt-get install linux-perf)")
    count = max(1000, min(1_000_000, (64 if args.quick else 512) * 1_000_000 // args.size))
    work = Path(tempfile.mkdtemp(prefix="perf-acl-"))
    results = []
    for round_no in range(args.rounds):
        for with_acls in (False, True):
            results.append(run_one(with_acls, args, work, round_no, count))
    off = [r.metrics["broker_cpu_s_per_GB"] for r in results if r.params["acls"] == 0]
    on = [r.metrics["broker_cpu_s_per_GB"] for r in results if r.params["acls"] != 0]
    summary = Result("acl_produce", "strata", {"acls": f"{args.acls} vs 0", "round": "median",
                                               "size_B": args.size, "partitions": args.partitions},
                     {"broker_cpu_s_per_GB": sorted(on)[len(on) // 2],
                      "cpu_vs_no_authorizer": sorted(on)[len(on) // 2] / sorted(off)[len(off) // 2]})
    results.append(summary)
    report(results, args.json)


if __name__ == "__main__":
    main()
