"""Small helpers around confluent-kafka (librdkafka) used by several suites.

Every consumer here uses assign() with explicit offsets, never subscribe(), and
never commits (group consumers are in groupsutil.py). The Python Consumer insists
on a group.id; it gets a unique one with auto commit and offset store disabled,
so no group coordinator is ever needed.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

REQUEST_TIMEOUT = 15.0


# AdminClients are kept for the life of the process: a future from a client that has been
# garbage-collected fails with _DESTROY, and `admin(b).create_topics(...)[name].result()`
# would otherwise drop the client before the answer arrives.
_ADMINS: Dict[tuple, AdminClient] = {}


def admin(bootstrap: str, **conf) -> AdminClient:
    key = (bootstrap, tuple(sorted(conf.items())))
    a = _ADMINS.get(key)
    if a is None:
        c = {"bootstrap.servers": bootstrap}
        c.update(conf)
        a = _ADMINS[key] = AdminClient(c)
    return a


def forget(bootstrap: str) -> None:
    """Drop the cached AdminClients of a broker that is going away (no reconnect noise)."""
    for key in [k for k in _ADMINS if k[0] == bootstrap]:
        del _ADMINS[key]


def producer(bootstrap: str, **conf) -> Producer:
    c = {
        "bootstrap.servers": bootstrap,
        "linger.ms": 5,
        "message.timeout.ms": 30000,
    }
    c.update({k.replace("_", "."): v for k, v in conf.items()})
    return Producer(c)


def consumer(bootstrap: str, **conf) -> Consumer:
    c = {
        "bootstrap.servers": bootstrap,
        "group.id": f"compat-assign-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
    }
    c.update({k.replace("_", "."): v for k, v in conf.items()})
    return Consumer(c)


def result(fut, timeout: float = REQUEST_TIMEOUT):
    return fut.result(timeout=timeout)


def create_topic(bootstrap: str, name: str, partitions: int = 1, config: Optional[Dict[str, str]] = None,
                 replication_factor: int = 1) -> None:
    a = admin(bootstrap)
    fs = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                                   config=config or {})], request_timeout=REQUEST_TIMEOUT)
    result(fs[name])
    wait_for_topic(bootstrap, name, partitions)


def wait_for_topic(bootstrap: str, name: str, partitions: int, timeout: float = 10.0) -> None:
    """Wait until metadata shows the topic with `partitions` partitions, each with a leader."""
    a = admin(bootstrap)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        md = a.list_topics(topic=name, timeout=5)
        t = md.topics.get(name)
        last = t
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
            p.leader >= 0 for p in t.partitions.values()
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} not ready with {partitions} partitions: {last!r}"
                         f" error={getattr(last, 'error', None)}")


def topic_config(bootstrap: str, name: str) -> Dict[str, object]:
    a = admin(bootstrap)
    res = ConfigResource(ResourceType.TOPIC, name)
    return result(a.describe_configs([res], request_timeout=REQUEST_TIMEOUT)[res])


@dataclass
class Delivered:
    topic: str
    partition: int
    offset: int
    key: Optional[bytes]
    value: Optional[bytes]
    headers: Optional[List[Tuple[str, bytes]]]
    timestamp: Tuple[int, int]
    error: Optional[KafkaError]


def produce_all(p: Producer, topic: str, records: Sequence[dict], flush_timeout: float = 60.0) -> List[Delivered]:
    """Produce records (dicts of Producer.produce kwargs) and return their delivery reports, in order."""
    reports: List[Optional[Delivered]] = [None] * len(records)

    def cb_for(i):
        def cb(err, msg):
            reports[i] = Delivered(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(),
                                   msg.headers(), msg.timestamp(), err)
        return cb

    for i, rec in enumerate(records):
        while True:
            try:
                p.produce(topic, on_delivery=cb_for(i), **rec)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(flush_timeout)
    assert remaining == 0, f"{remaining} records still queued after flush({flush_timeout})"
    missing = [i for i, r in enumerate(reports) if r is None]
    assert not missing, f"no delivery report for records {missing[:10]}"
    return reports  # type: ignore[return-value]


def produce_ok(p: Producer, topic: str, records: Sequence[dict], flush_timeout: float = 60.0) -> List[Delivered]:
    reports = produce_all(p, topic, records, flush_timeout)
    errors = [(i, r.error) for i, r in enumerate(reports) if r.error is not None]
    assert not errors, f"delivery errors: {errors[:5]}"
    return reports


def consume(c: Consumer, count: int, timeout: float = 30.0, allow_errors: bool = False) -> list:
    """Poll until `count` messages arrived (or timeout). Raise on a consumer error event unless allowed."""
    out = []
    errors = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        batch = c.consume(num_messages=min(500, count - len(out)), timeout=0.5)
        for m in batch:
            if m.error():
                if allow_errors:
                    errors.append(m.error())
                    continue
                raise KafkaException(m.error())
            out.append(m)
    assert len(out) >= count, f"consumed {len(out)} of {count} messages within {timeout}s (errors: {errors[:5]})"
    return out


def consume_range(bootstrap: str, topic: str, partition: int, start: int, count: int,
                  timeout: float = 30.0, **conf) -> list:
    c = consumer(bootstrap, **conf)
    try:
        c.assign([TopicPartition(topic, partition, start)])
        return consume(c, count, timeout)
    finally:
        c.close()


def watermarks(bootstrap: str, topic: str, partition: int) -> Tuple[int, int]:
    c = consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
    finally:
        c.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
