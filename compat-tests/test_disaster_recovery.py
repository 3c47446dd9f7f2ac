"""Disaster recovery from the bucket: `kill -9` during load, then a new broker on an EMPTY data
directory with the same tier URL (moto_server), as after losing the machine.

While real clients produce (confluent-kafka), create topics, commit offsets (AdminClient) and register
schemas (`requests` against the registry), the broker is killed at a pseudo-random moment (the seed is
printed; STRATA_DR_SEED replays one). The bucket is then left as the kill left it and a second broker
with new ports and an empty data directory restores from it. What is checked:

  * the cluster id is the same;
  * every topic the bucket holds a manifest of is served, with the topic id in its object path
    (metadata before data: no manifest names a segment of a topic the bucket cannot describe), and
    every acknowledged record below its manifest's end is read back byte for byte;
  * topics created, commits acknowledged and schemas registered more than the recovery point
    (`strata.tier.metadata.recovery.point.ms`, left at its default 1 s) plus 3 s of upload slack
    before the kill are all there, although the internal logs never rolled (the roll stays at its
    60 s default): they come back from the rewritten `tail.log` objects;
  * the restore reports itself in the log and the `strata_restore_*` metrics.

A second test checks that an idle broker uploads no recovery point, and that a data directory of
another cluster is refused on a prefix that holds a cluster id.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from typing import Dict, List, Tuple

import pytest
import requests
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

from kafkautil import admin, consumer, create_topic, forget, producer
from moto import MotoServer
from tierutil import metric, start_tiered, topic_ids
from strata_harness import BrokerStartError

PREFIX = "dr"
RECOVERY_POINT_S = 1.0
SLACK_S = 3.0
OVERRIDES = {
    "remote.log.manager.task.interval.ms": 200,
    "log.retention.check.interval.ms": 200,
    "remote.log.manager.task.retry.backoff.ms": 200,
    "remote.log.manager.task.retry.backoff.max.ms": 1000,
    "offsets.topic.num.partitions": 4,
}
# segment.ms rolls the active segment (checked every log.retention.check.interval.ms) so the pass
# uploads it within about a second.
TIERED = {"remote.storage.enable": "true", "segment.ms": "1000"}
OP_TIMEOUT = 4.0
AVRO = '{"type":"record","name":"R%d","fields":[{"name":"f%d","type":"long"}]}'
SR_HEADERS = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def start(broker_factory, moto: MotoServer, prefix: str = PREFIX, overrides=None):
    o = dict(OVERRIDES)
    o.update(overrides or {})
    return start_tiered(broker_factory, moto, prefix, o)


def cluster_id(bootstrap: str) -> str:
    return admin(bootstrap).describe_cluster(request_timeout=10).result(timeout=15).cluster_id


class Load:
    """Four client threads; each records what the broker acknowledged and when (monotonic)."""

    def __init__(self, bootstrap: str, registry: str, topics: List[str], seed: int) -> None:
        self.bootstrap, self.registry, self.topics = bootstrap, registry, topics
        self.rnd = random.Random(seed)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: Dict[Tuple[str, int], bytes] = {}  # (topic, offset) -> value
        self.created: List[Tuple[str, float]] = []  # (topic, acked at)
        self.commits: List[Tuple[int, float]] = []  # (offset committed to GROUP, acked at)
        self.schemas: List[Tuple[str, int, str, float]] = []  # (subject, id, schema, acked at)
        self.group = f"dr-group-{seed}"
        self.threads = [threading.Thread(target=f, daemon=True) for f in
                        (self.produce, self.create, self.commit, self.register)]
        self.errors: List[str] = []

    def run(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=OP_TIMEOUT * 3)
            assert not t.is_alive(), "a load thread did not stop"

    def _delivered(self, err, msg) -> None:
        if err is None:
            with self.lock:
                self.acked[(msg.topic(), msg.offset())] = msg.value()

    def produce(self) -> None:
        p = producer(self.bootstrap, **{"message.timeout.ms": int(OP_TIMEOUT * 1000), "linger.ms": 2})
        i = 0
        while not self.stop.is_set():
            for _ in range(20):
                topic = self.topics[i % len(self.topics)]
                p.produce(topic, value=b"v-%d-" % i + os.urandom(64), partition=0, on_delivery=self._delivered)
                i += 1
            p.poll(0.02)
        p.purge()
        p.flush(1)

    def create(self) -> None:
        p = producer(self.bootstrap, **{"message.timeout.ms": int(OP_TIMEOUT * 1000)})
        i = 0
        while not self.stop.is_set():
            name = f"dr-new-{self.rnd.randrange(1 << 30)}-{i}"
            i += 1
            try:
                create_topic(self.bootstrap, name, config=TIERED)
            except Exception as e:  # the kill
                self.errors.append(f"create {name}: {e}")
                break
            with self.lock:
                self.created.append((name, time.monotonic()))
            for j in range(5):
                p.produce(name, value=b"n-%d" % j, partition=0, on_delivery=self._delivered)
            p.poll(0)
            time.sleep(0.25)
        p.purge()
        p.flush(1)

    def commit(self) -> None:
        a = admin(self.bootstrap)
        k = 0
        while not self.stop.is_set():
            k += 1
            tps = [TopicPartition(self.topics[0], 0, k)]
            try:
                fut = a.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(self.group, tps)],
                                                     request_timeout=OP_TIMEOUT)[self.group]
                res = fut.result(timeout=OP_TIMEOUT + 1)
                assert all(tp.error is None for tp in res.topic_partitions)
            except Exception as e:
                self.errors.append(f"commit {k}: {e}")
                break
            with self.lock:
                self.commits.append((k, time.monotonic()))
            time.sleep(0.05)

    def register(self) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            subject = f"dr-subject-{i}"
            schema = AVRO % (i, i)
            try:
                r = requests.post(f"{self.registry}/subjects/{subject}/versions",
                                  data=json.dumps({"schema": schema}), headers=SR_HEADERS, timeout=OP_TIMEOUT)
            except requests.RequestException as e:
                self.errors.append(f"register {subject}: {e}")
                break
            if r.status_code != 200:
                self.errors.append(f"register {subject}: {r.status_code} {r.text}")
                break
            with self.lock:
                self.schemas.append((subject, r.json()["id"], schema, time.monotonic()))
            time.sleep(0.1)


def manifests(moto: MotoServer) -> Dict[Tuple[str, str], int]:
    """{(topic, topic id): end offset} of every user partition 0 manifest in the bucket."""
    out = {}
    for key in moto.keys(f"{PREFIX}/"):
        m = re.fullmatch(rf"{PREFIX}/(.+)-([0-9a-f-]{{36}})/0/manifest\.json", key)
        if not m or m.group(1).startswith("_"):
            continue
        doc = json.loads(moto.get(key))
        segments = doc["segments"]
        out[(m.group(1), m.group(2))] = segments[-1]["next_offset"] if segments else 0
    return out


def read_all(bootstrap: str, topic: str, end: int, timeout: float = 20.0) -> Dict[int, bytes]:
    c = consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        got: Dict[int, bytes] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (not got or max(got) < end - 1):
            msg = c.poll(0.5)
            if msg is None or msg.error():
                continue
            got[msg.offset()] = msg.value()
        return got
    finally:
        c.close()


@pytest.mark.timeout(120)
def test_kill9_during_load_then_restore_on_an_empty_data_dir(moto, broker_factory):
    seed = int(os.environ.get("STRATA_DR_SEED", time.time_ns() % 1_000_000))
    print(f"STRATA_DR_SEED={seed}")
    rnd = random.Random(seed)
    a = start(broker_factory, moto)
    steady = [f"dr-steady-{i}" for i in range(3)]
    for t in steady:
        create_topic(a.bootstrap, t, config=TIERED)
    id_before = cluster_id(a.bootstrap)

    load = Load(a.bootstrap, a.schema_registry_url, steady, seed)
    load.run()
    time.sleep(rnd.uniform(5.0, 8.0))
    a.kill9()
    killed = time.monotonic()
    forget(a.bootstrap)
    load.join()
    print(f"load stopped {time.monotonic() - killed:.1f}s after the kill")
    # Everything below was acknowledged by the killed broker; the bucket is as the kill left it.
    in_bucket = manifests(moto)
    assert any(end > 0 for end in in_bucket.values()), \
        f"nothing uploaded before the kill: {in_bucket} {moto.keys(PREFIX)[:60]}"

    t0 = time.monotonic()
    b = start(broker_factory, moto)
    print(f"restored broker ready after {time.monotonic() - t0:.2f}s")
    assert cluster_id(b.bootstrap) == id_before

    # Every topic the bucket holds data of: served, same id, uploaded acknowledged records intact.
    names = sorted({t for t, _ in in_bucket})
    served = topic_ids(b.bootstrap, names)
    for (topic, tid), end in sorted(in_bucket.items()):
        assert served[topic] == tid, f"{topic}: id {served[topic]}, the bucket has {tid}"
        if end == 0:
            continue
        want = {o: v for (t, o), v in load.acked.items() if t == topic and o < end}
        got = read_all(b.bootstrap, topic, end)
        missing = sorted(set(want) - set(got))
        assert not missing, f"{topic}: acknowledged uploaded offsets not read back: {missing[:10]}"
        assert all(got[o] == v for o, v in want.items()), f"{topic}: records differ after restore"

    # Internal state older than the recovery point plus slack.
    cutoff = killed - RECOVERY_POINT_S - SLACK_S
    old_topics = [t for t, at in load.created if at < cutoff]
    if old_topics:
        ids_created = topic_ids(b.bootstrap, old_topics)
        assert all(ids_created.values()), f"topics created before the recovery point are missing: {ids_created}"
    old_commits = [k for k, at in load.commits if at < cutoff]
    assert old_commits, f"no commit was acknowledged before {cutoff} (errors: {load.errors})"
    res = admin(b.bootstrap).list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(load.group, [TopicPartition(steady[0], 0)])], request_timeout=10)
    committed = res[load.group].result(timeout=15).topic_partitions[0].offset
    assert committed >= max(old_commits), f"committed {committed}, acknowledged {max(old_commits)} before the cutoff"
    assert committed <= max(k for k, _ in load.commits) + 1
    old_schemas = [s for s in load.schemas if s[3] < cutoff]
    assert old_schemas, f"no schema was registered before the cutoff (errors: {load.errors})"
    for subject, sid, schema, _ in old_schemas:
        r = requests.get(f"{b.schema_registry_url}/schemas/ids/{sid}", timeout=10)
        assert r.status_code == 200, f"schema {sid} of {subject} lost: {r.status_code} {r.text}"
        assert json.loads(r.json()["schema"]) == json.loads(schema)
        r = requests.get(f"{b.schema_registry_url}/subjects/{subject}/versions/1", timeout=10)
        assert r.status_code == 200 and r.json()["id"] == sid, r.text

    text = b.metrics()
    assert metric(text, "strata_restore_topics") >= len(set(names) | set(old_topics)) > 0
    assert metric(text, "strata_restore_schemas") >= len(old_schemas)
    assert metric(text, "strata_restore_consumer_groups") >= 1
    assert metric(text, "strata_restore_committed_offsets") >= 1
    assert "restored from the tier" in b.log_tail(400)
    print(f"kill after {len(load.acked)} acked records, {len(load.created)} topics, {len(load.commits)} commits, "
          f"{len(load.schemas)} schemas; bucket held {len(in_bucket)} topics; restore took "
          f"{metric(text, 'strata_restore_duration_seconds'):.2f}s")


@pytest.mark.timeout(90)
def test_idle_uploads_nothing_and_another_cluster_is_refused(moto, broker_factory):
    a = start(broker_factory, moto)
    create_topic(a.bootstrap, "dr-idle", config=TIERED)
    group = "dr-idle-group"
    fut = admin(a.bootstrap).alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition("dr-idle", 0, 7)])], request_timeout=10)[group]
    fut.result(timeout=15)
    # The change reaches the bucket within the recovery point...
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if metric(a.metrics(), "strata_tier_recovery_point_uploads_total") >= 2:
            break
        time.sleep(0.2)
    time.sleep(2 * RECOVERY_POINT_S + 0.5)
    before = metric(a.metrics(), "strata_tier_recovery_point_uploads_total")
    assert before >= 2  # the metadata log and the offsets partition at least
    assert any(k.endswith("/tail.log") for k in moto.keys(f"{PREFIX}/__strata_metadata/"))
    # ...and an idle broker uploads nothing more.
    time.sleep(3 * RECOVERY_POINT_S)
    assert metric(a.metrics(), "strata_tier_recovery_point_uploads_total") == before
    tier_cluster = json.loads(moto.get(f"{PREFIX}/cluster.json"))["cluster_id"]
    assert tier_cluster == cluster_id(a.bootstrap)
    a.stop()
    forget(a.bootstrap)

    # A broker of another cluster (its own prefix first) pointed at this prefix is refused.
    other = start(broker_factory, moto, prefix="other")
    other_id = cluster_id(other.bootstrap)
    assert other_id != tier_cluster
    other.stop()
    forget(other.bootstrap)
    other.extra_args = ["--tier-url", moto.tier_url(PREFIX)]
    with pytest.raises(BrokerStartError):
        other.start()
    assert "refusing to mix two clusters" in other.log_tail(80)
    # The prefix still names the first cluster.
    assert json.loads(moto.get(f"{PREFIX}/cluster.json"))["cluster_id"] == tier_cluster
