"""KafkaJS 2.2.4 (npm, run by Node): plain, idempotent and transactional producers, group consumers.

The scripts live in js/client.mjs (dependencies pinned in js/package-lock.json and installed by
run.sh with `npm ci`). Each run is a child process with a timeout that prints one JSON object;
what it printed is checked here, and what KafkaJS wrote is also read back with librdkafka.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

import kafka_wire as kw
from kafkautil import consume, consumer, create_topic, unique, watermarks

JS = Path(__file__).resolve().parent / "js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    NODE is None or not (JS / "node_modules" / "kafkajs").is_dir(),
    reason="node or js/node_modules missing (apt-get install nodejs npm; run.sh runs `npm ci`)",
)


def node(*args: str, timeout: float = 60.0) -> dict:
    p = subprocess.run([NODE, str(JS / "client.mjs"), *map(str, args)], capture_output=True, timeout=timeout,
                       cwd=str(JS))
    stdout = p.stdout.decode(errors="replace")
    stderr = p.stderr.decode(errors="replace")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, f"node {' '.join(map(str, args))} printed no JSON (exit {p.returncode})\n" \
                  f"stdout: {stdout[-2000:]}\nstderr: {stderr[-4000:]}"
    out = json.loads(lines[-1])
    assert p.returncode == 0 and "error" not in out, \
        f"node {' '.join(map(str, args))} exited {p.returncode}: {out.get('error')}\nstderr: {stderr[-4000:]}"
    return out


def rd_read_all(bootstrap: str, topic: str, partitions: int, count: int, **conf) -> list:
    c = consumer(bootstrap, **conf)
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        return consume(c, count, timeout=30)
    finally:
        c.close()


@pytest.mark.parametrize("mode", ["plain", "idempotent"])
def test_kafkajs_produce_then_consume(broker, topic, mode):
    partitions, n = 3, 600
    create_topic(broker.bootstrap, topic, partitions=partitions)
    sent = node("produce", broker.bootstrap, topic, n, partitions, mode)
    assert sent["sent"] == n
    assert {r["errorCode"] for r in sent["results"]} == {0}
    # Each send of 50 records gives one answer per partition; the base offsets of a partition
    # follow each other without gaps or repeats.
    per_part = {}
    for r in sent["results"]:
        per_part.setdefault(r["partition"], []).append(r["baseOffset"])
    for p in range(partitions):
        assert per_part[p] == sorted(per_part[p]) and len(set(per_part[p])) == len(per_part[p]), per_part[p]
        assert per_part[p][0] == 0
    for p in range(partitions):
        assert watermarks(broker.bootstrap, topic, p) == (0, n // partitions + 1)

    got = node("consume", broker.bootstrap, topic, unique("js-group"), "end", "committed")
    assert not got["timedOut"], f"KafkaJS consumer read {len(got['messages'])} of {n + partitions} records"
    msgs = got["messages"]
    assert len(msgs) == n + partitions
    for p in range(partitions):
        mine = [m for m in msgs if m["partition"] == p]
        assert [m["offset"] for m in mine] == list(range(n // partitions + 1))
        assert [m["value"] for m in mine] == [f"{mode}-{i}" for i in range(p, n, partitions)] + ["end"]
        assert [m["key"] for m in mine[:-1]] == [f"k{i}" for i in range(p, n, partitions)]

    if mode == "idempotent":
        # the stored batches carry KafkaJS's producer id and gapless sequences
        for p in range(partitions):
            kw.assert_idempotent_batches(broker.bootstrap, topic, p, n // partitions + 1)

    # and librdkafka reads what KafkaJS wrote, headers included
    rd = rd_read_all(broker.bootstrap, topic, partitions, n + partitions)
    values = Counter(m.value() for m in rd)
    assert values == Counter([f"{mode}-{i}".encode() for i in range(n)] + [b"end"] * partitions)
    for m in rd:
        if m.key() != b"end":
            assert m.headers() == [("i", m.key()[1:])]


def test_kafkajs_transactions_commit_and_abort(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    res = node("txn", broker.bootstrap, topic, unique("js-txn"), timeout=90)
    assert res["steps"] == ["committed1", "aborted", "committed2"]

    committed = node("consume", broker.bootstrap, topic, unique("js-rc"), "end", "committed")
    assert not committed["timedOut"], committed
    values = [m["value"] for m in committed["messages"]]
    assert sorted(values) == sorted([f"committed1-{i}" for i in range(10)] + [f"committed2-{i}" for i in range(10)]
                                    + ["end", "end"])

    uncommitted = node("consume", broker.bootstrap, topic, unique("js-ru"), "end", "uncommitted")
    assert not uncommitted["timedOut"], uncommitted
    values = [m["value"] for m in uncommitted["messages"]]
    assert sorted(values) == sorted([f"{t}-{i}" for t in ("committed1", "aborted", "committed2") for i in range(10)]
                                    + ["end", "end"])

    # librdkafka agrees: read_committed sees 22 data records, read_uncommitted 32 (control
    # records are never handed to the application).
    rc = rd_read_all(broker.bootstrap, topic, 2, 22, **{"isolation.level": "read_committed"})
    assert not any(m.value().startswith(b"aborted") for m in rc)
    ru = rd_read_all(broker.bootstrap, topic, 2, 32, **{"isolation.level": "read_uncommitted"})
    assert sum(1 for m in ru if m.value().startswith(b"aborted")) == 10
