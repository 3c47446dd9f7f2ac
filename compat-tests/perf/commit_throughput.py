#!/usr/bin/env python3
"""Offset commits per second from one client, and whether the cost grows with the number of groups.

Two clients, each for a fixed time (--seconds):
  raw        one socket, OffsetCommit v2 (one partition) pipelined with --window requests in
             flight, encoded by hand (kafka_wire primitives); simple commits (generation -1) to
             an Empty group. Every answer is checked for error code 0.
  librdkafka a confluent-kafka consumer that joined a group (subscribe, assignment) and commits
             asynchronously in a tight loop (commit(asynchronous=True), acknowledged commits
             counted in on_commit).
Both are measured with 1 group on the broker, then again after --groups groups (each with a
committed offset) were created, so the two figures show whether commits slow down as the
coordinator holds more groups.
"""

from __future__ import annotations

import socket
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import kafka_wire as kw  # noqa: E402
from common import Result, create_topic, parser, run, unique_topic  # noqa: E402

API_OFFSET_COMMIT = 8


def offset_commit_v2(corr: int, group: str, topic: str, partition: int, offset: int,
                     generation: int = -1, member: str = "") -> bytes:
    body = (kw.string(group) + kw.i32(generation) + kw.string(member) + kw.i64(-1)
            + kw.i32(1) + kw.string(topic) + kw.i32(1) + kw.i32(partition) + kw.i64(offset) + kw.string(""))
    return kw.frame(kw.header_v1(API_OFFSET_COMMIT, 2, corr, "perf-commit") + body)


def parse_offset_commit_v2(r: kw.Reader) -> list:
    errs = []
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            r.i32()
            errs.append(r.i16())
    return errs


class Pipeline:
    """Requests on one socket with up to `window` in flight; answers read in order."""

    def __init__(self, bootstrap: str, window: int) -> None:
        self.sock = kw.connect(bootstrap, timeout=30)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.window = window
        self.buf = bytearray()

    def _read_one(self) -> kw.Reader:
        while True:
            if len(self.buf) >= 4:
                size = int.from_bytes(self.buf[:4], "big", signed=True)
                if len(self.buf) >= 4 + size:
                    frame = bytes(self.buf[4:4 + size])
                    del self.buf[:4 + size]
                    r = kw.Reader(frame)
                    r.i32()  # correlation id (answers come in order)
                    return r
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("broker closed the connection")
            self.buf += chunk

    def run(self, make_request, seconds: float, max_requests: int = 10**9):
        """Send make_request(i) for i = 0.. until `seconds` or max_requests; return (answers, errors, s)."""
        sent = answered = errors = 0
        start = time.perf_counter()
        deadline = start + seconds
        batch = []
        while sent < min(self.window, max_requests):
            batch.append(make_request(sent))
            sent += 1
        self.sock.sendall(b"".join(batch))
        while answered < sent:
            errs = parse_offset_commit_v2(self._read_one())
            answered += 1
            errors += sum(1 for e in errs if e != 0)
            if sent < max_requests and time.perf_counter() < deadline:
                self.sock.sendall(make_request(sent))
                sent += 1
        return answered, errors, time.perf_counter() - start

    def close(self) -> None:
        self.sock.close()


def raw_commit_rate(bootstrap: str, topic: str, group: str, seconds: float, window: int):
    p = Pipeline(bootstrap, window)
    try:
        return p.run(lambda i: offset_commit_v2(i, group, topic, 0, i), seconds)
    finally:
        p.close()


def make_groups(bootstrap: str, topic: str, n: int, window: int) -> float:
    """n groups, each made by one simple commit; returns the seconds it took."""
    prefix = f"perf-many-{uuid.uuid4().hex[:6]}-"
    p = Pipeline(bootstrap, window)
    try:
        answered, errors, secs = p.run(lambda i: offset_commit_v2(i, f"{prefix}{i}", topic, 0, i), 3600,
                                       max_requests=n)
    finally:
        p.close()
    if errors or answered != n:
        raise RuntimeError(f"creating {n} groups: {answered} answers, {errors} errors")
    return secs


def librdkafka_commit_rate(bootstrap: str, topic: str, seconds: float):
    from confluent_kafka import Consumer, TopicPartition

    acked = [0]
    failed = [0]

    def on_commit(err, parts):
        if err is not None or any(p.error is not None for p in parts or []):
            failed[0] += 1
        else:
            acked[0] += 1

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"perf-commit-{uuid.uuid4().hex[:8]}",
                  "enable.auto.commit": False, "on_commit": on_commit, "session.timeout.ms": 10000,
                  "auto.offset.reset": "earliest"})
    assigned = []
    c.subscribe([topic], on_assign=lambda cons, parts: assigned.extend(parts))
    try:
        deadline = time.monotonic() + 30
        while not assigned and time.monotonic() < deadline:
            c.poll(0.1)
        if not assigned:
            raise RuntimeError("no assignment within 30 s")
        tp = TopicPartition(topic, 0, 0)
        start = time.perf_counter()
        end = start + seconds
        i = 0
        while time.perf_counter() < end:
            tp.offset = i
            try:
                c.commit(offsets=[tp], asynchronous=True)
                i += 1
            except Exception:
                c.poll(0.001)
                continue
            if i % 64 == 0:
                c.poll(0)
                # keep the number of unanswered commits bounded (librdkafka queues them all)
                while i - acked[0] - failed[0] > 2000 and time.perf_counter() < end + 10:
                    c.poll(0.001)
        drain = time.perf_counter() + 15
        while acked[0] + failed[0] < i and time.perf_counter() < drain:
            c.poll(0.01)
        secs = time.perf_counter() - start
        return acked[0], failed[0] + (i - acked[0] - failed[0]), secs
    finally:
        c.close()


def bench(target, args):
    out = []
    topic = unique_topic("commit")
    create_topic(target.bootstrap, topic, 1)
    group = f"perf-commit-raw-{uuid.uuid4().hex[:8]}"
    # warm-up: creates the group and __consumer_offsets
    raw_commit_rate(target.bootstrap, topic, group, 1.0, args.window)

    def measure(groups_on_broker: int, run: str):
        n, errors, secs = raw_commit_rate(target.bootstrap, topic, group, args.seconds, args.window)
        out.append(Result("offset commit", target.label,
                          {"client": f"raw v2 window {args.window}", "groups": groups_on_broker, "run": run},
                          {"commits/s": n / secs, "commits": float(n), "errors": float(errors)}))
        if args.raw_only:
            return
        n, errors, secs = librdkafka_commit_rate(target.bootstrap, topic, args.seconds)
        out.append(Result("offset commit", target.label,
                          {"client": "librdkafka async", "groups": groups_on_broker, "run": run},
                          {"commits/s": n / secs, "commits": float(n), "errors": float(errors)}))

    measure(1, "first")
    # The same again before adding groups: separates "more groups" from "more commits already
    # written to __consumer_offsets" (the log grows with every commit).
    measure(1, "control")
    made = make_groups(target.bootstrap, topic, args.groups, args.window)
    print(f"# created {args.groups} groups in {made:.2f}s", file=sys.stderr)
    measure(args.groups + 1, "after groups")
    return out


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    p.add_argument("--window", type=int, default=128, help="raw commits in flight")
    p.add_argument("--raw-only", action="store_true", help="skip the librdkafka client")
    p.add_argument("--groups", type=int, default=1000, help="groups created for the second measurement")
    a = p.parse_args()
    if a.quick:
        a.seconds = min(a.seconds, 2.0)
    run(a, bench)
