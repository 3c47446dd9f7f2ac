"""Group churn: 10 librdkafka consumers join and leave a group at random for a bounded time
(CHURN_SECONDS, default 40) while a producer writes; then 2 of them stay.

At the end every produced record was delivered, nothing was delivered after a commit that
covered it had been acknowledged, the group's committed offsets equal the end offsets of every
partition, and DescribeGroups shows the group Stable with the 2 remaining members.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import List, Optional, Set

from confluent_kafka import ConsumerGroupState

from groupsutil import Ledger, Member
from kafkautil import create_topic, producer, unique
from test_groups import FAST_GROUPS, describe_group, end_offsets, group_offsets

CHURN_SECONDS = float(os.environ.get("CHURN_SECONDS", "40"))
SLOTS = 10
KEEP = 2
PARTITIONS = 12


def test_ten_consumers_churn_while_producing(broker_factory, topic):
    b = broker_factory(FAST_GROUPS)
    create_topic(b.bootstrap, topic, PARTITIONS)
    group = unique("g-churn")
    ledger = Ledger()
    seed = int(os.environ.get("CHURN_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    seed_note = f"CHURN_SEED={seed}"
    stop_churn = threading.Event()
    done = threading.Event()
    produced: Set[tuple] = set()
    produce_errors: List[str] = []
    failures: List[str] = []
    stats = {"joins": 0, "leaves": 0}
    stats_lock = threading.Lock()
    finals: List[Optional[Member]] = [None] * KEEP

    def produce_loop():
        p = producer(b.bootstrap)

        def cb(err, msg):
            if err is not None:
                produce_errors.append(str(err))
            else:
                produced.add((msg.partition(), msg.offset()))

        i = 0
        while not stop_churn.is_set():
            for _ in range(25):  # ~500 records/s
                p.produce(topic, key=str(i).encode(), value=b"churn-%d" % i, partition=i % PARTITIONS,
                          on_delivery=cb)
                i += 1
            p.poll(0)
            time.sleep(0.05)
        remaining = p.flush(30)
        if remaining:
            produce_errors.append(f"{remaining} records unflushed")

    def slot(n: int):
        r = random.Random(rng.random())
        try:
            while not stop_churn.is_set():
                m = Member(b.bootstrap, group, topic, ledger, f"c{n}")
                with stats_lock:
                    stats["joins"] += 1
                online_until = time.monotonic() + r.uniform(2, 10)
                while time.monotonic() < online_until and not stop_churn.is_set():
                    m.step(timeout=0.05)
                if stop_churn.is_set() and n < KEEP:
                    finals[n] = m
                    while not done.is_set():
                        m.step(timeout=0.05)
                    return
                m.close()
                with stats_lock:
                    stats["leaves"] += 1
                if m.errors:
                    failures.append(f"c{n}: {m.errors[:3]}")
                offline_until = time.monotonic() + r.uniform(0.2, 3)
                while time.monotonic() < offline_until and not stop_churn.is_set():
                    time.sleep(0.05)
            if n < KEEP:  # churn ended while this slot was offline: come back and stay
                m = Member(b.bootstrap, group, topic, ledger, f"c{n}")
                finals[n] = m
                while not done.is_set():
                    m.step(timeout=0.05)
        except Exception as e:  # reported by the main thread
            failures.append(f"c{n}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=produce_loop, name="producer")]
    threads += [threading.Thread(target=slot, args=(n,), name=f"slot{n}") for n in range(SLOTS)]
    for t in threads:
        t.start()
    try:
        time.sleep(CHURN_SECONDS)
        stop_churn.set()
        for t in threads[0:1] + threads[1 + KEEP:]:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads[1 + KEEP:]), "a churning consumer did not stop"
        assert not produce_errors, produce_errors[:5]
        delivered_during_churn = len(ledger.delivered_pairs() & produced)

        # Two members remain: they must take over every partition and drain the rest.
        deadline = time.monotonic() + 45
        ends = end_offsets(b.bootstrap, topic, PARTITIONS)
        while time.monotonic() < deadline:
            if produced <= ledger.delivered_pairs():
                offs = group_offsets(b.bootstrap, group)
                if {p: offs.get((topic, p)) for p in range(PARTITIONS)} == ends:
                    break
            time.sleep(0.25)
        missing = produced - ledger.delivered_pairs()
        offs = group_offsets(b.bootstrap, group)
        committed = {p: offs.get((topic, p)) for p in range(PARTITIONS)}
        assert not missing, f"{len(missing)} of {len(produced)} records never consumed ({seed_note})"
        assert committed == ends, f"committed {committed} != end offsets {ends}"
        assert sum(ends.values()) == len(produced)

        res = ledger.check(produced)
        assert res["after_commit"] == [], res["after_commit"][:10]
        assert not failures, failures[:5]
        # The group settles on the 2 members. Not a fixed pause: a member learns of a
        # rebalance from its next heartbeat (1 s apart), so on a loaded machine the last
        # rebalance can still be under way here.
        want = ([f"c{n}" for n in range(KEEP)], list(range(PARTITIONS)))
        deadline = time.monotonic() + 20
        while True:
            d = describe_group(b.bootstrap, group)
            seen = (sorted(m.client_id for m in d.members),
                    sorted(tp.partition for m in d.members for tp in m.assignment.topic_partitions))
            if (d.state == ConsumerGroupState.STABLE and seen == want) or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert d.state == ConsumerGroupState.STABLE, d.state
        assert seen == want, f"members and partitions {seen}, want {want}"
        print(f"churn: {stats['joins']} joins, {stats['leaves']} leaves in {CHURN_SECONDS}s; "
              f"{len(produced)} records, {delivered_during_churn} consumed during churn; "
              f"{res['redelivered_before_commit']} redelivered (never committed before); {seed_note}")
    finally:
        stop_churn.set()
        done.set()
        for t in threads:
            t.join(timeout=30)
        for m in finals:
            if m is not None:
                m.close()
