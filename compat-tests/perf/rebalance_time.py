#!/usr/bin/env python3
"""Classic rebalance time of 10 librdkafka (confluent-kafka) members, range assignor, 10 partitions.

  cold   10 members subscribe to an empty group one after another (each in its own thread,
         polling); measured from the 10th member's subscribe() to the moment all 10 hold one
         partition each (on_assign). Kafka's group.initial.rebalance.delay.ms applies (the group
         starts from Empty), so the broker is started with each --delays value and the figure
         to compare is measured - delay.
  join   a Stable group of 9 members; a 10th subscribes; measured from its subscribe() to all
         10 holding one partition each (no initial delay: the group is not Empty; the 9 learn
         of the rebalance from a heartbeat, heartbeat.interval.ms=--heartbeat-ms).

With --bootstrap the broker's own delay is used (reported as "broker's").
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Result, Target, create_topic, external_broker, overrides_of, parser, report, strata_target  # noqa: E402

MEMBERS = 10


class Member(threading.Thread):
    def __init__(self, bootstrap: str, group: str, topic: str, heartbeat_ms: int) -> None:
        super().__init__(daemon=True)
        from confluent_kafka import Consumer

        self.assigned: set = set()
        self.assigned_at: Optional[float] = None
        self.subscribed_at: Optional[float] = None
        self.stop = threading.Event()
        self.topic = topic
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                           "partition.assignment.strategy": "range", "session.timeout.ms": 10000,
                           "heartbeat.interval.ms": heartbeat_ms})

    def _on_assign(self, c, parts):
        self.assigned = {p.partition for p in parts}
        self.assigned_at = time.perf_counter()

    def _on_revoke(self, c, parts):
        self.assigned = set()

    def run(self) -> None:
        self.subscribed_at = time.perf_counter()
        self.c.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        while not self.stop.is_set():
            self.c.poll(0.01)
        self.c.close()


def all_assigned(members: List[Member]) -> bool:
    return all(len(m.assigned) == 1 for m in members)


def wait(cond, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if cond():
            return True
        time.sleep(0.002)
    return False


def measure(target: Target, delay_label: str, delay_ms: Optional[int], heartbeat_ms: int) -> List[Result]:
    out = []
    topic = f"perf-rebalance-{uuid.uuid4().hex[:8]}"
    create_topic(target.bootstrap, topic, MEMBERS)
    params = {"delay_ms": delay_label, "heartbeat_ms": heartbeat_ms}

    # cold: 10 members into an empty group
    group = f"perf-rb-cold-{uuid.uuid4().hex[:8]}"
    members = [Member(target.bootstrap, group, topic, heartbeat_ms) for _ in range(MEMBERS)]
    try:
        for m in members:
            m.start()
        wait(lambda: all(m.subscribed_at for m in members), 10)
        last_join = max(m.subscribed_at for m in members)
        ok = wait(lambda: all_assigned(members), 60)
        done = max(m.assigned_at or 0 for m in members)
        took = done - last_join
        metrics = {"s_after_last_join": took if ok else float("nan")}
        if delay_ms is not None and ok:
            metrics["s_beyond_delay"] = took - delay_ms / 1000
        out.append(Result("rebalance 10 (cold)", target.label, params, metrics,
                          notes="" if ok else "not all 10 assigned within 60 s"))
    finally:
        for m in members:
            m.stop.set()
        for m in members:
            m.join(timeout=15)

    # join: a 10th member into a Stable group of 9
    group = f"perf-rb-join-{uuid.uuid4().hex[:8]}"
    members = [Member(target.bootstrap, group, topic, heartbeat_ms) for _ in range(MEMBERS - 1)]
    try:
        for m in members:
            m.start()
        if not wait(lambda: all(len(m.assigned) >= 1 for m in members) and
                    sum(len(m.assigned) for m in members) == MEMBERS, 60):
            raise RuntimeError("9 members did not settle within 60 s")
        time.sleep(1.0 + heartbeat_ms / 1000)
        tenth = Member(target.bootstrap, group, topic, heartbeat_ms)
        members.append(tenth)
        tenth.start()
        wait(lambda: tenth.subscribed_at, 10)
        ok = wait(lambda: all_assigned(members) and all(m.assigned_at > tenth.subscribed_at for m in members), 60)
        took = max(m.assigned_at for m in members) - tenth.subscribed_at if ok else float("nan")
        out.append(Result("rebalance 10 (10th joins)", target.label, params, {"s_after_last_join": took},
                          notes="" if ok else "not all 10 assigned within 60 s"))
    finally:
        for m in members:
            m.stop.set()
        for m in members:
            m.join(timeout=15)
    return out


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--delays", type=int, nargs="+", default=[0, 300, 3000],
                   help="group.initial.rebalance.delay.ms values to start Strata with")
    p.add_argument("--heartbeat-ms", type=int, default=1000)
    args = p.parse_args()
    if args.quick:
        args.delays = args.delays[:2]
    results: List[Result] = []

    def attempt(label, ctx, delay_label, delay_ms):
        try:
            with ctx as target:
                results.extend(measure(target, delay_label, delay_ms, args.heartbeat_ms))
        except Exception as e:
            print(f"# {label} failed: {type(e).__name__}: {e}", file=sys.stderr)
            results.append(Result("rebalance 10", label, {"delay_ms": delay_label}, {},
                                  notes=f"failed: {type(e).__name__}: {e}"[:300]))

    if args.bootstrap:
        label = args.label or "broker"
        attempt(label, contextlib.nullcontext(Target(label, args.bootstrap, args.pid)), "broker's", None)
    else:
        label = args.label or "strata"
        for d in args.delays:
            attempt(label, strata_target(label, {**overrides_of(args), "group.initial.rebalance.delay.ms": d}), str(d), d)
    if args.compare_cmd:
        attempt(args.compare_label, external_broker(args.compare_cmd, args.compare_bootstrap, args.compare_label),
                "broker's", None)
    report(results, args.json)


if __name__ == "__main__":
    main()
