"""Consumer-group helpers shared by test_groups.py, test_churn.py and perf/.

`Member` is one confluent-kafka (librdkafka) consumer in a group, driven by the
caller's thread: `step()` polls, records every delivered (partition, offset) in a
`Ledger` and commits synchronously what it processed. Offsets still pending are
committed in the revoke callback, before the partitions go to another member, as a
careful application does. Only commits the broker acknowledged count as committed.

`Ledger.check()` then proves the two properties the group protocol is about:
  * every produced (partition, offset) was delivered to some member, and
  * no (partition, offset) was delivered after a commit covering it had been
    acknowledged (a record delivered twice after commit).
Events carry time.monotonic() (CLOCK_MONOTONIC, shared by every process on the
machine), so a member in a subprocess (group_member_proc.py, killed with SIGKILL to
simulate a crash) writes its events to a JSON-lines file that merges with the
in-process ones.

Also: hand-built group requests over a raw socket (kafka-python's protocol structs for
the encoding, kafka_wire for the socket) for the error-code tests.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

HERE = Path(__file__).resolve().parent


class Ledger:
    """Deliveries and acknowledged commits, in time order (thread-safe)."""

    def __init__(self, path: Optional[str] = None) -> None:
        self.events: List[tuple] = []
        self.lock = threading.Lock()
        self._file = open(path, "a", buffering=1) if path else None

    def _add(self, ev: tuple) -> None:
        with self.lock:
            self.events.append(ev)
            if self._file is not None:
                self._file.write(json.dumps(ev) + "\n")

    def delivered(self, member: str, partition: int, offset: int) -> None:
        self._add(("d", time.monotonic(), member, partition, offset))

    def committed(self, member: str, offsets: Dict[int, int]) -> None:
        self._add(("c", time.monotonic(), member, {str(p): o for p, o in offsets.items()}))

    def assignment(self, member: str, partitions: Iterable[int]) -> None:
        self._add(("a", time.monotonic(), member, sorted(partitions)))

    def merge_file(self, path: str) -> None:
        """Add the events a subprocess member wrote (a torn last line from a SIGKILL is skipped)."""
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            return
        for line in lines:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(tuple(ev))

    def delivered_pairs(self) -> Set[Tuple[int, int]]:
        with self.lock:
            return {(e[3], e[4]) for e in self.events if e[0] == "d"}

    def check(self, produced: Set[Tuple[int, int]]) -> Dict[str, object]:
        """Return the violations: missing records, and deliveries after an acknowledged commit."""
        with self.lock:
            events = sorted(self.events, key=lambda e: e[1])
        committed_upto: Dict[int, int] = {}
        committed_by: Dict[int, str] = {}
        after_commit = []
        counts: Dict[Tuple[int, int], int] = {}
        for ev in events:
            if ev[0] == "c":
                for p, o in ev[3].items():
                    p = int(p)
                    if o > committed_upto.get(p, -1):
                        committed_upto[p] = o
                        committed_by[p] = ev[2]
            elif ev[0] == "d":
                _, t, member, p, o = ev
                counts[(p, o)] = counts.get((p, o), 0) + 1
                if o < committed_upto.get(p, -1):
                    after_commit.append(f"{member} got p{p}@{o} after {committed_by[p]} committed "
                                        f"p{p} up to {committed_upto[p]}")
        delivered = set(counts)
        missing = sorted(produced - delivered)
        return {
            "missing": missing,
            "after_commit": after_commit,
            "redelivered_before_commit": sum(1 for n in counts.values() if n > 1),
            "committed_upto": committed_upto,
        }


class Member:
    """One librdkafka group consumer, stepped by its caller."""

    def __init__(self, bootstrap: str, group: str, topic: str, ledger: Ledger, name: str,
                 **conf) -> None:
        self.name = name
        self.topic = topic
        self.ledger = ledger
        self.assigned: Set[int] = set()
        self.rebalances = 0  # assign/revoke/lost callbacks seen
        self.pending: Dict[int, int] = {}
        self.commit_errors: List[str] = []
        self.errors: List[str] = []
        self.delivered = 0
        c = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
            "topic.metadata.refresh.interval.ms": 5000,
            "error_cb": lambda err: self.errors.append(f"error_cb: {err}"),
        }
        c.update(conf)
        c = {k: v for k, v in c.items() if v is not None}  # None removes a default
        self.consumer = Consumer(c)
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_lost)
        self.closed = False

    # -- rebalance callbacks (run inside poll) -------------------------------------
    def _on_assign(self, consumer, parts) -> None:
        self.rebalances += 1
        self.assigned |= {p.partition for p in parts}
        self.ledger.assignment(self.name, self.assigned)

    def _on_revoke(self, consumer, parts) -> None:
        self.rebalances += 1
        revoked = {p.partition for p in parts}
        self._commit(only=revoked)
        self.assigned -= revoked
        self.ledger.assignment(self.name, self.assigned)

    def _on_lost(self, consumer, parts) -> None:
        self.rebalances += 1
        lost = {p.partition for p in parts}
        for p in lost:
            self.pending.pop(p, None)  # cannot be committed any more
        self.assigned -= lost
        self.ledger.assignment(self.name, self.assigned)

    # -- work ------------------------------------------------------------------------
    def step(self, timeout: float = 0.05, max_messages: int = 500) -> int:
        """Poll up to max_messages (one at a time, so a revoke never separates a message from
        its partition's callbacks), record them, commit them synchronously. Returns how many."""
        n = 0
        while n < max_messages:
            m = self.consumer.poll(timeout if n == 0 else 0)
            if m is None:
                break
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    self.errors.append(str(m.error()))
                continue
            self.ledger.delivered(self.name, m.partition(), m.offset())
            self.pending[m.partition()] = max(self.pending.get(m.partition(), 0), m.offset() + 1)
            n += 1
        self.delivered += n
        self._commit()
        return n

    def _commit(self, only: Optional[Set[int]] = None) -> None:
        parts = [p for p in self.pending if only is None or p in only]
        if not parts:
            return
        offsets = {p: self.pending.pop(p) for p in parts}
        tps = [TopicPartition(self.topic, p, o) for p, o in offsets.items()]
        try:
            res = self.consumer.commit(offsets=tps, asynchronous=False)
        except KafkaException as e:
            self.commit_errors.append(str(e))
            return
        ok = {tp.partition: tp.offset for tp in (res or tps) if tp.error is None}
        bad = [f"p{tp.partition}: {tp.error}" for tp in (res or []) if tp.error is not None]
        if bad:
            self.commit_errors.append("; ".join(bad))
        if ok:
            self.ledger.committed(self.name, ok)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._commit()
            self.consumer.close()


class ProcMember:
    """A Member in a subprocess (group_member_proc.py), so that it can be SIGKILLed."""

    def __init__(self, bootstrap: str, group: str, topic: str, name: str, workdir: Path, **conf) -> None:
        self.name = name
        self.path = str(Path(workdir) / f"{name}.events.jsonl")
        Path(self.path).write_text("")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "group_member_proc.py"), bootstrap, group, topic, name, self.path,
             json.dumps(conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(Path(workdir) / f"{name}.stderr", "wb"),
        )

    def assigned(self) -> Set[int]:
        last: Set[int] = set()
        try:
            for line in Path(self.path).read_text().splitlines():
                if line.startswith('["a"'):
                    try:
                        last = set(json.loads(line)[3])
                    except ValueError:
                        pass
        except OSError:
            pass
        return last

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()


def split_ok(assignments: List[Set[int]], partitions: int) -> bool:
    """Every partition owned by exactly one member, and every member owns at least one."""
    union: Set[int] = set()
    total = 0
    for a in assignments:
        if not a:
            return False
        union |= a
        total += len(a)
    return union == set(range(partitions)) and total == partitions


def describe(assignments: List[Set[int]]) -> str:
    return " | ".join(str(sorted(a)) for a in assignments)


# -- raw group requests with kafka-python's protocol structs ------------------------
class RawClient:
    """One socket, requests encoded by kafka-python's protocol classes, answers decoded by them."""

    def __init__(self, bootstrap: str, client_id: str = "compat-raw-groups") -> None:
        from kafka.protocol.parser import KafkaProtocol

        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=15)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proto = KafkaProtocol(client_id=client_id)

    def call(self, request):
        corr = self.proto.send_request(request)
        self.sock.sendall(self.proto.send_bytes())
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("broker closed the connection")
            for c, resp in self.proto.receive_bytes(data):
                if c == corr:
                    return resp

    def close(self) -> None:
        self.sock.close()


def consumer_protocol_metadata(topics: List[str]) -> bytes:
    """ConsumerProtocolSubscription v0: version, topics, user data (what the Java client sends)."""
    out = struct.pack(">hi", 0, len(topics))
    for t in topics:
        b = t.encode()
        out += struct.pack(">h", len(b)) + b
    return out + struct.pack(">i", -1)


def consumer_protocol_assignment(topic: str, partitions: List[int]) -> bytes:
    b = topic.encode()
    out = struct.pack(">hi", 0, 1) + struct.pack(">h", len(b)) + b + struct.pack(">i", len(partitions))
    for p in partitions:
        out += struct.pack(">i", p)
    return out + struct.pack(">i", -1)
