"""A topic's compression.type, as Kafka applies it (librdkafka's test suite creates topics with
compression.type=lz4 and expects them to work): batches in another codec are recompressed once on
append, batches already in the topic's codec are stored byte for byte, and every client reads the
records back unchanged (keys, values, headers, offsets, timestamps).

confluent-kafka (librdkafka 2.16) and kafka-python produce in several codecs; the codec the broker
stored is read from raw Fetch answers (kafka_wire), the records through confluent-kafka and
kafka-python consumers.
"""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic
from kafka import KafkaConsumer, KafkaProducer

import kafka_wire as kw
from kafkautil import admin, consume_range, create_topic, produce_ok, producer, result, topic_config

pytestmark = pytest.mark.timeout(60)

CODEC_IDS = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def stored_codecs(bootstrap: str, topic: str) -> list:
    return [b.codec for b in kw.fetch_all_batches(bootstrap, topic, 0)]


def records(n: int, tag: str) -> list:
    return [{"key": b"k%d" % i, "value": (b"%s-%04d-" % (tag.encode(), i)) * 20,
             "headers": [("i", str(i).encode())], "timestamp": 1_700_000_000_000 + i, "partition": 0}
            for i in range(n)]


@pytest.mark.parametrize("topic_codec", ["uncompressed", "gzip", "snappy", "lz4"])
def test_batches_are_stored_in_the_topic_codec(broker, topic, topic_codec):
    create_topic(broker.bootstrap, topic, config={"compression.type": topic_codec})
    sent = []
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        batch = records(30, codec)
        produce_ok(producer(broker.bootstrap, **{"compression.codec": codec, "linger.ms": 20}), topic, batch)
        sent += batch
    assert set(stored_codecs(broker.bootstrap, topic)) == {CODEC_IDS[topic_codec]}
    msgs = consume_range(broker.bootstrap, topic, 0, 0, len(sent))
    assert [m.offset() for m in msgs] == list(range(len(sent)))
    assert [(m.key(), m.value(), m.headers(), m.timestamp()[1]) for m in msgs] == [
        (r["key"], r["value"], r["headers"], r["timestamp"]) for r in sent]


def test_a_batch_already_in_the_codec_is_stored_byte_for_byte(broker, topic):
    create_topic(broker.bootstrap, topic, config={"compression.type": "gzip"})
    batch = kw.build_batch([b"payload-%d" % i * 10 for i in range(20)], compression=1)
    with kw.connect(broker.bootstrap) as s:
        s.sendall(kw.produce_v3_request(1, topic, 0, batch))
        _, r = kw.read_response(s)
        assert kw.parse_produce_v3(r)[(topic, 0)].error_code == 0
    (got,) = kw.fetch_all_batches(broker.bootstrap, topic, 0)
    assert got.raw[16:] == batch[16:]


def test_zstd_topic_with_levels_and_kafka_python(broker, topic):
    create_topic(broker.bootstrap, topic, config={"compression.type": "zstd", "compression.zstd.level": "9"})
    cfg = topic_config(broker.bootstrap, topic)
    assert (cfg["compression.type"].value, cfg["compression.zstd.level"].value) == ("zstd", "9")
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type="gzip", linger_ms=5)
    for i in range(50):
        p.send(topic, key=b"k%d" % i, value=b"kafka-python-%d" % i * 10, partition=0)
    p.flush(timeout=20)
    p.close()
    msgs = consume_range(broker.bootstrap, topic, 0, 0, 50)
    assert [m.value() for m in msgs] == [b"kafka-python-%d" % i * 10 for i in range(50)]
    c = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                      consumer_timeout_ms=10_000, group_id=None)
    try:
        got = [m.value for m, _ in zip(c, range(50))]
    finally:
        c.close()
    assert got == [b"kafka-python-%d" % i * 10 for i in range(50)]


def test_bad_codecs_and_levels_are_refused(broker, topic):
    a = admin(broker.bootstrap)
    for config in ({"compression.type": "brotli"}, {"compression.gzip.level": "10"},
                   {"compression.lz4.level": "0"}, {"compression.zstd.level": "23"}):
        with pytest.raises(KafkaException) as e:
            result(a.create_topics([NewTopic(topic, 1, 1, config=config)])[topic])
        assert e.value.args[0].name() == "INVALID_CONFIG", (config, e.value)
