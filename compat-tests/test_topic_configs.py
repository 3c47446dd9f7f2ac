"""Kafka 4.1's topic configs through confluent-kafka's AdminClient (librdkafka), and zstd
refused to old fetchers (raw Fetch v4 / Produce v3 frames).

Every config Kafka 4.1 lists is described with Kafka's default and source; the ones Strata
added in the #13 sweep are created, described back (value and source), altered and described
again; values and configs Strata cannot honour are refused with INVALID_CONFIG saying why.
"""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, NewTopic, ResourceType

import kafka_wire as kw
from kafkautil import REQUEST_TIMEOUT, admin, consume_range, create_topic, producer, result, topic_config

pytestmark = pytest.mark.timeout(120)

# Kafka 4.1's topic configs (LogConfig) with their defaults, but for flush.messages: Strata's 1
# (fsync before acks=all is answered) is its documented choice against Kafka's Long.MAX_VALUE.
KAFKA_DEFAULTS = {
    "cleanup.policy": "delete",
    "compression.gzip.level": "-1",
    "compression.lz4.level": "9",
    "compression.type": "producer",
    "compression.zstd.level": "3",
    "delete.retention.ms": "86400000",
    "file.delete.delay.ms": "60000",
    "flush.messages": "1",
    "follower.replication.throttled.replicas": "",
    "index.interval.bytes": "4096",
    "leader.replication.throttled.replicas": "",
    "local.retention.bytes": "-2",
    "local.retention.ms": "-2",
    "max.compaction.lag.ms": "9223372036854775807",
    "max.message.bytes": "1048588",
    "message.timestamp.after.max.ms": "3600000",
    "message.timestamp.before.max.ms": "9223372036854775807",
    "message.timestamp.type": "CreateTime",
    "min.cleanable.dirty.ratio": "0.5",
    "min.compaction.lag.ms": "0",
    "min.insync.replicas": "1",
    "preallocate": "false",
    "remote.log.copy.disable": "false",
    "remote.log.delete.on.disable": "false",
    "remote.storage.enable": "false",
    "retention.bytes": "-1",
    "retention.ms": "604800000",
    "segment.bytes": "1073741824",
    "segment.index.bytes": "10485760",
    "segment.jitter.ms": "0",
    "segment.ms": "604800000",
    "unclean.leader.election.enable": "false",
}

# The configs the sweep added, a non-default value for each, and a second value to alter to.
NEW = {
    "file.delete.delay.ms": ("5000", "0"),
    "follower.replication.throttled.replicas": ("0:1", "*"),
    "leader.replication.throttled.replicas": ("*", "0:1"),
    "max.compaction.lag.ms": ("600000", "700000"),
    "preallocate": ("true", "false"),
    "segment.index.bytes": ("4096", "8192"),
    "segment.jitter.ms": ("1000", "2000"),
    "unclean.leader.election.enable": ("true", "false"),
}


def source(entry) -> ConfigSource:
    return entry.source if isinstance(entry.source, ConfigSource) else ConfigSource(entry.source)


def create_error(bootstrap: str, topic: str, config: dict) -> KafkaError:
    a = admin(bootstrap)
    fs = a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config=config)],
                         request_timeout=REQUEST_TIMEOUT)
    with pytest.raises(KafkaException) as ei:
        fs[topic].result(timeout=REQUEST_TIMEOUT)
    assert topic not in a.list_topics(timeout=10).topics
    return ei.value.args[0]


def test_every_kafka_topic_config_is_described_with_kafkas_default(broker, topic):
    create_topic(broker.bootstrap, topic)
    cfg = topic_config(broker.bootstrap, topic)
    for name, default in KAFKA_DEFAULTS.items():
        assert name in cfg, f"{name} missing from DescribeConfigs"
        assert cfg[name].value == default, (name, cfg[name].value)
        assert source(cfg[name]) == ConfigSource.DEFAULT_CONFIG, name


def test_new_configs_create_describe_alter(broker, topic):
    config = {name: first for name, (first, _) in NEW.items()}
    config["cleanup.policy"] = "compact"
    create_topic(broker.bootstrap, topic, config=config)
    cfg = topic_config(broker.bootstrap, topic)
    for name, (first, _) in NEW.items():
        assert cfg[name].value == first, (name, cfg[name].value)
        assert source(cfg[name]) == ConfigSource.DYNAMIC_TOPIC_CONFIG, name
    # Kafka's synonyms: the topic value first, then the broker-level default.
    syn = list(cfg["segment.jitter.ms"].synonyms.values())
    assert [(s.name, source(s)) for s in syn] == [
        ("segment.jitter.ms", ConfigSource.DYNAMIC_TOPIC_CONFIG),
        ("log.roll.jitter.ms", ConfigSource.DEFAULT_CONFIG),
    ]
    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry(name, second, incremental_operation=AlterConfigOpType.SET) for name, (_, second) in NEW.items()
    ])
    result(admin(broker.bootstrap).incremental_alter_configs([res], request_timeout=REQUEST_TIMEOUT)[res])
    cfg = topic_config(broker.bootstrap, topic)
    for name, (_, second) in NEW.items():
        assert cfg[name].value == second, (name, cfg[name].value)


def test_broker_synonym_of_a_new_config_is_the_topic_default(broker_factory, topic):
    b = broker_factory({"log.roll.jitter.hours": "1", "log.segment.delete.delay.ms": "0"})
    create_topic(b.bootstrap, topic)
    cfg = topic_config(b.bootstrap, topic)
    assert cfg["segment.jitter.ms"].value == "3600000"
    assert source(cfg["segment.jitter.ms"]) == ConfigSource.STATIC_BROKER_CONFIG
    assert cfg["file.delete.delay.ms"].value == "0"
    assert source(cfg["file.delete.delay.ms"]) == ConfigSource.STATIC_BROKER_CONFIG


@pytest.mark.parametrize("config, why", [
    ({"message.format.version": "3.0"}, "removed in Kafka 4.0"),
    ({"message.timestamp.difference.max.ms": "1000"}, "message.timestamp.before.max.ms"),
    ({"message.downconversion.enable": "true"}, "never down-converts"),
    ({"remote.log.copy.disable": "true"}, "cannot stop uploading"),
    ({"remote.log.delete.on.disable": "true"}, "not supported"),
    ({"leader.replication.throttled.replicas": "zero:one"}, "[partitionId]:[brokerId]"),
    ({"min.compaction.lag.ms": "10000", "max.compaction.lag.ms": "5000"}, "max.compaction.lag.ms"),
])
def test_unsupported_configs_are_refused_saying_why(broker, topic, config, why):
    err = create_error(broker.bootstrap, topic, config)
    assert err.code() == KafkaError.INVALID_CONFIG, err
    assert why in err.str(), err.str()


def test_zstd_produce_below_v7_is_refused(broker, topic):
    create_topic(broker.bootstrap, topic)
    with kw.connect(broker.bootstrap) as s:
        # Produce v3 with a zstd batch: refused (KIP-110, zstd from v7); plain is taken.
        s.sendall(kw.produce_v3_request(1, topic, 0, kw.build_batch([b"x" * 100], compression=4)))
        _, r = kw.read_response(s)
        assert kw.parse_produce_v3(r)[(topic, 0)].error_code == 76  # UNSUPPORTED_COMPRESSION_TYPE
        s.sendall(kw.produce_v3_request(2, topic, 0, kw.build_batch([b"plain"])))
        _, r = kw.read_response(s)
        assert kw.parse_produce_v3(r)[(topic, 0)].error_code == 0


def test_zstd_topic_is_refused_to_old_fetchers_as_kafka_does(broker, topic):
    # Kafka's rule (KafkaApis.maybeConvertFetchedData): a topic whose compression.type is zstd
    # answers a fetch below v10 with UNSUPPORTED_COMPRESSION_TYPE and no records; other topics,
    # and the same topic fetched at v10+, are served.
    zstd_topic, plain_topic = topic + "-zstd", topic + "-plain"
    create_topic(broker.bootstrap, zstd_topic, config={"compression.type": "zstd"})
    create_topic(broker.bootstrap, plain_topic)
    p = producer(broker.bootstrap, **{"linger.ms": 0})
    for t in (zstd_topic, plain_topic):
        p.produce(t, value=b"v" * 100)
    assert p.flush(30) == 0
    with kw.connect(broker.bootstrap) as s:
        s.sendall(kw.fetch_v4_request(1, zstd_topic, 0, 0))
        _, r = kw.read_response(s)
        refused = kw.parse_fetch_v4(r)[(zstd_topic, 0)]
        assert refused.error_code == 76 and refused.records == b""
        s.sendall(kw.fetch_v4_request(2, plain_topic, 0, 0))
        _, r = kw.read_response(s)
        served = kw.parse_fetch_v4(r)[(plain_topic, 0)]
        assert served.error_code == 0 and len(kw.split_batches(served.records)) == 1
    # A current client (Fetch v10+) reads the recompressed zstd batch.
    msgs = consume_range(broker.bootstrap, zstd_topic, 0, 0, 1)
    assert [m.value() for m in msgs] == [b"v" * 100]
