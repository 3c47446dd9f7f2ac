"""Tiered storage (KIP-405 configs) against a real S3-protocol server, moto_server.

Each test starts its own moto_server (moto.py) and its own broker(s) with
`--tier-url s3://strata/cluster` and the AWS_* variables pointing at it, and stops
both at the end whatever happened. Segments are 1 MiB (Kafka's minimum
`segment.bytes`), so "many segments" means some MB of 1 KiB records; every test keeps
its data to a few tens of MB.

What is checked is what a client can see (records byte for byte, offsets, ListOffsets,
DeleteRecords, topic ids, configs, committed offsets, schemas), the broker's
`strata_tier_*` metrics, the partition's local `.log` files, and in the bucket only the
presence of a partition's `manifest.json` and the number of its `.log` objects.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import pytest
import requests
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import OffsetSpec

import kafka_wire as kw
from kafkautil import (
    REQUEST_TIMEOUT,
    admin,
    consume,
    consumer,
    create_topic,
    forget,
    produce_ok,
    producer,
    result,
    topic_config,
    unique,
    watermarks,
)
import tierutil
from moto import MotoServer
from tierutil import topic_ids
from strata_harness import BrokerStartError, strata_bin

PREFIX = "cluster"
SEGMENT = 1 << 20  # 1 MiB, the smallest segment.bytes Kafka accepts
# Record timestamps start an hour ago: far older ones would be deleted by the default total
# retention (retention.ms, 7 days) across both tiers, as Kafka deletes them.
BASE_TS = int(time.time() * 1000) - 3_600_000

# Short intervals so that uploads, local retention and internal-topic rolls happen within
# a test's time rather than the defaults' 30 s, 5 min and 60 s.
TIER_OVERRIDES = {
    "remote.log.manager.task.interval.ms": 200,
    "log.retention.check.interval.ms": 200,
    "strata.remote.internal.roll.ms": 500,
    "remote.log.manager.task.retry.backoff.ms": 200,
    "remote.log.manager.task.retry.backoff.max.ms": 1000,
    "offsets.topic.num.partitions": 1,
}

TIERED_TOPIC = {
    "remote.storage.enable": "true",
    "segment.bytes": str(SEGMENT),
    "local.retention.bytes": str(SEGMENT),
}

METRICS = [
    "strata_tier_uploaded_bytes_total",
    "strata_tier_uploaded_segments_total",
    "strata_tier_upload_lag_bytes",
    "strata_tier_upload_errors_total",
    "strata_tier_remote_reads_total",
    "strata_tier_remote_read_bytes_total",
    "strata_tier_cache_hits_total",
    "strata_tier_cache_misses_total",
    "strata_tier_store_reachable",
]

# KIP-1005 ListOffsets timestamps.
EARLIEST = -2
LATEST = -1
EARLIEST_LOCAL = -4
LATEST_TIERED = -5


# -- fixtures and start-up ----------------------------------------------------------
def start_tiered(broker_factory, moto: MotoServer, overrides: Optional[dict] = None,
                 extra_args: Sequence[str] = (), **kwargs):
    o = dict(TIER_OVERRIDES)
    o.update(overrides or {})
    return tierutil.start_tiered(broker_factory, moto, PREFIX, o, extra_args, **kwargs)


# -- records ------------------------------------------------------------------------
def make_records(n: int, size: int = 1024, seed: int = 1, ts0: int = BASE_TS, ts_step: int = 1,
                 partition: int = 0, tag: bytes = b"") -> List[dict]:
    """n records with distinct keys, random values, two headers and explicit CreateTimes."""
    rnd = random.Random(seed)
    return [{
        "partition": partition,
        "key": b"key-%s-%08d" % (tag, i),
        "value": rnd.randbytes(size),
        "headers": [("i", b"%d" % i), ("h", rnd.randbytes(8))],
        "timestamp": ts0 + i * ts_step,
    } for i in range(n)]


def produce_records(bootstrap: str, topic: str, recs: List[dict], **conf) -> List[int]:
    """Produce with acks=all and lz4; return the offset of each record."""
    c = {"acks": "all", "compression.codec": "lz4", "batch.size": 262144, "linger.ms": 5}
    c.update(conf)
    p = producer(bootstrap, **c)
    return [d.offset for d in produce_ok(p, topic, recs, flush_timeout=90)]


def assert_same(msgs, expected: Dict[int, dict], what: str) -> None:
    """Every consumed message equals the produced record at its offset: key, value, headers, timestamp."""
    seen = set()
    for m in msgs:
        off = m.offset()
        assert off in expected, f"{what}: offset {off} was never produced"
        r = expected[off]
        assert m.key() == r["key"], f"{what}: key differs at offset {off}"
        assert m.value() == r["value"], f"{what}: value differs at offset {off}"
        assert m.headers() == r["headers"], f"{what}: headers differ at offset {off}: {m.headers()} != {r['headers']}"
        assert m.timestamp() == (1, r["timestamp"]), f"{what}: timestamp differs at offset {off}: {m.timestamp()}"
        seen.add(off)
    missing = sorted(set(expected) - seen)
    assert not missing, f"{what}: {len(missing)} offsets not consumed, first {missing[:5]}"


def read_from(bootstrap: str, topic: str, partition: int, start: int, count: int, timeout: float = 60.0) -> list:
    c = consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, partition, start)])
        msgs = consume(c, count, timeout=timeout)
    finally:
        c.close()
    return msgs[:count]


# -- what the broker shows ------------------------------------------------------------
def metrics(b) -> Dict[str, float]:
    """Every sample of the Prometheus text, summed over labels: {metric name: value}."""
    out: Dict[str, float] = {}
    for line in b.metrics().splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name = head.split("{", 1)[0].strip()
        try:
            out[name] = out.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return out


def tier_metrics(b) -> Dict[str, float]:
    return {k: v for k, v in metrics(b).items() if k.startswith("strata_tier_")}


def local_logs(b, topic: str, partition: int = 0) -> List[Path]:
    return sorted((b.data_dir / f"{topic}-{partition}").glob("*.log"))


def _partition_keys(keys, topic: str, partition: int) -> List[str]:
    """Keys `<PREFIX>/<topic>-<topic id>/<partition>/<name>` of one partition.

    Topic ids may contain '-', so a directory is told from another topic's only by the name before
    it: tests name their topics so that none is another's name plus "-..." (and this checks it).
    """
    out, dirs = [], set()
    for k in keys:
        parts = k.split("/")
        if len(parts) == 4 and parts[0] == PREFIX and parts[1].startswith(topic + "-") and parts[2] == str(partition):
            out.append(k)
            dirs.add(parts[1])
    assert len(dirs) <= 1, f"more than one topic directory matches {topic}: {sorted(dirs)}"
    return out


def remote_logs(moto: MotoServer, topic: str, partition: int = 0) -> List[str]:
    return [k for k in _partition_keys(moto.keys(PREFIX + "/"), topic, partition) if k.endswith(".log")]


def remote_manifest(moto: MotoServer, topic: str, partition: int = 0) -> List[str]:
    return [k for k in _partition_keys(moto.keys(PREFIX + "/"), topic, partition) if k.endswith("/manifest.json")]


def file_tier_files(root: Path, topic: str, suffix: str, partition: int = 0) -> List[Path]:
    """Files `<root>/<topic>-<topic id>/<partition>/*<suffix>` of a file:// tier (no prefix below root)."""
    return sorted(p for d in root.glob(f"{topic}-*/{partition}") for p in d.glob(f"*{suffix}"))


# -- ListOffsets v9 by hand (KIP-1005's -4 and -5 are not in confluent-kafka's OffsetSpec) --
API_LIST_OFFSETS = 2


def list_offset(bootstrap: str, topic: str, partition: int, timestamp: int, version: int = 9) -> Tuple[int, int, int]:
    """One ListOffsets v9 (flexible) request: returns (error_code, offset, timestamp)."""
    body = (
        kw.i32(-1)  # replica_id
        + kw.i8(0)  # isolation_level READ_UNCOMMITTED
        + kw.uvarint(2) + kw.compact_string(topic)
        + kw.uvarint(2) + kw.i32(partition) + kw.i32(-1) + kw.i64(timestamp) + b"\x00"  # partition tags
        + b"\x00"  # topic tags
        + b"\x00"  # request tags
    )
    with kw.connect(bootstrap) as s:
        s.sendall(kw.frame(kw.header_v2(API_LIST_OFFSETS, version, 41) + body))
        corr, r = kw.read_response(s)
    assert corr == 41
    r.tagged_fields()  # response header v1
    r.i32()  # throttle_time_ms
    assert r.uvarint() - 1 == 1
    name = r.take(r.uvarint() - 1).decode()
    assert name == topic
    assert r.uvarint() - 1 == 1
    index, err, ts, offset = r.i32(), r.i16(), r.i64(), r.i64()
    r.i32()  # leader_epoch
    assert index == partition
    return err, offset, ts


def offset_of(bootstrap: str, topic: str, partition: int, timestamp: int) -> int:
    err, offset, _ = list_offset(bootstrap, topic, partition, timestamp)
    assert err == 0, f"ListOffsets({topic}-{partition}, {timestamp}) answered error {err}"
    return offset


def list_offsets_v9_served(bootstrap: str) -> bool:
    lo, hi = kw.api_versions(bootstrap).api_keys.get(API_LIST_OFFSETS, (0, -1))
    return lo <= 9 <= hi


def offsets_for_time(bootstrap: str, topic: str, ts: int) -> Tuple[int, int]:
    """AdminClient ListOffsets by timestamp: (offset, timestamp of that record)."""
    tp = TopicPartition(topic, 0)
    r = result(admin(bootstrap).list_offsets({tp: OffsetSpec.for_timestamp(ts)}, request_timeout=REQUEST_TIMEOUT)[tp])
    return r.offset, r.timestamp


def consumer_offsets_for_time(bootstrap: str, topic: str, ts: int) -> int:
    c = consumer(bootstrap)
    try:
        (tp,) = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=REQUEST_TIMEOUT)
        assert tp.error is None, tp.error
        return tp.offset
    finally:
        c.close()


# -- waiting ------------------------------------------------------------------------
def wait_for(what: str, cond: Callable[[], object], timeout: float, diag: Callable[[], str] = lambda: "",
             interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s\n{diag()}")
        time.sleep(interval)


def state(b, moto: Optional[MotoServer], topic: str, partition: int = 0) -> str:
    """A one-paragraph picture for failure messages."""
    lines = []
    try:
        lines.append(f"tier metrics: {tier_metrics(b)}")
    except Exception as e:
        lines.append(f"metrics: {type(e).__name__}: {e}")
    lines.append(f"local .log files: {[p.name for p in local_logs(b, topic, partition)]}")
    if moto is not None and not moto.paused:
        try:
            lines.append(f"remote .log objects: {len(remote_logs(moto, topic, partition))}")
        except Exception as e:
            lines.append(f"bucket: {type(e).__name__}: {e}")
    try:
        lines.append("ListOffsets -2/-4/-5/-1: " + str([offset_of(b.bootstrap, topic, partition, t)
                                                     for t in (EARLIEST, EARLIEST_LOCAL, LATEST_TIERED, LATEST)]))
    except Exception as e:
        lines.append(f"ListOffsets: {type(e).__name__}: {e}")
    return "\n".join(lines)


def lag(b) -> float:
    return tier_metrics(b).get("strata_tier_upload_lag_bytes", -1.0)


def wait_tiered(b, moto: MotoServer, topic: str, min_remote: int, max_local: int = 3, timeout: float = 60.0,
                partition: int = 0) -> None:
    """Until at least min_remote segments are in the bucket, the lag is 0 and local retention ran."""
    def done():
        return (lag(b) == 0 and len(remote_logs(moto, topic, partition)) >= min_remote
                and len(local_logs(b, topic, partition)) <= max_local)
    wait_for(f"{topic}-{partition} tiered ({min_remote}+ remote segments, <= {max_local} local)", done, timeout,
             lambda: state(b, moto, topic, partition))


def wait_fully_tiered(b, topic: str, partition: int, timeout: float = 30.0) -> int:
    """Until the latest tiered offset (-5) is the last offset: everything written is uploaded."""
    def done():
        end = offset_of(b.bootstrap, topic, partition, LATEST)
        return end > 0 and offset_of(b.bootstrap, topic, partition, LATEST_TIERED) == end - 1 and end
    return wait_for(f"{topic}-{partition} fully uploaded (-5 == latest - 1)", done, timeout,
                    lambda: state(b, None, topic, partition))


# -- 1. upload, local retention, read back from the tier ---------------------------------
def test_segments_upload_and_read_back_byte_for_byte(moto, broker_factory, topic):
    b = start_tiered(broker_factory, moto)
    create_topic(b.bootstrap, topic, config=TIERED_TOPIC)
    plain = f"local-{topic}"
    create_topic(b.bootstrap, plain, config={"segment.bytes": str(SEGMENT)})

    recs = make_records(30_000)
    offsets = produce_records(b.bootstrap, topic, recs)
    assert offsets == list(range(len(recs)))
    produce_records(b.bootstrap, plain, make_records(3_000, seed=2))

    # ~31 MB of batches in 1 MiB segments: ~29 sealed segments to upload; local keeps ~1 MiB.
    wait_tiered(b, moto, topic, min_remote=25)
    assert remote_manifest(moto, topic), f"no manifest.json for {topic}-0 in {moto.keys(PREFIX + '/')[:20]}"
    assert watermarks(b.bootstrap, topic, 0) == (0, len(recs))
    assert offset_of(b.bootstrap, topic, 0, EARLIEST) == 0
    local_start = offset_of(b.bootstrap, topic, 0, EARLIEST_LOCAL)
    assert local_start > 20_000, f"local log start {local_start}: local retention left too much on disk"
    assert offset_of(b.bootstrap, topic, 0, LATEST_TIERED) >= local_start - 1

    m0 = tier_metrics(b)
    msgs = read_from(b.bootstrap, topic, 0, 0, len(recs), timeout=90)
    assert_same(msgs, dict(enumerate(recs)), "tiered topic read from 0")
    m1 = tier_metrics(b)

    # Every metric of the interface is exported, and moved the way it should.
    missing = [n for n in METRICS if n not in m1]
    assert not missing, f"metrics not exported: {missing}"
    assert m1["strata_tier_uploaded_segments_total"] >= 25
    assert m1["strata_tier_uploaded_bytes_total"] >= 25 * SEGMENT * 0.9
    assert m1["strata_tier_store_reachable"] == 1
    assert m1["strata_tier_upload_errors_total"] == 0
    # The read went through the tier: from the bucket (misses, remote bytes) or, if the broker keeps
    # what it uploads in its cache, from there (hits).
    d = {k: m1[k] - m0.get(k, 0) for k in METRICS}
    assert d["strata_tier_cache_hits_total"] + d["strata_tier_cache_misses_total"] > 0, d
    assert d["strata_tier_remote_read_bytes_total"] >= 20 * SEGMENT or d["strata_tier_cache_hits_total"] > 0, d
    if d["strata_tier_remote_read_bytes_total"] > 0:
        assert d["strata_tier_remote_reads_total"] > 0 and d["strata_tier_cache_misses_total"] > 0, d

    # A topic without remote.storage.enable is never uploaded and keeps its segments.
    assert remote_logs(moto, plain) == [] and remote_manifest(moto, plain) == []
    assert len(local_logs(b, plain)) >= 3


# -- 2. restore from the bucket into an empty data directory -----------------------------
AVRO = json.dumps({"type": "record", "name": "Tiered", "namespace": "compat",
                   "fields": [{"name": "a", "type": "string"}]})


def configs(bootstrap: str, topic: str) -> Dict[str, tuple]:
    return {k: (e.value, str(e.source)) for k, e in topic_config(bootstrap, topic).items()}


@pytest.mark.timeout(180)
def test_restore_into_empty_data_dir(moto, broker_factory, topic):
    """A broker started with an empty data directory and the same tier URL gets back, from the bucket:
    every topic (ids, partition counts, configs, through the uploaded `__strata_metadata` log), the
    uploaded records of tiered topics, committed group offsets (`__consumer_offsets`) and schemas by id
    (`_schemas`).

    What is NOT restored, and is not checked as if it were:
      * records newer than the last upload: a partition's active segment (never uploaded until it rolls
        by segment.bytes or segment.ms), and for the internal topics whatever was written after their
        last recovery point upload (`strata.tier.metadata.recovery.point.ms`, see
        test_disaster_recovery.py); so a commit, a schema or a topic change made just before the data
        directory was lost can be missing;
      * the records of topics without remote.storage.enable (the topic itself comes back, empty);
      * consumer group membership and generations (members join again), the read cache, and anything
        else that lives only on local disk.
    """
    b = start_tiered(broker_factory, moto)
    big, small, plain = f"{topic}-b", f"{topic}-s", f"{topic}-p"
    create_topic(b.bootstrap, big, config={**TIERED_TOPIC, "retention.ms": "864000000",
                                           "max.message.bytes": "2000000"})
    # segment.ms rolls the active segment, so every record of `small` gets uploaded.
    create_topic(b.bootstrap, small, partitions=3, config={"remote.storage.enable": "true", "segment.ms": "1000",
                                                           "cleanup.policy": "delete"})
    create_topic(b.bootstrap, plain, config={"retention.bytes": "123456789"})

    subject = unique("tiered-value")
    r = requests.post(f"{b.schema_registry_url}/subjects/{subject}/versions", data=json.dumps({"schema": AVRO}),
                      headers={"Content-Type": "application/vnd.schemaregistry.v1+json"}, timeout=10)
    assert r.status_code == 200, r.text
    schema_id = r.json()["id"]

    big_recs = make_records(8_000, seed=3)
    assert produce_records(b.bootstrap, big, big_recs) == list(range(len(big_recs)))
    small_recs = {p: make_records(100, partition=p, seed=10 + p, tag=b"%d" % p) for p in range(3)}
    for p in range(3):
        produce_records(b.bootstrap, small, small_recs[p])
    produce_records(b.bootstrap, plain, make_records(10, seed=4))

    group = unique("tiered-group")
    committed = [TopicPartition(big, 0, 1234), TopicPartition(small, 0, 50), TopicPartition(small, 2, 99)]
    res = result(admin(b.bootstrap).alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, committed)],
                                                                 request_timeout=REQUEST_TIMEOUT)[group])
    assert all(tp.error is None for tp in res.topic_partitions), res.topic_partitions

    ids_before = topic_ids(b.bootstrap, [big, small, plain])
    cfg_before = {t: configs(b.bootstrap, t) for t in (big, small, plain)}

    # Wait until what is to be restored is in the bucket: the sealed segments of `big`, every record of
    # `small`, and the internal topics rolled and uploaded after the last write (the commit above).
    wait_tiered(b, moto, big, min_remote=6)
    for p in range(3):
        wait_fully_tiered(b, small, p)
    if list_offsets_v9_served(b.bootstrap):
        wait_fully_tiered(b, "__consumer_offsets", 0)
        wait_fully_tiered(b, "_schemas", 0)
    meta = lambda: [k for k in moto.keys(f"{PREFIX}/__strata_metadata/0/") if k.endswith(".log")]  # noqa: E731
    wait_for("__strata_metadata segments uploaded", meta, 20, lambda: str(moto.keys(PREFIX + "/")[:40]))
    time.sleep(2.0)  # several roll (0.5 s) and upload (0.2 s) periods after the last metadata event
    wait_for("upload lag 0", lambda: lag(b) == 0, 20, lambda: state(b, moto, big))
    big_tiered = offset_of(b.bootstrap, big, 0, LATEST_TIERED)
    assert 0 < big_tiered < len(big_recs) - 1

    assert b.stop() == 0
    forget(b.bootstrap)
    shutil.rmtree(b.data_dir)
    b.start()

    md = admin(b.bootstrap).list_topics(timeout=10)
    for t, n in ((big, 1), (small, 3), (plain, 1)):
        assert t in md.topics and len(md.topics[t].partitions) == n, f"{t} not restored: {md.topics.get(t)}"
    assert topic_ids(b.bootstrap, [big, small, plain]) == ids_before
    for t in (big, small, plain):
        assert configs(b.bootstrap, t) == cfg_before[t], f"configs of {t} differ after restore"

    # Records: everything uploaded comes back, byte for byte; nothing else is invented.
    low, high = watermarks(b.bootstrap, big, 0)
    assert low == 0 and big_tiered + 1 <= high <= len(big_recs), (low, high, big_tiered)
    assert_same(read_from(b.bootstrap, big, 0, 0, high, timeout=60), {i: big_recs[i] for i in range(high)},
                "restored tiered topic")
    for p in range(3):
        assert watermarks(b.bootstrap, small, p) == (0, 100)
        assert_same(read_from(b.bootstrap, small, p, 0, 100), dict(enumerate(small_recs[p])), f"{small}-{p}")
    plain_low, plain_high = watermarks(b.bootstrap, plain, 0)
    assert plain_low == plain_high, \
        f"a topic without remote storage has records after restore: {(plain_low, plain_high)}"

    # The log continues after the restored end.
    assert produce_records(b.bootstrap, big, make_records(5, seed=99, tag=b"after")) == list(range(high, high + 5))

    # Committed offsets, read the way a group member reads them.
    c = consumer(b.bootstrap, **{"group.id": group})
    try:
        got = c.committed([TopicPartition(tp.topic, tp.partition) for tp in committed], timeout=REQUEST_TIMEOUT)
    finally:
        c.close()
    assert [(tp.topic, tp.partition, tp.offset) for tp in got] == \
        [(tp.topic, tp.partition, tp.offset) for tp in committed]

    # The schema, by id and under its subject.
    r = requests.get(f"{b.schema_registry_url}/schemas/ids/{schema_id}", timeout=10)
    assert r.status_code == 200, r.text
    assert json.loads(r.json()["schema"]) == json.loads(AVRO)
    r = requests.get(f"{b.schema_registry_url}/subjects/{subject}/versions/latest", timeout=10)
    assert r.status_code == 200 and r.json()["id"] == schema_id, r.text


# -- 3. the object store goes away while producing ----------------------------------------
@pytest.mark.timeout(300)
def test_store_outage_keeps_producing_and_catches_up(moto, broker_factory, topic):
    """moto_server is SIGSTOPped (requests hang: see moto.py) while records are produced.

    Produce is acknowledged and local reads go on; the outage shows in the metrics; local retention
    deletes nothing that was not uploaded, so the local log start stays at or below the last tiered
    offset + 1 and the disk holds every un-uploaded segment; after SIGCONT uploads catch up and every
    record reads back from offset 0.
    """
    b = start_tiered(broker_factory, moto)
    create_topic(b.bootstrap, topic, config=TIERED_TOPIC)

    before = make_records(8_000, seed=5)
    during = make_records(12_000, seed=6, ts0=BASE_TS + 8_000)
    after = make_records(4_000, seed=7, ts0=BASE_TS + 20_000)
    assert produce_records(b.bootstrap, topic, before) == list(range(8_000))
    wait_tiered(b, moto, topic, min_remote=5)
    tiered_before = offset_of(b.bootstrap, topic, 0, LATEST_TIERED)
    m0 = tier_metrics(b)

    moto.pause()
    try:
        t0 = time.monotonic()
        offs = produce_records(b.bootstrap, topic, during)
        produce_s = time.monotonic() - t0
        assert offs == list(range(8_000, 20_000))
        assert produce_s < 45, f"producing 12 MB took {produce_s:.1f}s while the store was down"

        # Local reads of what was just produced.
        assert_same(read_from(b.bootstrap, topic, 0, 8_000, 12_000, timeout=45),
                    {8_000 + i: r for i, r in enumerate(during)}, "local read during the outage")

        def seen():
            m = tier_metrics(b)
            return (m.get("strata_tier_store_reachable") == 0
                    or m.get("strata_tier_upload_errors_total", 0) > m0.get("strata_tier_upload_errors_total", 0))
        wait_for("the outage visible in strata_tier_store_reachable or strata_tier_upload_errors_total", seen, 75,
                 lambda: state(b, moto, topic))

        # Give local retention several passes: it must keep everything not uploaded.
        time.sleep(1.5)
        assert offset_of(b.bootstrap, topic, 0, EARLIEST) == 0
        local_start = offset_of(b.bootstrap, topic, 0, EARLIEST_LOCAL)
        assert local_start <= tiered_before + 1, \
            f"local log start {local_start} moved past the last uploaded offset {tiered_before}"
        assert len(local_logs(b, topic)) >= 10, "segments produced during the outage were deleted locally"
        assert lag(b) >= 10 * SEGMENT * 0.9, f"upload lag {lag(b)} does not count the un-uploaded segments"
        assert offset_of(b.bootstrap, topic, 0, LATEST_TIERED) == tiered_before

        # Producing goes on while the uploader waits.
        assert produce_records(b.bootstrap, topic, after) == list(range(20_000, 24_000))
    finally:
        moto.resume()

    wait_tiered(b, moto, topic, min_remote=20, timeout=90)
    m = tier_metrics(b)
    assert m["strata_tier_store_reachable"] == 1
    assert offset_of(b.bootstrap, topic, 0, LATEST_TIERED) > 19_000
    everything = {i: r for i, r in enumerate(before + during + after)}
    assert_same(read_from(b.bootstrap, topic, 0, 0, len(everything), timeout=90), everything,
                "read from 0 after the outage")


# -- 4. ListOffsets across tiers -------------------------------------------------------
def fill_tiered(b, moto, topic: str, n: int, ts_step: int = 10) -> Tuple[List[dict], int]:
    """n 1 KiB records, record i at BASE_TS + i * ts_step; wait until the oldest live only in the bucket."""
    create_topic(b.bootstrap, topic, config=TIERED_TOPIC)
    recs = make_records(n, ts_step=ts_step, seed=8)
    assert produce_records(b.bootstrap, topic, recs) == list(range(n))
    wait_tiered(b, moto, topic, min_remote=(n * 1024) // SEGMENT - 3)
    local_start = offset_of(b.bootstrap, topic, 0, EARLIEST_LOCAL)
    assert local_start > n // 2, f"local log start {local_start}: the test needs most records tiered"
    return recs, local_start


def test_list_offsets_by_timestamp_into_tiered_range(moto, broker_factory, topic):
    b = start_tiered(broker_factory, moto)
    n = 12_000
    recs, local_start = fill_tiered(b, moto, topic, n)
    ts = lambda i: BASE_TS + 10 * i  # noqa: E731

    for i in sorted({0, 1, 7, 1000, local_start // 2, local_start - 1, local_start, local_start + 1, n - 1}):
        assert offsets_for_time(b.bootstrap, topic, ts(i)) == (i, ts(i)), f"exact timestamp of offset {i}"
        if i > 0:
            assert offsets_for_time(b.bootstrap, topic, ts(i) - 5) == (i, ts(i)), f"timestamp just before offset {i}"
        assert consumer_offsets_for_time(b.bootstrap, topic, ts(i)) == i
    assert offsets_for_time(b.bootstrap, topic, BASE_TS - 1_000_000)[0] == 0
    assert offsets_for_time(b.bootstrap, topic, ts(n))[0] == -1

    tp = TopicPartition(topic, 0)
    lo = lambda spec: result(admin(b.bootstrap).list_offsets({tp: spec}, request_timeout=REQUEST_TIMEOUT)[tp])  # noqa: E731
    assert lo(OffsetSpec.earliest()).offset == 0
    assert lo(OffsetSpec.latest()).offset == n
    mx = lo(OffsetSpec.max_timestamp())
    assert (mx.offset, mx.timestamp) == (n - 1, ts(n - 1))

    # KIP-1005: -4 earliest local, -5 latest tiered (local retention may have run again since).
    assert list_offsets_v9_served(b.bootstrap), "ListOffsets v9 (KIP-1005) is not advertised"
    assert offset_of(b.bootstrap, topic, 0, EARLIEST) == 0
    local_now = offset_of(b.bootstrap, topic, 0, EARLIEST_LOCAL)
    tiered = offset_of(b.bootstrap, topic, 0, LATEST_TIERED)
    assert local_start <= local_now and local_now - 1 <= tiered < n - 1, (local_start, local_now, tiered)
    assert offset_of(b.bootstrap, topic, 0, LATEST) == n

    # The record found by time in the tiered range is the one produced there.
    i = local_start // 3
    assert_same(read_from(b.bootstrap, topic, 0, i, 1), {i: recs[i]}, "record at a tiered timestamp")



# -- read_committed below the local log start (the uploaded transaction indexes) ----------
@pytest.mark.timeout(180)
def test_read_committed_below_the_local_start_skips_aborted_transactions(moto, broker_factory, topic):
    """Transactions committed and aborted in turn over several 1 MiB segments, which are uploaded and
    deleted locally: a read_committed consumer from offset 0 gets exactly the committed records (the
    aborted ones are listed from the uploaded `.txnindex` objects, KIP-405), a read_uncommitted one
    gets them all, and segments holding ABORT markers have a `.txnindex` object."""
    b = start_tiered(broker_factory, moto)
    create_topic(b.bootstrap, topic, config=TIERED_TOPIC)
    p = producer(b.bootstrap, **{"transactional.id": unique("tiered-txn"), "acks": "all",
                                 "compression.codec": "lz4", "batch.size": 262144})
    p.init_transactions(30)
    committed, aborted = [], []
    per_txn = 600
    for t in range(10):
        recs = make_records(per_txn, seed=100 + t, tag=b"t%d" % t)
        p.begin_transaction()
        for r in recs:
            p.produce(topic, key=r["key"], value=r["value"], partition=0, timestamp=r["timestamp"])
        if t % 2:
            assert p.flush(30) == 0  # written to the log before the abort, not purged
            p.abort_transaction(30)
            aborted += recs
        else:
            p.commit_transaction(30)
            committed += recs

    wait_tiered(b, moto, topic, min_remote=4)
    local_start = offset_of(b.bootstrap, topic, 0, EARLIEST_LOCAL)
    assert local_start > 2 * (per_txn + 1), f"local log start {local_start}: the first abort is not tiered"
    txn_indexes = [k for k in _partition_keys(moto.keys(PREFIX + "/"), topic, 0) if k.endswith(".txnindex")]
    assert len(txn_indexes) >= 2, f"uploaded transaction indexes: {txn_indexes}"

    c = consumer(b.bootstrap, **{"isolation.level": "read_committed"})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        got = consume(c, len(committed), timeout=90)
    finally:
        c.close()
    assert [m.key() for m in got] == [r["key"] for r in committed], "read_committed from the tiered range"
    c = consumer(b.bootstrap, **{"isolation.level": "read_uncommitted"})  # librdkafka's default is read_committed
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        everything = consume(c, len(committed) + len(aborted), timeout=90)
    finally:
        c.close()
    assert sorted(m.key() for m in everything) == sorted(r["key"] for r in committed + aborted)

def test_kip1005_offsets_without_remote_storage(broker, topic):
    """Where nothing tiers, -4 is the log start and -5 finds nothing (offset -1), as in Kafka."""
    create_topic(broker.bootstrap, topic)
    produce_records(broker.bootstrap, topic, make_records(10))
    tp = TopicPartition(topic, 0, 3)
    assert result(admin(broker.bootstrap).delete_records([tp], request_timeout=REQUEST_TIMEOUT)[tp]).low_watermark == 3
    assert offset_of(broker.bootstrap, topic, 0, EARLIEST_LOCAL) == 3
    assert offset_of(broker.bootstrap, topic, 0, LATEST_TIERED) == -1


def test_remote_storage_needs_a_tier(broker, topic):
    """Without --tier-url, remote.storage.enable=true is refused (INVALID_CONFIG), as Kafka
    refuses it without remote.log.storage.system.enable: accepted, it would stop local retention,
    which deletes only uploaded segments."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    a = admin(broker.bootstrap)
    fs = a.create_topics([NewTopic(topic, 1, 1, config={"remote.storage.enable": "true"})],
                         request_timeout=REQUEST_TIMEOUT)
    with pytest.raises(KafkaException) as ei:
        fs[topic].result(timeout=30)
    assert ei.value.args[0].code() == KafkaError.INVALID_CONFIG
    assert "tier" in ei.value.args[0].str()


# -- 5. DeleteRecords below the local log start ---------------------------------------
def test_delete_records_below_local_start(moto, broker_factory, topic):
    b = start_tiered(broker_factory, moto)
    n = 12_000
    recs, local_start = fill_tiered(b, moto, topic, n, ts_step=1)
    remote_before = len(remote_logs(moto, topic))
    cut = local_start // 2

    tp = TopicPartition(topic, 0, cut)
    deleted = result(admin(b.bootstrap).delete_records([tp], request_timeout=REQUEST_TIMEOUT)[tp])
    assert deleted.low_watermark == cut
    assert watermarks(b.bootstrap, topic, 0) == (cut, n)
    assert offset_of(b.bootstrap, topic, 0, EARLIEST) == cut
    assert offset_of(b.bootstrap, topic, 0, EARLIEST_LOCAL) >= local_start

    # Below the new start is out of range; the new start reads from the tier.
    for off in (0, cut - 1):
        with kw.connect(b.bootstrap) as s:
            s.sendall(kw.fetch_v4_request(5, topic, 0, off, max_wait_ms=10))
            _, r = kw.read_response(s)
        assert kw.parse_fetch_v4(r)[(topic, 0)].error_code == 1, f"fetch at {off} below the log start"
    assert_same(read_from(b.bootstrap, topic, 0, cut, 200), {cut + i: recs[cut + i] for i in range(200)},
                "read at the new log start")

    # Remote retention deletes the segments wholly below the new start.
    wait_for("remote segments below the log start deleted", lambda: len(remote_logs(moto, topic)) < remote_before,
             30, lambda: state(b, moto, topic))
    assert len(remote_logs(moto, topic)) >= remote_before - (cut * 1024) // SEGMENT - 1

    # The log start holds across a restart.
    assert b.stop() == 0
    b.start()
    assert watermarks(b.bootstrap, topic, 0) == (cut, n)


# -- 6. start-up checks and the file:// tier -------------------------------------------------
def assert_tier_flags() -> None:
    """The binary knows --tier-url (else a start-up failure would be clap's, which also says "tier")."""
    out = subprocess.run([str(strata_bin()), "--help"], capture_output=True, text=True, timeout=10).stdout
    assert "--tier-url" in out, "this strata binary has no --tier-url flag"


def expect_start_failure(b, what: str) -> str:
    """b.start() must fail by the broker exiting non-zero with a message about the tier."""
    t0 = time.monotonic()
    with pytest.raises(BrokerStartError) as e:
        b.start()
    took = time.monotonic() - t0
    msg = str(e.value)
    assert "exited during start-up" in msg, f"{what}: the broker did not exit ({took:.0f}s): {msg}"
    assert "code 0" not in msg, f"{what}: {msg}"
    assert "tier" in msg.lower(), f"{what}: the start-up error does not say it is about the tier: {msg}"
    return msg


@pytest.mark.timeout(150)
def test_unreachable_tier_url_stops_start_up(moto, broker_factory):
    """The same broker starts against moto, then cannot start once nothing listens on moto's port."""
    assert_tier_flags()
    b = start_tiered(broker_factory, moto, start_timeout=90)
    assert b.stop() == 0
    moto.stop()
    expect_start_failure(b, "store port closed")


@pytest.mark.timeout(150)
def test_missing_bucket_stops_start_up(moto, broker_factory):
    assert_tier_flags()
    b = start_tiered(broker_factory, moto, start_timeout=90)
    assert b.stop() == 0
    b.extra_args = ["--tier-url", "s3://no-such-bucket/cluster"]
    expect_start_failure(b, "bucket does not exist")


def test_file_tier_url_round_trip(broker_factory, topic, tmp_path):
    """file:///abs/path, no moto; tiering on by the broker default log.remote.storage.enable."""
    root = tmp_path / "tier"
    root.mkdir()
    o = dict(TIER_OVERRIDES, **{"log.remote.storage.enable": "true", "log.local.retention.bytes": SEGMENT})
    b = broker_factory(o, extra_args=["--tier-url", f"file://{root}"])
    create_topic(b.bootstrap, topic, config={"segment.bytes": str(SEGMENT)})
    assert topic_config(b.bootstrap, topic)["remote.storage.enable"].value == "true"
    recs = make_records(6_000, seed=9)
    assert produce_records(b.bootstrap, topic, recs) == list(range(len(recs)))

    wait_for("segments in the file tier", lambda: len(file_tier_files(root, topic, ".log")) >= 4
             and lag(b) == 0 and len(local_logs(b, topic)) <= 3, 60,
             lambda: f"{state(b, None, topic)}\nfiles: {sorted(str(p.relative_to(root)) for p in root.rglob('*'))[:30]}")
    assert file_tier_files(root, topic, "manifest.json"), "no manifest.json in the file tier"
    assert offset_of(b.bootstrap, topic, 0, EARLIEST_LOCAL) > 0
    assert_same(read_from(b.bootstrap, topic, 0, 0, len(recs)), dict(enumerate(recs)), "file tier read from 0")


# -- 7. docker/docker-compose.yml's environment, against moto --------------------------------
COMPOSE = Path(__file__).resolve().parent.parent / "docker" / "docker-compose.yml"


def test_docker_compose_environment_against_moto(moto, broker_factory, topic):
    """The strata service's environment from docker-compose.yml, with only AWS_ENDPOINT_URL pointed at
    moto instead of MinIO: STRATA_TIER_URL (not the flag) and STRATA_OVERRIDES (every new topic tiers)
    work as written, and the bucket minio-init creates is the one the tier URL names.

    No Docker engine runs here; this keeps the compose file honest by running what it configures.
    """
    import yaml

    services = yaml.safe_load(COMPOSE.read_text())["services"]
    env = {k: str(v) for k, v in services["strata"]["environment"].items()}
    assert services["strata"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    tier = env["STRATA_TIER_URL"]
    assert tier.startswith("s3://")
    bucket, _, prefix = tier[len("s3://"):].partition("/")
    init = " ".join(services["minio-init"]["command"])
    assert f"mc mb --ignore-existing local/{bucket}" in init, "minio-init does not create the tier URL's bucket"
    assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        services["minio"]["environment"]["MINIO_ROOT_USER"], services["minio"]["environment"]["MINIO_ROOT_PASSWORD"])

    env.pop("STRATA_ADVERTISED_ADDR")  # the harness gives the addresses as flags
    env["AWS_ENDPOINT_URL"] = moto.url
    # The harness passes no --override here, so STRATA_OVERRIDES is read; short intervals ride along.
    env["STRATA_OVERRIDES"] = ",".join([env["STRATA_OVERRIDES"]] + [f"{k}={v}" for k, v in TIER_OVERRIDES.items()])
    if bucket != moto.bucket:
        moto.client().create_bucket(Bucket=bucket)
    b = broker_factory(None, env=env)

    create_topic(b.bootstrap, topic, config={"segment.bytes": str(SEGMENT), "local.retention.bytes": str(SEGMENT)})
    assert topic_config(b.bootstrap, topic)["remote.storage.enable"].value == "true"
    recs = make_records(4_000, seed=11)
    assert produce_records(b.bootstrap, topic, recs) == list(range(len(recs)))
    objects = lambda: [k for k in moto.client().list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/{topic}-")  # noqa: E731
                       .get("Contents", [])]
    wait_for(f"segments under s3://{bucket}/{prefix}/{topic}-*", lambda: len(objects()) >= 3, 60,
             lambda: state(b, moto, topic))
    assert_same(read_from(b.bootstrap, topic, 0, 0, len(recs)), dict(enumerate(recs)), "compose environment")
