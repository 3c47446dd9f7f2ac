"""Consumer groups with real clients: librdkafka (confluent-kafka), kafka-python, aiokafka.

Classic protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup), committed offsets
(OffsetCommit/OffsetFetch/OffsetDelete), the admin API (ListGroups, DescribeGroups,
DeleteGroups, offsets through AdminClient), static membership, raw-socket error
codes, and KIP-848 (`group.protocol=consumer`).

Brokers here start with group.initial.rebalance.delay.ms=100 so a group forms fast.
Crash detection relies on the member's session.timeout.ms=6000 (the broker's default
group.min.session.timeout.ms) with heartbeat.interval.ms=1000.
"""

from __future__ import annotations

import asyncio
import struct
import time
from typing import Callable, List, Set

import pytest
from confluent_kafka import (ConsumerGroupState, ConsumerGroupTopicPartitions, KafkaError, KafkaException,
                             TopicPartition)

import kafka_wire as kw
from groupsutil import (Ledger, Member, ProcMember, RawClient, consumer_protocol_assignment,
                        consumer_protocol_metadata, describe, split_ok)
from kafkautil import REQUEST_TIMEOUT, admin, create_topic, forget, produce_ok, producer, unique, watermarks

FAST_GROUPS = {"group.initial.rebalance.delay.ms": 100}

# Kafka error codes
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
NON_EMPTY_GROUP = 68
MEMBER_ID_REQUIRED = 79
GROUP_SUBSCRIBED_TO_TOPIC = 86


def produce_spread(bootstrap: str, topic: str, partitions: int, n: int, tag: str) -> Set[tuple]:
    """n records round-robin over the partitions; returns their (partition, offset) pairs."""
    p = producer(bootstrap)
    reps = produce_ok(p, topic, [{"key": f"{tag}-{i}".encode(), "value": f"{tag}-{i}".encode(),
                                  "partition": i % partitions} for i in range(n)])
    return {(r.partition, r.offset) for r in reps}


def run_until(members: List[Member], cond: Callable[[], bool], timeout: float, what: str,
              detail: Callable[[], str] = lambda: "") -> float:
    """Step every member until cond() holds; return the seconds it took. Bounded."""
    start = time.monotonic()
    deadline = start + timeout
    while time.monotonic() < deadline:
        for m in members:
            m.step(timeout=0.02)
        if cond():
            return time.monotonic() - start
    errors = [(m.name, m.errors[-3:], m.commit_errors[-3:]) for m in members]
    raise AssertionError(f"{what}: not reached within {timeout}s; {detail()}; client errors: {errors}")


def run_for(members: List[Member], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for m in members:
            m.step(timeout=0.02)


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict:
    return {p: watermarks(bootstrap, topic, p)[1] for p in range(partitions)}


def group_offsets(bootstrap: str, group: str) -> dict:
    """{(topic, partition): offset} from AdminClient.list_consumer_group_offsets (OffsetFetch)."""
    a = admin(bootstrap)
    res = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                        request_timeout=REQUEST_TIMEOUT)[group].result(REQUEST_TIMEOUT)
    return {(tp.topic, tp.partition): tp.offset for tp in res.topic_partitions}


def describe_group(bootstrap: str, group: str):
    a = admin(bootstrap)
    return a.describe_consumer_groups([group], request_timeout=REQUEST_TIMEOUT)[group].result(REQUEST_TIMEOUT)


# -- librdkafka members sharing a group -----------------------------------------------
@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_members_split_leave_crash_no_loss_no_redelivery(broker_factory, topic, tmp_path, strategy):
    """2 then 3 members split 6 partitions; one leaves (close), one is SIGKILLed; the survivor
    ends with every partition; every record consumed; none delivered after its commit."""
    b = broker_factory(FAST_GROUPS)
    P = 6
    create_topic(b.bootstrap, topic, P)
    group = unique("g-split")
    conf = {"partition.assignment.strategy": strategy}
    produced = produce_spread(b.bootstrap, topic, P, 300, "r1")
    ledger = Ledger()
    a = Member(b.bootstrap, group, topic, ledger, "A", **conf)
    bm = Member(b.bootstrap, group, topic, ledger, "B", **conf)
    c = None
    try:
        run_until([a, bm], lambda: split_ok([a.assigned, bm.assigned], P), 30,
                  "two members split 6 partitions", lambda: describe([a.assigned, bm.assigned]))
        produced |= produce_spread(b.bootstrap, topic, P, 300, "r2")

        c = ProcMember(b.bootstrap, group, topic, "C", tmp_path, **conf)
        run_until([a, bm], lambda: split_ok([a.assigned, bm.assigned, c.assigned()], P), 40,
                  "three members split 6 partitions",
                  lambda: describe([a.assigned, bm.assigned, c.assigned()]))
        d = describe_group(b.bootstrap, group)
        assert len(d.members) == 3, d.members
        produced |= produce_spread(b.bootstrap, topic, P, 300, "r3")
        run_for([a, bm], 1.0)

        # B leaves cleanly: A and C take its partitions.
        bm.close()
        run_until([a], lambda: split_ok([a.assigned, c.assigned()], P), 30,
                  "A and C split 6 partitions after B left", lambda: describe([a.assigned, c.assigned()]))
        produced |= produce_spread(b.bootstrap, topic, P, 300, "r4")
        run_for([a], 1.0)

        # C crashes: after its session timeout A owns everything.
        c.kill9()
        ledger.merge_file(c.path)
        took = run_until([a], lambda: a.assigned == set(range(P)), 30,
                         "A owns every partition after C was killed", lambda: describe([a.assigned]))
        assert took < 6 + 10, f"reassignment after crash took {took:.1f}s"
        produced |= produce_spread(b.bootstrap, topic, P, 300, "r5")

        run_until([a], lambda: produced <= ledger.delivered_pairs(), 30, "every produced record consumed",
                  lambda: f"missing {len(produced - ledger.delivered_pairs())} of {len(produced)}")
        run_for([a], 0.5)
        res = ledger.check(produced)
        assert res["missing"] == []
        assert res["after_commit"] == [], res["after_commit"][:10]
        assert not a.errors, a.errors[:5]
        # The group's committed offsets are the end offsets.
        ends = end_offsets(b.bootstrap, topic, P)
        offs = group_offsets(b.bootstrap, group)
        assert {p: offs.get((topic, p)) for p in range(P)} == ends
    finally:
        for m in (a, bm):
            m.close()
        if c is not None:
            c.kill9()


def test_static_member_restart_keeps_assignment_without_rebalance(broker_factory, topic):
    """KIP-345: a member with group.instance.id that restarts within its session timeout gets
    its partitions back and the other member sees no rebalance."""
    b = broker_factory(FAST_GROUPS)
    P = 4
    create_topic(b.bootstrap, topic, P)
    group = unique("g-static")
    ledger = Ledger()
    a = Member(b.bootstrap, group, topic, ledger, "A", **{"group.instance.id": "inst-a"})
    bm = Member(b.bootstrap, group, topic, ledger, "B", **{"group.instance.id": "inst-b"})
    b2 = None
    try:
        run_until([a, bm], lambda: split_ok([a.assigned, bm.assigned], P), 30, "static members split",
                  lambda: describe([a.assigned, bm.assigned]))
        run_for([a, bm], 1.5)  # settled: no rebalance pending
        d = describe_group(b.bootstrap, group)
        assert d.state == ConsumerGroupState.STABLE
        by_instance = {m.group_instance_id: m for m in d.members}
        assert set(by_instance) == {"inst-a", "inst-b"}, d.members
        old_b_member_id = by_instance["inst-b"].member_id
        a_assigned, b_assigned, a_rebalances = set(a.assigned), set(bm.assigned), a.rebalances

        bm.close()  # a static member does not send LeaveGroup: the group keeps its slot
        produced = produce_spread(b.bootstrap, topic, P, 40, "s")
        b2 = Member(b.bootstrap, group, topic, ledger, "B2", **{"group.instance.id": "inst-b"})
        run_until([a, b2], lambda: b2.assigned == b_assigned, 15,
                  "restarted static member gets its old partitions",
                  lambda: f"B had {sorted(b_assigned)}, B2 has {sorted(b2.assigned)}, A {sorted(a.assigned)}")
        run_until([a, b2], lambda: produced <= ledger.delivered_pairs(), 20, "records consumed")
        run_for([a, b2], 1.5)
        assert a.assigned == a_assigned
        assert a.rebalances == a_rebalances, "A saw a rebalance when the static member B restarted"
        d = describe_group(b.bootstrap, group)
        assert d.state == ConsumerGroupState.STABLE
        by_instance = {m.group_instance_id: m for m in d.members}
        assert set(by_instance) == {"inst-a", "inst-b"}
        assert by_instance["inst-b"].member_id != old_b_member_id
        assert {tp.partition for tp in by_instance["inst-b"].assignment.topic_partitions} == b_assigned
    finally:
        for m in (a, bm, b2):
            if m is not None:
                m.close()


# -- other clients ------------------------------------------------------------------
def test_kafka_python_group_consumer_commit_and_resume(broker_factory, topic):
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition as KTP

    b = broker_factory(FAST_GROUPS)
    P = 3
    create_topic(b.bootstrap, topic, P)
    group = unique("g-kpy")
    first = produce_spread(b.bootstrap, topic, P, 60, "k1")

    def consumer():
        return KafkaConsumer(topic, bootstrap_servers=b.bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=1000,
                             request_timeout_ms=20000)

    def drain(c, want: int, timeout: float) -> Set[tuple]:
        got: Set[tuple] = set()
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            for tp, msgs in c.poll(timeout_ms=200).items():
                got |= {(tp.partition, m.offset) for m in msgs}
        return got

    c = consumer()
    try:
        got = drain(c, len(first), 30)
        assert got == first
        assert c.assignment() == {KTP(topic, p) for p in range(P)}
        c.commit()
        assert {p: c.committed(KTP(topic, p)) for p in range(P)} == end_offsets(b.bootstrap, topic, P)
    finally:
        c.close()
    second = produce_spread(b.bootstrap, topic, P, 30, "k2")
    c = consumer()
    try:
        got = drain(c, len(second), 30)
        got |= drain(c, 10**9, 1.0)  # nothing else may come
        assert got == second, f"resumed consumer got {len(got & first)} already committed records"
        c.commit()
    finally:
        c.close()
    assert {p: o for (t, p), o in group_offsets(b.bootstrap, group).items()} == end_offsets(b.bootstrap, topic, P)


def test_aiokafka_group_consumer_commit_and_resume(broker_factory, topic):
    from aiokafka import AIOKafkaConsumer

    b = broker_factory(FAST_GROUPS)
    P = 3
    create_topic(b.bootstrap, topic, P)
    group = unique("g-aio")
    first = produce_spread(b.bootstrap, topic, P, 60, "a1")

    async def session(want: int, extra: float) -> Set[tuple]:
        c = AIOKafkaConsumer(topic, bootstrap_servers=b.bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=1000)
        await c.start()
        got: Set[tuple] = set()
        try:
            deadline = time.monotonic() + 30
            while len(got) < want and time.monotonic() < deadline:
                for tp, msgs in (await c.getmany(timeout_ms=200)).items():
                    got |= {(tp.partition, m.offset) for m in msgs}
            end = time.monotonic() + extra
            while time.monotonic() < end:
                for tp, msgs in (await c.getmany(timeout_ms=200)).items():
                    got |= {(tp.partition, m.offset) for m in msgs}
            await c.commit()
        finally:
            await c.stop()
        return got

    assert asyncio.run(session(len(first), 0)) == first
    second = produce_spread(b.bootstrap, topic, P, 30, "a2")
    got = asyncio.run(session(len(second), 1.0))
    assert got == second, f"resumed consumer got {len(got & first)} already committed records"
    assert {p: o for (t, p), o in group_offsets(b.bootstrap, group).items()} == end_offsets(b.bootstrap, topic, P)


def test_committed_offsets_resume_after_consumer_and_broker_restart(broker_factory, topic):
    b = broker_factory(FAST_GROUPS)
    P = 3
    create_topic(b.bootstrap, topic, P)
    group = unique("g-restart")

    def session(expect: Set[tuple]) -> None:
        ledger = Ledger()
        m = Member(b.bootstrap, group, topic, ledger, "M")
        try:
            run_until([m], lambda: expect <= ledger.delivered_pairs(), 30, "records consumed",
                      lambda: f"got {len(ledger.delivered_pairs() & expect)} of {len(expect)}")
            run_for([m], 1.0)
        finally:
            m.close()
        assert ledger.delivered_pairs() == expect, \
            f"{len(ledger.delivered_pairs() - expect)} records delivered again after commit"

    session(produce_spread(b.bootstrap, topic, P, 60, "x1"))
    session(produce_spread(b.bootstrap, topic, P, 30, "x2"))  # consumer restart
    want = {(topic, p): o for p, o in end_offsets(b.bootstrap, topic, P).items()}

    b.restart()  # SIGTERM
    assert group_offsets(b.bootstrap, group) == want
    session(produce_spread(b.bootstrap, topic, P, 30, "x3"))

    b.restart(graceful=False)  # kill -9: commits were acknowledged, so they are durable
    want = {(topic, p): o for p, o in end_offsets(b.bootstrap, topic, P).items()}
    assert group_offsets(b.bootstrap, group) == want
    session(produce_spread(b.bootstrap, topic, P, 30, "x4"))


# -- admin API --------------------------------------------------------------------
def test_admin_list_describe_delete_groups(broker_factory, topic):
    b = broker_factory(FAST_GROUPS)
    P = 4
    create_topic(b.bootstrap, topic, P)
    group = unique("g-admin")
    produced = produce_spread(b.bootstrap, topic, P, 40, "d")
    ledger = Ledger()
    a = Member(b.bootstrap, group, topic, ledger, "A")
    bm = Member(b.bootstrap, group, topic, ledger, "B")
    ad = admin(b.bootstrap)
    try:
        run_until([a, bm], lambda: split_ok([a.assigned, bm.assigned], P) and produced <= ledger.delivered_pairs(),
                  30, "two members split and consume")
        run_for([a, bm], 1.0)

        listing = ad.list_consumer_groups(request_timeout=REQUEST_TIMEOUT).result(REQUEST_TIMEOUT)
        assert not listing.errors, listing.errors
        mine = [g for g in listing.valid if g.group_id == group]
        assert len(mine) == 1, [g.group_id for g in listing.valid]
        assert mine[0].state == ConsumerGroupState.STABLE
        assert not mine[0].is_simple_consumer_group
        # ListGroups with a state filter
        stable = ad.list_consumer_groups(states={ConsumerGroupState.STABLE},
                                         request_timeout=REQUEST_TIMEOUT).result(REQUEST_TIMEOUT)
        assert group in {g.group_id for g in stable.valid}
        empty = ad.list_consumer_groups(states={ConsumerGroupState.EMPTY},
                                        request_timeout=REQUEST_TIMEOUT).result(REQUEST_TIMEOUT)
        assert group not in {g.group_id for g in empty.valid}

        d = describe_group(b.bootstrap, group)
        assert d.state == ConsumerGroupState.STABLE
        assert d.partition_assignor == "range"
        assert not d.is_simple_consumer_group
        assert sorted(m.client_id for m in d.members) == ["A", "B"]
        by_client = {m.client_id: {tp.partition for tp in m.assignment.topic_partitions} for m in d.members}
        assert by_client == {"A": a.assigned, "B": bm.assigned}
        assert all(tp.topic == topic for m in d.members for tp in m.assignment.topic_partitions)

        with pytest.raises(KafkaException) as e:
            ad.delete_consumer_groups([group], request_timeout=REQUEST_TIMEOUT)[group].result(REQUEST_TIMEOUT)
        assert e.value.args[0].code() == KafkaError.NON_EMPTY_GROUP, e.value

        a.close()
        bm.close()
        d = describe_group(b.bootstrap, group)
        assert d.state == ConsumerGroupState.EMPTY
        assert d.members == []
        ends = end_offsets(b.bootstrap, topic, P)
        assert group_offsets(b.bootstrap, group) == {(topic, p): o for p, o in ends.items()}

        ad.delete_consumer_groups([group], request_timeout=REQUEST_TIMEOUT)[group].result(REQUEST_TIMEOUT)
        listing = ad.list_consumer_groups(request_timeout=REQUEST_TIMEOUT).result(REQUEST_TIMEOUT)
        assert group not in {g.group_id for g in listing.valid}
        left = {k: v for k, v in group_offsets(b.bootstrap, group).items() if v >= 0}
        assert left == {}, f"offsets still committed after DeleteGroups: {left}"
        d = describe_group(b.bootstrap, group)
        assert d.state in (ConsumerGroupState.DEAD, ConsumerGroupState.UNKNOWN) and d.members == []
        # Deleting it again: GROUP_ID_NOT_FOUND
        with pytest.raises(KafkaException) as e:
            ad.delete_consumer_groups([group], request_timeout=REQUEST_TIMEOUT)[group].result(REQUEST_TIMEOUT)
        assert e.value.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND, e.value
    finally:
        a.close()
        bm.close()


def test_admin_alter_and_list_group_offsets(broker_factory, topic):
    b = broker_factory(FAST_GROUPS)
    create_topic(b.bootstrap, topic, 2)
    produce_spread(b.bootstrap, topic, 2, 20, "o")  # 10 per partition
    group = unique("g-alter")
    ad = admin(b.bootstrap)
    res = ad.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 7)])],
        request_timeout=REQUEST_TIMEOUT)[group].result(REQUEST_TIMEOUT)
    assert all(tp.error is None for tp in res.topic_partitions), res.topic_partitions
    assert group_offsets(b.bootstrap, group) == {(topic, 0): 3, (topic, 1): 7}
    # The altered (simple, generation -1) commit makes an Empty group a consumer then resumes from.
    listing = ad.list_consumer_groups(request_timeout=REQUEST_TIMEOUT).result(REQUEST_TIMEOUT)
    assert group in {g.group_id for g in listing.valid}
    ledger = Ledger()
    m = Member(b.bootstrap, group, topic, ledger, "M")
    try:
        want = {(0, o) for o in range(3, 10)} | {(1, o) for o in range(7, 10)}
        run_until([m], lambda: want <= ledger.delivered_pairs(), 30, "consume from altered offsets")
        run_for([m], 0.5)
        assert ledger.delivered_pairs() == want
    finally:
        m.close()
    assert group_offsets(b.bootstrap, group) == {(topic, 0): 10, (topic, 1): 10}
    # Altering while a member is active is refused (Kafka: UNKNOWN_MEMBER_ID for a non-empty group).
    m2 = Member(b.bootstrap, group, topic, Ledger(), "M2")
    try:
        run_until([m2], lambda: m2.assigned == {0, 1}, 20, "member joined")
        fut = ad.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 1)])],
                                              request_timeout=REQUEST_TIMEOUT)[group]
        try:  # librdkafka reports it either for the group or per partition
            errs = [tp.error for tp in fut.result(REQUEST_TIMEOUT).topic_partitions]
        except KafkaException as e:
            errs = [e.args[0]]
        assert [e.code() if e is not None else None for e in errs] == [KafkaError.UNKNOWN_MEMBER_ID], errs
        assert group_offsets(b.bootstrap, group)[(topic, 0)] == 10
    finally:
        m2.close()


def _offset_delete(bootstrap: str, group: str, topic: str, partitions: List[int]):
    """OffsetDelete v0 (api key 47) by hand: returns (top-level error, {partition: error})."""
    body = (kw.string(group) + kw.i32(1) + kw.string(topic) + kw.i32(len(partitions))
            + b"".join(kw.i32(p) for p in partitions))
    with kw.connect(bootstrap) as s:
        s.sendall(kw.frame(kw.header_v1(47, 0, 11) + body))
        corr, r = kw.read_response(s)
    assert corr == 11
    err = r.i16()
    r.i32()  # throttle
    out = {}
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            p, e = r.i32(), r.i16()
            out[p] = e
    return err, out


def test_delete_committed_offsets_of_a_topic(broker_factory, topic):
    """OffsetDelete (what AdminClient.deleteConsumerGroupOffsets sends; confluent-kafka's Python
    AdminClient has no binding for it, so it goes over a raw socket)."""
    b = broker_factory(FAST_GROUPS)
    other = topic + "-other"
    create_topic(b.bootstrap, topic, 2)
    create_topic(b.bootstrap, other, 1)
    group = unique("g-odel")
    ad = admin(b.bootstrap)
    ad.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 0),
                                              TopicPartition(other, 0, 0)])],
        request_timeout=REQUEST_TIMEOUT)[group].result(REQUEST_TIMEOUT)
    produce_spread(b.bootstrap, topic, 2, 10, "od")
    m = Member(b.bootstrap, group, topic, Ledger(), "M")
    try:
        run_until([m], lambda: m.assigned == {0, 1} and m.delivered >= 10, 20, "member consuming")
        err, parts = _offset_delete(b.bootstrap, group, topic, [0, 1])
        assert err == 0 and parts == {0: GROUP_SUBSCRIBED_TO_TOPIC, 1: GROUP_SUBSCRIBED_TO_TOPIC}, (err, parts)
        err, parts = _offset_delete(b.bootstrap, group, other, [0])  # not subscribed: allowed
        assert (err, parts) == (0, {0: 0})
    finally:
        m.close()
    assert group_offsets(b.bootstrap, group) == {(topic, 0): 5, (topic, 1): 5}
    err, parts = _offset_delete(b.bootstrap, group, topic, [0])
    assert (err, parts) == (0, {0: 0})
    assert {k: v for k, v in group_offsets(b.bootstrap, group).items() if v >= 0} == {(topic, 1): 5}
    err, _ = _offset_delete(b.bootstrap, unique("no-such-group"), topic, [0])
    assert err == 69  # GROUP_ID_NOT_FOUND


def test_offsets_of_a_deleted_topic_are_removed(broker_factory, topic):
    # No auto-creation: librdkafka's AdminClient (a producer-type handle) would otherwise bring the
    # deleted topic back when it refreshes metadata for the topics it has seen.
    b = broker_factory(dict(FAST_GROUPS, **{"auto.create.topics.enable": False}))
    keep = topic + "-keep"
    create_topic(b.bootstrap, topic, 2)
    create_topic(b.bootstrap, keep, 1)
    group = unique("g-deltopic")
    ad = admin(b.bootstrap)
    ad.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 0),
                                              TopicPartition(keep, 0, 0)])],
        request_timeout=REQUEST_TIMEOUT)[group].result(REQUEST_TIMEOUT)
    assert set(group_offsets(b.bootstrap, group)) == {(topic, 0), (topic, 1), (keep, 0)}
    ad.delete_topics([topic], operation_timeout=10, request_timeout=REQUEST_TIMEOUT)[topic].result(REQUEST_TIMEOUT)
    deadline = time.monotonic() + 10
    left = None
    while time.monotonic() < deadline:
        left = {k: v for k, v in group_offsets(b.bootstrap, group).items() if v >= 0}
        if left == {(keep, 0): 0}:
            break
        time.sleep(0.2)
    assert left == {(keep, 0): 0}, f"offsets after the topic was deleted: {left}"
    forget(b.bootstrap)
    b.restart()
    assert {k: v for k, v in group_offsets(b.bootstrap, group).items() if v >= 0} == {(keep, 0): 0}


# -- raw protocol errors --------------------------------------------------------------
def test_raw_join_sync_heartbeat_commit_errors(broker_factory, topic):
    from kafka.protocol.old.commit import OffsetCommitRequest_v2, OffsetFetchRequest_v3
    from kafka.protocol.old.group import (HeartbeatRequest_v2, JoinGroupRequest_v4, LeaveGroupRequest_v1,
                                      SyncGroupRequest_v2)

    b = broker_factory({"group.initial.rebalance.delay.ms": 0})
    create_topic(b.bootstrap, topic, 2)
    group = unique("g-raw")
    meta = consumer_protocol_metadata([topic])
    c1 = RawClient(b.bootstrap)
    c2 = RawClient(b.bootstrap)
    try:
        r = c1.call(JoinGroupRequest_v4(group, 6000, 10000, "", "consumer", [("range", meta)]))
        assert r.error_code == MEMBER_ID_REQUIRED and r.member_id, r
        member = r.member_id
        r = c1.call(JoinGroupRequest_v4(group, 6000, 10000, member, "consumer", [("range", meta)]))
        assert r.error_code == 0, r
        assert r.leader_id == member and r.member_id == member and r.group_protocol == "range"
        assert [(m[0], bytes(m[1])) for m in r.members] == [(member, meta)]
        gen = r.generation_id
        assert gen >= 1
        assignment = consumer_protocol_assignment(topic, [0, 1])
        s = c1.call(SyncGroupRequest_v2(group, gen, member, [(member, assignment)]))
        assert s.error_code == 0 and bytes(s.member_assignment) == assignment, s

        assert c1.call(HeartbeatRequest_v2(group, gen, member)).error_code == 0
        assert c1.call(HeartbeatRequest_v2(group, gen + 1, member)).error_code == ILLEGAL_GENERATION
        assert c1.call(HeartbeatRequest_v2(group, gen, "nobody")).error_code == UNKNOWN_MEMBER_ID

        def commit(generation, member_id, offset):
            resp = c1.call(OffsetCommitRequest_v2(group, generation, member_id, -1,
                                                  [(topic, [(0, offset, "meta-x")])]))
            return resp.topics[0][1][0][1]

        assert commit(gen + 1, member, 5) == ILLEGAL_GENERATION
        assert commit(gen, "nobody", 5) == UNKNOWN_MEMBER_ID
        assert commit(-1, "", 5) == UNKNOWN_MEMBER_ID  # a simple commit into a non-empty group
        assert commit(gen, member, 5) == 0
        f = c1.call(OffsetFetchRequest_v3(group, [(topic, [0, 1])]))
        assert f.error_code == 0
        got = {p[0]: (p[1], p[2], p[3]) for p in f.topics[0][1]}
        assert got == {0: (5, "meta-x", 0), 1: (-1, "", 0)}, got

        # A second member joining: the first one's heartbeat learns REBALANCE_IN_PROGRESS.
        r2 = c2.call(JoinGroupRequest_v4(group, 6000, 10000, "", "consumer", [("range", meta)]))
        assert r2.error_code == MEMBER_ID_REQUIRED
        c2.proto.send_request(JoinGroupRequest_v4(group, 6000, 10000, r2.member_id, "consumer", [("range", meta)]))
        c2.sock.sendall(c2.proto.send_bytes())
        deadline = time.monotonic() + 5
        hb = None
        while time.monotonic() < deadline:
            hb = c1.call(HeartbeatRequest_v2(group, gen, member)).error_code
            if hb == REBALANCE_IN_PROGRESS:
                break
            time.sleep(0.05)
        assert hb == REBALANCE_IN_PROGRESS
        # A commit with the current generation is still accepted while preparing a rebalance.
        assert commit(gen, member, 6) == 0

        # Leave; the group (after the second member's join expires or completes) no longer knows it.
        lv = c1.call(LeaveGroupRequest_v1(group, member))
        assert lv.error_code == 0
        assert c1.call(HeartbeatRequest_v2(group, gen, member)).error_code in (UNKNOWN_MEMBER_ID,)
    finally:
        c1.close()
        c2.close()


def test_offset_fetch_for_unknown_group_answers_minus_one(broker, topic):
    from kafka.protocol.old.commit import OffsetFetchRequest_v3

    create_topic(broker.bootstrap, topic, 1)
    c = RawClient(broker.bootstrap)
    try:
        f = c.call(OffsetFetchRequest_v3(unique("never-seen"), [(topic, [0])]))
    finally:
        c.close()
    assert f.error_code == 0
    assert [(p[0], p[1], p[3]) for p in f.topics[0][1]] == [(0, -1, 0)]


# -- KIP-848 ------------------------------------------------------------------------
@pytest.mark.kip848
def test_kip848_consumer_protocol_split_and_reassign(broker_factory, topic):
    """group.protocol=consumer (ConsumerGroupHeartbeat): the broker assigns; two librdkafka
    members split 4 partitions, consume everything; when one leaves the other gets all."""
    hb_ms = 1000
    # Kafka's floor for the heartbeat interval is group.consumer.min.heartbeat.interval.ms (5 s).
    b = broker_factory(dict(FAST_GROUPS, **{"group.consumer.heartbeat.interval.ms": hb_ms,
                                            "group.consumer.min.heartbeat.interval.ms": hb_ms}))
    P = 4
    create_topic(b.bootstrap, topic, P)
    group = unique("g-848")
    produced = produce_spread(b.bootstrap, topic, P, 80, "n1")
    # The consumer protocol takes its timeouts from the broker: these classic settings must go.
    conf = {"group.protocol": "consumer", "session.timeout.ms": None, "heartbeat.interval.ms": None}
    keys = kw.api_versions(b.bootstrap).api_keys
    served = (f"ApiVersions: ConsumerGroupHeartbeat(68) {keys.get(68, 'not served')}, "
              f"ConsumerGroupDescribe(69) {keys.get(69, 'not served')}")
    ledger = Ledger()
    a = Member(b.bootstrap, group, topic, ledger, "A", **conf)
    bm = Member(b.bootstrap, group, topic, ledger, "B", **conf)
    try:
        run_until([a, bm], lambda: split_ok([a.assigned, bm.assigned], P), 20,
                  "two KIP-848 members split 4 partitions",
                  lambda: f"assignments {describe([a.assigned, bm.assigned])}; {served}")
        run_until([a, bm], lambda: produced <= ledger.delivered_pairs(), 30, "records consumed")
        d = describe_group(b.bootstrap, group)
        assert d.state == ConsumerGroupState.STABLE and len(d.members) == 2
        bm.close()
        took = run_until([a], lambda: a.assigned == set(range(P)), 15, "A gets every partition after B left",
                         lambda: describe([a.assigned]))
        # The bar: an assignment change reaches members within one heartbeat interval (+ slack).
        assert took < hb_ms / 1000 + 1.0, f"reassignment took {took:.2f}s with heartbeat interval {hb_ms} ms"
        produced |= produce_spread(b.bootstrap, topic, P, 40, "n2")
        run_until([a], lambda: produced <= ledger.delivered_pairs(), 30, "records consumed after B left")
        run_for([a], 0.5)
        res = ledger.check(produced)
        assert res["missing"] == [] and res["after_commit"] == [], res
        assert {p: o for (t, p), o in group_offsets(b.bootstrap, group).items()} == end_offsets(b.bootstrap, topic, P)
        print(f"KIP-848 reassignment after leave took {took:.2f}s (heartbeat interval {hb_ms} ms)")
    finally:
        a.close()
        bm.close()


def test_offsets_of_an_empty_group_expire_after_offsets_retention(broker_factory, topic):
    # Kafka's unit is minutes, so this waits a little over one.
    overrides = dict(FAST_GROUPS)
    overrides.update({"offsets.retention.minutes": "1", "offsets.retention.check.interval.ms": "500"})
    b = broker_factory(overrides)
    create_topic(b.bootstrap, topic, 1)
    produce_spread(b.bootstrap, topic, 1, 5, "x")
    ad = admin(b.bootstrap)
    kept, expiring = unique("g-kept"), unique("g-expire")
    for group in (kept, expiring):
        # Offset 5 is the end: the member below has nothing to consume and commits nothing,
        # so both groups' offsets carry the same, aging commit timestamp.
        ad.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 5)])],
                                        request_timeout=REQUEST_TIMEOUT)[group].result(REQUEST_TIMEOUT)
    # A live member keeps the first group's offsets: only empty groups expire.
    ledger = Ledger()
    m = Member(b.bootstrap, kept, topic, ledger, "K")
    try:
        run_until([m], lambda: m.assigned == {0}, 20, "member joined")
        deadline = time.time() + 100
        while time.time() < deadline and group_offsets(b.bootstrap, expiring):
            run_for([m], 1.0)
        assert group_offsets(b.bootstrap, expiring) == {}, "offsets of the empty group did not expire"
        listing = ad.list_consumer_groups(request_timeout=REQUEST_TIMEOUT).result(REQUEST_TIMEOUT)
        assert expiring not in {g.group_id for g in listing.valid}, "an expired group with nothing left is gone"
        assert ledger.delivered_pairs() == set()
        assert group_offsets(b.bootstrap, kept) == {(topic, 0): 5}
    finally:
        m.close()
