"""Admin APIs through confluent-kafka's AdminClient (librdkafka 2.16).

CreateTopics, Metadata (list/describe, auto-create), DeleteTopics,
CreatePartitions, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs,
DescribeCluster. Every assertion reads state back from the broker.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from kafkautil import (
    REQUEST_TIMEOUT,
    admin,
    consumer,
    create_topic,
    producer,
    result,
    topic_config,
    wait_for_topic,
    watermarks,
)


def error_of(fut) -> KafkaError:
    with pytest.raises(KafkaException) as ei:
        fut.result(timeout=REQUEST_TIMEOUT)
    return ei.value.args[0]


def source(entry: ConfigEntry) -> ConfigSource:
    return ConfigSource(entry.source) if not isinstance(entry.source, ConfigSource) else entry.source


def alter_incremental(bootstrap: str, topic: str, *entries: ConfigEntry):
    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=list(entries))
    return admin(bootstrap).incremental_alter_configs([res], request_timeout=REQUEST_TIMEOUT)[res]


# -- CreateTopics ---------------------------------------------------------------------
def test_create_topic_with_partitions_and_configs(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=3,
                 config={"retention.ms": "3600000", "segment.bytes": "10485760", "max.message.bytes": "65536"})
    a = admin(broker.bootstrap)
    md = a.list_topics(topic=topic, timeout=10)
    t = md.topics[topic]
    assert t.error is None
    assert sorted(t.partitions) == [0, 1, 2]
    broker_ids = set(md.brokers)
    assert len(broker_ids) == 1
    for p in t.partitions.values():
        assert p.leader in broker_ids
        assert p.replicas == [p.leader]
        assert p.isrs == [p.leader]
        assert p.error is None

    cfg = topic_config(broker.bootstrap, topic)
    assert cfg["retention.ms"].value == "3600000"
    assert source(cfg["retention.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert not cfg["retention.ms"].is_default
    assert cfg["segment.bytes"].value == "10485760"
    assert cfg["max.message.bytes"].value == "65536"


def test_create_topic_default_partitions_and_replication(broker, topic):
    # num_partitions=-1 / replication_factor=-1: the broker's defaults (CreateTopics v4+).
    a = admin(broker.bootstrap)
    fs = a.create_topics([NewTopic(topic, num_partitions=-1, replication_factor=-1)], request_timeout=REQUEST_TIMEOUT)
    result(fs[topic])
    wait_for_topic(broker.bootstrap, topic, 1)


def test_create_topic_validate_only_creates_nothing(broker, topic):
    a = admin(broker.bootstrap)
    fs = a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)], validate_only=True,
                         request_timeout=REQUEST_TIMEOUT)
    assert result(fs[topic]) is None
    md = a.list_topics(timeout=10)
    assert topic not in md.topics
    # and validation still reports errors
    fs = a.create_topics([NewTopic(topic, num_partitions=0, replication_factor=1)], validate_only=True,
                         request_timeout=REQUEST_TIMEOUT)
    assert error_of(fs[topic]).code() == KafkaError.INVALID_PARTITIONS
    assert topic not in a.list_topics(timeout=10).topics


def test_create_topic_already_exists(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    a = admin(broker.bootstrap)
    fs = a.create_topics([NewTopic(topic, num_partitions=5, replication_factor=1)], request_timeout=REQUEST_TIMEOUT)
    assert error_of(fs[topic]).code() == KafkaError.TOPIC_ALREADY_EXISTS
    # the existing topic is untouched
    assert len(a.list_topics(topic=topic, timeout=10).topics[topic].partitions) == 2


@pytest.mark.parametrize("bad", ["bad name!", "slash/topic", "..", ".", "x" * 250, ""])
def test_create_topic_invalid_name(broker, bad):
    a = admin(broker.bootstrap)
    try:
        fs = a.create_topics([NewTopic(bad, num_partitions=1, replication_factor=1)], request_timeout=REQUEST_TIMEOUT)
    except (KafkaException, ValueError, TypeError):
        # librdkafka refuses some names (the empty one) before sending: nothing to check on the broker.
        if bad == "":
            return
        raise
    assert error_of(fs[bad]).code() == KafkaError.TOPIC_EXCEPTION  # INVALID_TOPIC_EXCEPTION, 17
    if bad:
        assert bad not in a.list_topics(timeout=10).topics


def test_create_topic_invalid_partitions(broker, topic):
    a = admin(broker.bootstrap)
    fs = a.create_topics([NewTopic(topic, num_partitions=0, replication_factor=1)], request_timeout=REQUEST_TIMEOUT)
    assert error_of(fs[topic]).code() == KafkaError.INVALID_PARTITIONS
    assert topic not in a.list_topics(timeout=10).topics


def test_create_topic_invalid_replication_factor(broker, topic):
    # One broker: a replication factor of 3 cannot be met.
    a = admin(broker.bootstrap)
    fs = a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)], request_timeout=REQUEST_TIMEOUT)
    assert error_of(fs[topic]).code() == KafkaError.INVALID_REPLICATION_FACTOR
    assert topic not in a.list_topics(timeout=10).topics


@pytest.mark.parametrize("config", [
    {"retention.ms": "not-a-number"},
    {"cleanup.policy": "shred"},
    {"no.such.topic.config": "1"},
])
def test_create_topic_invalid_config(broker, topic, config):
    a = admin(broker.bootstrap)
    fs = a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config=config)],
                         request_timeout=REQUEST_TIMEOUT)
    assert error_of(fs[topic]).code() == KafkaError.INVALID_CONFIG
    assert topic not in a.list_topics(timeout=10).topics


def test_create_many_topics_one_request_mixed_results(broker, topic):
    good, dup, bad = f"{topic}-good", f"{topic}-dup", f"{topic}-bad"
    create_topic(broker.bootstrap, dup)
    a = admin(broker.bootstrap)
    fs = a.create_topics([
        NewTopic(good, num_partitions=2, replication_factor=1),
        NewTopic(dup, num_partitions=1, replication_factor=1),
        NewTopic(bad, num_partitions=0, replication_factor=1),
    ], request_timeout=REQUEST_TIMEOUT)
    assert result(fs[good]) is None
    assert error_of(fs[dup]).code() == KafkaError.TOPIC_ALREADY_EXISTS
    assert error_of(fs[bad]).code() == KafkaError.INVALID_PARTITIONS
    wait_for_topic(broker.bootstrap, good, 2)


# -- Metadata / DescribeTopics --------------------------------------------------------
def test_list_and_describe_topics_with_ids(broker, topic):
    t1, t2 = f"{topic}-a", f"{topic}-b"
    create_topic(broker.bootstrap, t1, partitions=2)
    create_topic(broker.bootstrap, t2, partitions=4)
    a = admin(broker.bootstrap)
    md = a.list_topics(timeout=10)
    assert len(md.topics[t1].partitions) == 2
    assert len(md.topics[t2].partitions) == 4
    assert md.cluster_id
    assert md.orig_broker_id in md.brokers

    fs = a.describe_topics(TopicCollection([t1, t2]), request_timeout=REQUEST_TIMEOUT)
    d1, d2 = result(fs[t1]), result(fs[t2])
    assert d1.name == t1 and d2.name == t2
    assert [p.id for p in d1.partitions] == [0, 1]
    assert [p.id for p in d2.partitions] == [0, 1, 2, 3]
    assert not d1.is_internal
    ids = {str(d1.topic_id), str(d2.topic_id)}
    zero = "AAAAAAAAAAAAAAAAAAAAAA"
    assert len(ids) == 2 and zero not in ids and "None" not in ids
    for p in d1.partitions:
        assert p.leader is not None and p.leader.id in md.brokers
        assert [n.id for n in p.replicas] == [p.leader.id]
        assert [n.id for n in p.isr] == [p.leader.id]


def test_describe_unknown_topic(broker, topic):
    a = admin(broker.bootstrap)
    fs = a.describe_topics(TopicCollection([topic]), request_timeout=REQUEST_TIMEOUT)
    assert error_of(fs[topic]).code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    # describing must not create it
    assert topic not in a.list_topics(timeout=10).topics


def test_metadata_auto_creates_unknown_topic(broker, topic):
    # librdkafka's producer asks for auto-creation (allow.auto.create.topics defaults to true for producers);
    # auto.create.topics.enable defaults to true; num.partitions defaults to 1.
    p = producer(broker.bootstrap)
    deadline = time.monotonic() + 15
    t = None
    while time.monotonic() < deadline:
        t = p.list_topics(topic=topic, timeout=5).topics.get(topic)
        if t is not None and t.error is None and t.partitions:
            break
        time.sleep(0.2)
    assert t is not None and t.error is None, f"topic not auto-created: {t and t.error}"
    assert sorted(t.partitions) == [0]
    cfg = topic_config(broker.bootstrap, topic)
    assert cfg["cleanup.policy"].value == "delete"


def test_metadata_without_auto_create_flag_does_not_create(broker, topic):
    # A consumer's metadata request has allow_auto_topic_creation=false (librdkafka default for consumers).
    c = consumer(broker.bootstrap)
    try:
        t = c.list_topics(topic=topic, timeout=10).topics[topic]
        assert t.error is not None and t.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    finally:
        c.close()
    time.sleep(0.3)
    assert topic not in admin(broker.bootstrap).list_topics(timeout=10).topics


def test_auto_create_uses_num_partitions_and_can_be_disabled(broker_factory, topic):
    b = broker_factory({"num.partitions": 3})
    p = producer(b.bootstrap)
    deadline = time.monotonic() + 15
    t = None
    while time.monotonic() < deadline:
        t = p.list_topics(topic=topic, timeout=5).topics.get(topic)
        if t is not None and t.error is None and t.partitions:
            break
        time.sleep(0.2)
    assert t is not None and t.error is None
    assert sorted(t.partitions) == [0, 1, 2]
    # the static override is reported as such
    res = ConfigResource(ResourceType.BROKER, str(p.list_topics(timeout=5).orig_broker_id))
    cfg = result(admin(b.bootstrap).describe_configs([res], request_timeout=REQUEST_TIMEOUT)[res])
    assert cfg["num.partitions"].value == "3"
    assert source(cfg["num.partitions"]) == ConfigSource.STATIC_BROKER_CONFIG

    off = broker_factory({"auto.create.topics.enable": False})
    p2 = producer(off.bootstrap)
    t = p2.list_topics(topic=topic, timeout=10).topics[topic]
    assert t.error is not None and t.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    time.sleep(0.3)
    assert topic not in admin(off.bootstrap).list_topics(timeout=10).topics


# -- DeleteTopics ---------------------------------------------------------------------
def test_delete_topics(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=2)
    a = admin(broker.bootstrap)
    result(a.delete_topics([topic], operation_timeout=10, request_timeout=REQUEST_TIMEOUT)[topic])
    deadline = time.monotonic() + 10
    while topic in a.list_topics(timeout=10).topics and time.monotonic() < deadline:
        time.sleep(0.1)
    assert topic not in a.list_topics(timeout=10).topics
    # deleting again: unknown topic
    assert error_of(a.delete_topics([topic], request_timeout=REQUEST_TIMEOUT)[topic]).code() == \
        KafkaError.UNKNOWN_TOPIC_OR_PART
    # the name can be reused, with a new topic id and no old data
    create_topic(broker.bootstrap, topic, partitions=1)
    d = result(a.describe_topics(TopicCollection([topic]), request_timeout=REQUEST_TIMEOUT)[topic])
    assert len(d.partitions) == 1


def test_delete_topic_drops_its_data_and_id(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    a = admin(broker.bootstrap)
    old_id = str(result(a.describe_topics(TopicCollection([topic]), request_timeout=REQUEST_TIMEOUT)[topic]).topic_id)
    p = producer(broker.bootstrap)
    for i in range(5):
        p.produce(topic, value=b"old-%d" % i)
    assert p.flush(15) == 0
    result(a.delete_topics([topic], request_timeout=REQUEST_TIMEOUT)[topic])
    deadline = time.monotonic() + 10
    while topic in a.list_topics(timeout=10).topics and time.monotonic() < deadline:
        time.sleep(0.1)
    create_topic(broker.bootstrap, topic, partitions=1)
    new_id = str(result(a.describe_topics(TopicCollection([topic]), request_timeout=REQUEST_TIMEOUT)[topic]).topic_id)
    assert new_id != old_id
    assert watermarks(broker.bootstrap, topic, 0) == (0, 0)


# -- CreatePartitions -----------------------------------------------------------------
def test_create_partitions(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    a = admin(broker.bootstrap)
    result(a.create_partitions([NewPartitions(topic, 3)], request_timeout=REQUEST_TIMEOUT)[topic])
    wait_for_topic(broker.bootstrap, topic, 3)
    # shrinking or keeping the count is refused
    for n in (2, 3):
        err = error_of(a.create_partitions([NewPartitions(topic, n)], request_timeout=REQUEST_TIMEOUT)[topic])
        assert err.code() == KafkaError.INVALID_PARTITIONS, (n, err)
    assert len(a.list_topics(topic=topic, timeout=10).topics[topic].partitions) == 3
    # new partitions take records
    p = producer(broker.bootstrap)
    p.produce(topic, value=b"to-p2", partition=2)
    assert p.flush(15) == 0
    assert watermarks(broker.bootstrap, topic, 2) == (0, 1)


def test_create_partitions_validate_only_and_unknown_topic(broker, topic):
    create_topic(broker.bootstrap, topic, partitions=1)
    a = admin(broker.bootstrap)
    result(a.create_partitions([NewPartitions(topic, 4)], validate_only=True, request_timeout=REQUEST_TIMEOUT)[topic])
    assert len(a.list_topics(topic=topic, timeout=10).topics[topic].partitions) == 1
    missing = f"{topic}-missing"
    err = error_of(a.create_partitions([NewPartitions(missing, 2)], request_timeout=REQUEST_TIMEOUT)[missing])
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


# -- DescribeConfigs ------------------------------------------------------------------
def test_describe_configs_defaults(broker, topic):
    create_topic(broker.bootstrap, topic)
    cfg = topic_config(broker.bootstrap, topic)
    expected = {
        "retention.ms": "604800000",
        "cleanup.policy": "delete",
        "retention.bytes": "-1",
        "segment.bytes": "1073741824",
        "max.message.bytes": "1048588",
        "message.timestamp.type": "CreateTime",
        "compression.type": "producer",
        "min.insync.replicas": "1",
    }
    for name, value in expected.items():
        assert name in cfg, f"{name} missing from DescribeConfigs"
        e = cfg[name]
        assert e.value == value, (name, e.value)
        assert e.is_default, name
        assert source(e) == ConfigSource.DEFAULT_CONFIG, (name, source(e))
        assert not e.is_sensitive
        assert not e.is_read_only


def test_describe_configs_override_source_and_synonyms(broker, topic):
    create_topic(broker.bootstrap, topic, config={"retention.ms": "123456"})
    cfg = topic_config(broker.bootstrap, topic)
    e = cfg["retention.ms"]
    assert e.value == "123456"
    assert source(e) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert not e.is_default
    # Kafka lists the topic override first, then the broker-level synonyms (log.retention.*).
    syn = list(e.synonyms.values())
    assert syn, "no synonyms reported for retention.ms"
    assert syn[0].name == "retention.ms" and syn[0].value == "123456"
    assert source(syn[0]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert any(s.name.startswith("log.retention.") for s in syn[1:]), [s.name for s in syn]


def test_describe_configs_unknown_topic(broker, topic):
    a = admin(broker.bootstrap)
    res = ConfigResource(ResourceType.TOPIC, topic)
    err = error_of(a.describe_configs([res], request_timeout=REQUEST_TIMEOUT)[res])
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_broker_configs(broker):
    a = admin(broker.bootstrap)
    node = a.list_topics(timeout=10).orig_broker_id
    res = ConfigResource(ResourceType.BROKER, str(node))
    cfg = result(a.describe_configs([res], request_timeout=REQUEST_TIMEOUT)[res])
    assert cfg["num.partitions"].value == "1"
    assert cfg["auto.create.topics.enable"].value == "true"
    assert cfg["message.max.bytes"].value == "1048588"
    # Strata reports retention in its canonical millisecond form.
    assert cfg["log.retention.ms"].value == "604800000"
    assert cfg["log.retention.ms"].is_read_only


# -- AlterConfigs ---------------------------------------------------------------------
def test_alter_configs_replaces_all_overrides(broker, topic):
    create_topic(broker.bootstrap, topic, config={"retention.ms": "1000000", "retention.bytes": "5000000"})
    a = admin(broker.bootstrap)
    res = ConfigResource(ResourceType.TOPIC, topic, set_config={"retention.ms": "2000000"})
    result(a.alter_configs([res], request_timeout=REQUEST_TIMEOUT)[res])
    cfg = topic_config(broker.bootstrap, topic)
    assert cfg["retention.ms"].value == "2000000"
    assert source(cfg["retention.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    # AlterConfigs is not incremental: what is not named goes back to its default
    assert cfg["retention.bytes"].value == "-1"
    assert source(cfg["retention.bytes"]) == ConfigSource.DEFAULT_CONFIG


def test_alter_configs_invalid_value_changes_nothing(broker, topic):
    create_topic(broker.bootstrap, topic, config={"retention.ms": "1000000"})
    a = admin(broker.bootstrap)
    res = ConfigResource(ResourceType.TOPIC, topic, set_config={"retention.ms": "soon"})
    assert error_of(a.alter_configs([res], request_timeout=REQUEST_TIMEOUT)[res]).code() == KafkaError.INVALID_CONFIG
    assert topic_config(broker.bootstrap, topic)["retention.ms"].value == "1000000"


def test_alter_configs_validate_only(broker, topic):
    create_topic(broker.bootstrap, topic)
    a = admin(broker.bootstrap)
    res = ConfigResource(ResourceType.TOPIC, topic, set_config={"retention.ms": "5000"})
    result(a.alter_configs([res], validate_only=True, request_timeout=REQUEST_TIMEOUT)[res])
    assert topic_config(broker.bootstrap, topic)["retention.ms"].value == "604800000"


def test_incremental_alter_set_and_delete(broker, topic):
    create_topic(broker.bootstrap, topic, config={"retention.bytes": "5000000"})
    result(alter_incremental(broker.bootstrap, topic,
                             ConfigEntry("retention.ms", "86400000", incremental_operation=AlterConfigOpType.SET)))
    cfg = topic_config(broker.bootstrap, topic)
    assert cfg["retention.ms"].value == "86400000"
    assert source(cfg["retention.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    # incremental: the other override stays
    assert cfg["retention.bytes"].value == "5000000"

    result(alter_incremental(broker.bootstrap, topic,
                             ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)))
    cfg = topic_config(broker.bootstrap, topic)
    assert cfg["retention.ms"].value == "604800000"
    assert cfg["retention.ms"].is_default
    assert source(cfg["retention.ms"]) == ConfigSource.DEFAULT_CONFIG
    assert cfg["retention.bytes"].value == "5000000"


def test_incremental_alter_append_present_value_is_noop(broker, topic):
    # APPEND of a value a list config already holds leaves it as it is (no compaction needed).
    create_topic(broker.bootstrap, topic)
    b = broker.bootstrap
    result(alter_incremental(b, topic, ConfigEntry("cleanup.policy", "delete",
                                                   incremental_operation=AlterConfigOpType.APPEND)))
    cfg = topic_config(b, topic)
    assert cfg["cleanup.policy"].value == "delete"


def test_incremental_alter_append_subtract_list(broker, topic):
    # Kafka's behaviour on its list-typed topic config.
    create_topic(broker.bootstrap, topic)
    b = broker.bootstrap
    result(alter_incremental(b, topic, ConfigEntry("cleanup.policy", "delete",
                                                   incremental_operation=AlterConfigOpType.SET)))
    result(alter_incremental(b, topic, ConfigEntry("cleanup.policy", "compact",
                                                   incremental_operation=AlterConfigOpType.APPEND)))
    assert topic_config(b, topic)["cleanup.policy"].value == "delete,compact"
    # appending a value already present changes nothing
    result(alter_incremental(b, topic, ConfigEntry("cleanup.policy", "compact",
                                                   incremental_operation=AlterConfigOpType.APPEND)))
    assert topic_config(b, topic)["cleanup.policy"].value == "delete,compact"
    result(alter_incremental(b, topic, ConfigEntry("cleanup.policy", "delete",
                                                   incremental_operation=AlterConfigOpType.SUBTRACT)))
    cfg = topic_config(b, topic)
    assert cfg["cleanup.policy"].value == "compact"
    assert source(cfg["cleanup.policy"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    err = error_of(alter_incremental(b, topic, ConfigEntry("cleanup.policy", "shred",
                                                           incremental_operation=AlterConfigOpType.APPEND)))
    assert err.code() == KafkaError.INVALID_CONFIG


def test_incremental_alter_append_on_non_list_is_invalid(broker, topic):
    create_topic(broker.bootstrap, topic)
    err = error_of(alter_incremental(broker.bootstrap, topic, ConfigEntry(
        "retention.ms", "5", incremental_operation=AlterConfigOpType.APPEND)))
    assert err.code() == KafkaError.INVALID_CONFIG
    assert topic_config(broker.bootstrap, topic)["retention.ms"].value == "604800000"


def test_incremental_alter_invalid_value_and_unknown_topic(broker, topic):
    create_topic(broker.bootstrap, topic)
    err = error_of(alter_incremental(broker.bootstrap, topic, ConfigEntry(
        "retention.ms", "forever", incremental_operation=AlterConfigOpType.SET)))
    assert err.code() == KafkaError.INVALID_CONFIG
    err = error_of(alter_incremental(broker.bootstrap, f"{topic}-missing", ConfigEntry(
        "retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)))
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


# -- DescribeCluster ------------------------------------------------------------------
def test_describe_cluster(broker):
    a = admin(broker.bootstrap)
    d = result(a.describe_cluster(request_timeout=REQUEST_TIMEOUT))
    assert d.cluster_id
    assert len(d.nodes) == 1
    node = d.nodes[0]
    assert f"{node.host}:{node.port}" == broker.bootstrap
    assert d.controller is not None and d.controller.id == node.id
    # the same cluster id as Metadata reports
    assert a.list_topics(timeout=10).cluster_id == d.cluster_id
