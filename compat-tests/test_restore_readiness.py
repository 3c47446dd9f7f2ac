"""`/health/ready` says "not ready" while a broker restores from the bucket, and "ready" only after.

A broker creates many tiered partitions (the restore asks the bucket for every partition's
manifest, sixteen at a time, so its length grows with the partition count: against moto_server
some hundreds of partitions take seconds, where the ~30 topics of test_disaster_recovery.py take
half a second), puts records in some of them, and waits until those records and the metadata
log's recovery point are in the bucket. It stops; a new process on the same ports, the same tier
URL and an EMPTY data directory starts, and a thread polls `/health/ready` every 20 ms from
before the process exists, so it sees the admin port open. What is checked:

  * answers before ready are 503 with `ready: false`, and at least one names the `tier_restore`
    step (with its progress detail) in `waiting_for`;
  * then 200 with `ready: true` and nothing waiting, and no 503 after the first 200;
  * the records are served afterwards, byte for byte, and every topic is back with its id.

STRATA_READY_TOPICS / STRATA_READY_PARTITIONS change the size (default 12 x 50 = 600 partitions).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from typing import List, Tuple

import pytest
import requests
from confluent_kafka.admin import NewTopic

from kafkautil import REQUEST_TIMEOUT, admin, consume_range, forget, producer, produce_ok, wait_for_topic
from moto import MotoServer
from tierutil import metric, start_tiered, topic_ids

PREFIX = "ready"
TOPICS = int(os.environ.get("STRATA_READY_TOPICS", "12"))
PARTITIONS = int(os.environ.get("STRATA_READY_PARTITIONS", "50"))
OVERRIDES = {
    "remote.log.manager.task.interval.ms": 200,
    "log.retention.check.interval.ms": 200,
    "offsets.topic.num.partitions": 1,
}
# segment.ms rolls the active segment so that the records produced get uploaded within seconds.
TIERED = {"remote.storage.enable": "true", "segment.ms": "1000"}
WITH_DATA = 10  # partitions of the first topic that get records
RECORDS = 3


class ReadyPoller(threading.Thread):
    """Polls GET /health/ready until it answers 200 or `stop` is set; keeps every answer."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.deadline = time.monotonic() + timeout
        self.stop = threading.Event()
        self.answers: List[Tuple[float, int, dict]] = []  # (monotonic, status, body)

    def run(self) -> None:
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                r = requests.get(f"{self.url}/health/ready", timeout=1)
                self.answers.append((time.monotonic(), r.status_code, r.json()))
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass  # the admin port is not open yet
            time.sleep(0.02)


def uploaded(moto: MotoServer, topic: str) -> int:
    """How many partitions of `topic` have a manifest in the bucket."""
    return sum(1 for k in moto.keys(f"{PREFIX}/{topic}-") if k.endswith("/manifest.json"))


@pytest.mark.timeout(120)
def test_ready_is_false_during_a_restore_from_the_bucket(moto, broker_factory):
    b = start_tiered(broker_factory, moto, PREFIX, OVERRIDES)
    names = [f"ready-{i:02d}" for i in range(TOPICS)]
    fs = admin(b.bootstrap).create_topics(
        [NewTopic(n, num_partitions=PARTITIONS, replication_factor=1, config=TIERED) for n in names],
        request_timeout=REQUEST_TIMEOUT)
    for f in fs.values():
        f.result(timeout=REQUEST_TIMEOUT)
    for n in names:
        wait_for_topic(b.bootstrap, n, PARTITIONS, timeout=30)
    records = {(p, i): b"value-%d-%d-" % (p, i) + os.urandom(32) for p in range(WITH_DATA) for i in range(RECORDS)}
    produce_ok(producer(b.bootstrap, acks="all"), names[0],
               [{"partition": p, "value": v} for (p, _), v in sorted(records.items())])
    ids_before = topic_ids(b.bootstrap, names)

    # Until every partition with records has a manifest, and the metadata log's recovery point
    # (default 1 s) has uploaded the last topic creation.
    deadline = time.monotonic() + 30
    while uploaded(moto, names[0]) < WITH_DATA:
        assert time.monotonic() < deadline, f"only {uploaded(moto, names[0])} manifests of {names[0]} uploaded"
        time.sleep(0.3)
    time.sleep(2.5)
    assert any(k.endswith("/tail.log") for k in moto.keys(f"{PREFIX}/__strata_metadata/"))
    assert b.stop() == 0
    forget(b.bootstrap)
    shutil.rmtree(b.data_dir)

    poller = ReadyPoller(b.admin_url, timeout=90)
    poller.start()
    t0 = time.monotonic()
    b.start_timeout = 90
    try:
        b.start()
    finally:
        poller.join(timeout=5)
        poller.stop.set()
    took = time.monotonic() - t0
    answers = poller.answers
    assert answers, "no answer from /health/ready"
    first_ready = next((i for i, a in enumerate(answers) if a[1] == 200), None)
    assert first_ready is not None, f"never ready: last answer {answers[-1]}"
    before, after = answers[:first_ready], answers[first_ready:]
    restoring = [body for _, status, body in before
                 if status == 503 and any(w["check"] == "tier_restore" for w in body["waiting_for"])]
    summary = (f"{len(before)} answers before ready over {answers[first_ready][0] - answers[0][0]:.2f}s, "
               f"{len(restoring)} naming tier_restore; start took {took:.2f}s")
    print(summary)
    assert all(status == 503 and not body["ready"] for _, status, body in before), summary
    assert len(restoring) >= 3, f"tier_restore seen too briefly to prove anything: {summary}"
    details = {w["detail"] for body in restoring for w in body["waiting_for"] if w["check"] == "tier_restore"}
    assert any("partitions" in d for d in details), details
    print(f"tier_restore details seen: {sorted(details)}")
    assert all(status == 200 and body["ready"] and not body["waiting_for"] for _, status, body in after)
    r = requests.get(f"{b.admin_url}/health/ready", timeout=5)
    assert r.status_code == 200 and r.json()["ready"], r.text

    # The data is served after ready: every topic with its id, every record byte for byte.
    assert topic_ids(b.bootstrap, names) == ids_before
    for p in range(WITH_DATA):
        got = consume_range(b.bootstrap, names[0], p, 0, RECORDS)
        assert [(m.offset(), m.value()) for m in got] == [(i, records[(p, i)]) for i in range(RECORDS)], p
    assert metric(b.metrics(), "strata_restore_partitions") >= TOPICS * PARTITIONS
    print(f"restore_duration_seconds={metric(b.metrics(), 'strata_restore_duration_seconds'):.2f}")
