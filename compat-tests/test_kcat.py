"""kcat (Debian's package; it links the system librdkafka, 2.0.2 on Debian 12).

-L -J metadata, -P produce with key delimiter, headers and codecs, -C read-back.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from kafkautil import consume_range, create_topic, produce_ok, producer

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
pytestmark = pytest.mark.skipif(KCAT is None, reason="kcat not installed (apt-get install kcat)")


def kcat(*args, input: bytes | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess:
    p = subprocess.run([KCAT, *args], input=input, capture_output=True, timeout=timeout)
    assert p.returncode == 0, f"kcat {' '.join(args)} exited {p.returncode}: {p.stderr.decode(errors='replace')}"
    return p


def test_kcat_metadata_json(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=3)
    out = kcat("-b", broker.bootstrap, "-L", "-J", "-m", "10").stdout
    md = json.loads(out)
    assert len(md["brokers"]) == 1
    b = md["brokers"][0]
    assert b["name"] == broker.bootstrap
    topics = {t["topic"]: t for t in md["topics"]}
    assert topic in topics
    parts = topics[topic]["partitions"]
    assert sorted(p["partition"] for p in parts) == [0, 1, 2]
    for p in parts:
        assert p["leader"] == b["id"]
        assert [r["id"] for r in p["replicas"]] == [b["id"]]
        assert [r["id"] for r in p["isrs"]] == [b["id"]]


def test_kcat_metadata_single_topic(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    md = json.loads(kcat("-b", broker.bootstrap, "-L", "-J", "-t", topic, "-m", "10").stdout)
    assert [t["topic"] for t in md["topics"]] == [topic]
    assert len(md["topics"][0]["partitions"]) == 2


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_kcat_produce_then_consume(broker, topic, codec):
    create_topic(broker.bootstrap, topic)
    lines = [f"key{i}|value {i} {'x' * (i * 13)}" for i in range(50)] + ["|no key line"]
    kcat("-b", broker.bootstrap, "-P", "-t", topic, "-p", "0", "-K", "|", "-z", codec,
         "-H", "origin=kcat", "-H", f"codec={codec}", input=("\n".join(lines) + "\n").encode())

    # read back with librdkafka 2.16 (confluent-kafka)
    msgs = consume_range(broker.bootstrap, topic, 0, 0, len(lines))
    assert [m.offset() for m in msgs] == list(range(len(lines)))
    assert [m.key() for m in msgs[:-1]] == [f"key{i}".encode() for i in range(50)]
    assert msgs[-1].key() in (None, b"")  # kcat sends an empty key as a null key
    assert [m.value() for m in msgs] == [line.split("|", 1)[1].encode() for line in lines]
    assert {tuple(m.headers()) for m in msgs} == {(("origin", b"kcat"), ("codec", codec.encode()))}

    # and with kcat itself
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-e", "-o", "beginning", "-q",
               "-f", "%k|%s|%h|%o\n").stdout.decode()
    got = out.splitlines()
    assert got[:50] == [f"key{i}|value {i} {'x' * (i * 13)}|origin=kcat,codec={codec}|{i}" for i in range(50)]
    assert got[50] == f"|no key line|origin=kcat,codec={codec}|50"
    assert len(got) == 51


def test_kcat_reads_librdkafka_records(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    recs = [{"partition": i % 2, "key": b"rk%d" % i, "value": b"rv%d" % i, "headers": [("h", b"%d" % i)],
             "timestamp": 1_700_000_000_000 + i} for i in range(20)]
    produce_ok(producer(broker.bootstrap, **{"compression.codec": "zstd"}), topic, recs)
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-p", "1", "-e", "-o", "beginning", "-q",
               "-f", "%k|%s|%h|%T|%p|%o\n").stdout.decode()
    expected = [f"rk{i}|rv{i}|h={i}|{1_700_000_000_000 + i}|1|{i // 2}" for i in range(1, 20, 2)]
    assert out.splitlines() == expected


def test_kcat_consume_offsets(broker, topic):
    create_topic(broker.bootstrap, topic)
    kcat("-b", broker.bootstrap, "-P", "-t", topic, "-p", "0",
         input=("\n".join(f"line{i}" for i in range(30)) + "\n").encode())
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "25", "-e", "-q", "-f", "%o:%s\n").stdout
    assert out.decode().splitlines() == [f"{i}:line{i}" for i in range(25, 30)]
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "-3", "-e", "-q", "-f", "%o:%s\n").stdout
    assert out.decode().splitlines() == [f"{i}:line{i}" for i in range(27, 30)]
    out = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-c", "4", "-q",
               "-f", "%o:%s\n").stdout
    assert out.decode().splitlines() == [f"{i}:line{i}" for i in range(4)]
