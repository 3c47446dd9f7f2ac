"""Kafka ACLs end to end with confluent-kafka: the authorizer on, a first admin (super user) from
--admin-user, users alice and bob created through AlterUserScramCredentials, ACLs managed with
AdminClient create/describe/delete_acls. Each operation is tried without and then with the ACL it
needs and the exact error is checked (TOPIC_/GROUP_/CLUSTER_/TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
PREFIXED and `*` patterns, DENY winning over ALLOW, Metadata leaving out undescribable topics,
and the ACLs surviving a restart.

One broker for the module (allow.everyone.if.no.acl.found=false, Kafka's default once an
authorizer is on); every test uses its own topic, group and transactional id names.
"""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                         ResourcePatternFilter)
from kafka.admin import ResourceType as KpResourceType
from kafka import KafkaConsumer, OffsetAndMetadata
from kafka import TopicPartition as KpTopicPartition
from kafka.errors import ClusterAuthorizationFailedError, GroupAuthorizationFailedError

from kafkautil import consume, produce_ok, unique
from secutil import (ADMIN_PASSWORD, ADMIN_USER, Login, SecureBroker, acl, acl_filter, acl_key, ck_conf,
                     create_acls, delivery_errors, describe_acls, kp_conf, upsert_scram_users, wait_for)

pytestmark = pytest.mark.timeout(60)

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
USERS = {"alice": "alice-secret", "bob": "bob-secret"}
TOPIC_DENIED = KafkaError.TOPIC_AUTHORIZATION_FAILED
GROUP_DENIED = KafkaError.GROUP_AUTHORIZATION_FAILED
CLUSTER_DENIED = KafkaError.CLUSTER_AUTHORIZATION_FAILED
TXN_DENIED = KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("sec-acls")
    b = SecureBroker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, workdir=d / "broker", name="strata-sec-acls",
                     overrides={"authorizer.class.name": AUTHORIZER})
    try:
        b.start()
        upsert_scram_users(admin_of(b), USERS)
        yield b
    finally:
        b.cleanup()


def admin_of(b) -> AdminClient:
    return AdminClient(ck_conf(b, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", ADMIN_USER, ADMIN_PASSWORD)))


def conf_of(b, user, **extra) -> dict:
    return ck_conf(b, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", user, USERS[user]), **extra)


def client_admin(b, user) -> AdminClient:
    return AdminClient(conf_of(b, user))


def error_code(fut, timeout=15):
    """The KafkaError code a future fails with (None when it succeeds)."""
    try:
        fut.result(timeout=timeout)
        return None
    except KafkaException as e:
        return e.args[0].code()


def make_topic(b, name, partitions=1, records=0):
    a = admin_of(b)
    a.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=15)
    if records:
        produce_ok(Producer(ck_conf(b, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", ADMIN_USER, ADMIN_PASSWORD),
                                    **{"linger.ms": 5})), name,
                   [{"value": b"r%d" % i, "partition": 0} for i in range(records)])


def produce_codes(b, user, topic, n=2):
    return [e.code() if e else None for e in delivery_errors(conf_of(b, user), topic, n=n)]


def grant(b, *bindings):
    create_acls(admin_of(b), bindings)


def test_acl_apis_admin_and_non_admin(env):
    a = admin_of(env)
    t = unique("acl-api")
    bindings = [acl("TOPIC", t, "User:alice", "READ"), acl("TOPIC", t, "User:alice", "WRITE"),
                acl("GROUP", t, "User:bob", "READ", pattern="PREFIXED"),
                acl("TOPIC", t, "User:bob", "WRITE", perm="DENY", host="127.0.0.1")]
    create_acls(a, bindings)
    got = describe_acls(a, acl_filter("TOPIC", t, pattern="LITERAL"))
    assert sorted(map(acl_key, got)) == sorted(map(acl_key, [bindings[0], bindings[1], bindings[3]]))
    got = describe_acls(a, acl_filter("ANY", t, principal="User:bob", pattern="MATCH"))
    assert sorted(map(acl_key, got)) == sorted(map(acl_key, bindings[2:]))
    # a user without ACLs on the cluster may not read or change ACLs
    alice = client_admin(env, "alice")
    (denied,) = alice.create_acls([acl("TOPIC", t, "User:alice", "ALL")], request_timeout=15).values()
    assert error_code(denied) == CLUSTER_DENIED
    # librdkafka (2.0 to 2.16) reads DescribeAcls' top-level error code and drops it, so a refusal
    # reaches confluent-kafka as an empty listing: nothing leaks, but the code shows only through
    # a client that reads it, kafka-python.
    assert alice.describe_acls(acl_filter("TOPIC", t)).result(timeout=15) == []
    kp = KafkaAdminClient(**kp_conf(env, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", "alice", USERS["alice"])))
    try:
        with pytest.raises(ClusterAuthorizationFailedError):
            kp.describe_acls(ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                                       permission_type=ACLPermissionType.ANY,
                                       resource_pattern=ResourcePatternFilter(KpResourceType.TOPIC, t,
                                                                              ACLResourcePatternType.ANY)))
    finally:
        kp.close()
    # delete by filter returns what it removed
    fs = a.delete_acls([acl_filter("TOPIC", t, principal="User:alice", pattern="LITERAL")], request_timeout=15)
    deleted = list(fs.values())[0].result(timeout=15)
    assert sorted(map(acl_key, deleted)) == sorted(map(acl_key, bindings[:2]))
    left = describe_acls(a, acl_filter("ANY", t, pattern="ANY"))
    assert sorted(map(acl_key, left)) == sorted(map(acl_key, bindings[2:]))


def test_produce_needs_write(env):
    t = unique("prod")
    make_topic(env, t)
    assert produce_codes(env, "alice", t) == [TOPIC_DENIED] * 2
    grant(env, acl("TOPIC", t, "User:alice", "WRITE"))
    assert produce_codes(env, "alice", t) == [None, None]
    assert produce_codes(env, "bob", t) == [TOPIC_DENIED] * 2


def test_consume_with_group_and_commit(env):
    t, g = unique("cons"), unique("grp")
    make_topic(env, t, records=5)
    # Read on the topic, nothing on the group: assign() still fetches, but FindCoordinator for the
    # group answers GROUP_AUTHORIZATION_FAILED (Kafka checks DESCRIBE on the group there), which
    # librdkafka reports as a consumer error; a commit cannot reach a coordinator.
    grant(env, acl("TOPIC", t, "User:alice", "READ"))
    c = Consumer(conf_of(env, "alice", **{"group.id": g, "enable.auto.commit": False,
                                          "auto.offset.reset": "earliest"}))
    try:
        c.assign([TopicPartition(t, 0, 0)])
        msgs, errs = [], []
        wait_for(lambda: [(errs if m.error() else msgs).append(m.error() or m) for m in c.consume(10, 0.5)]
                 and False or (len(msgs) >= 5 and errs), 20, what="records and a group error")
        assert [m.value() for m in msgs] == [b"r%d" % i for i in range(5)]
        assert GROUP_DENIED in [e.code() for e in errs], errs
        with pytest.raises(KafkaException):
            c.commit(offsets=[TopicPartition(t, 0, 5)], asynchronous=False)
    finally:
        c.close()
    # kafka-python names the refusal of the commit itself
    kp = KafkaConsumer(group_id=g, enable_auto_commit=False,
                       **kp_conf(env, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", "alice", USERS["alice"])))
    try:
        kp.assign([KpTopicPartition(t, 0)])
        with pytest.raises(GroupAuthorizationFailedError):
            kp.commit({KpTopicPartition(t, 0): OffsetAndMetadata(5, "", -1)})
    finally:
        kp.close()
    # subscribe() needs the group too
    c = Consumer(conf_of(env, "alice", **{"group.id": g, "enable.auto.commit": False,
                                          "auto.offset.reset": "earliest"}))
    try:
        c.subscribe([t])
        errs = []
        wait_for(lambda: errs.extend(m.error().code() for m in c.consume(10, 0.5) if m.error()) or errs, 20,
                 what="a group error")
        assert GROUP_DENIED in errs, errs
    finally:
        c.close()
    grant(env, acl("GROUP", g, "User:alice", "READ"))
    c = Consumer(conf_of(env, "alice", **{"group.id": g, "enable.auto.commit": False,
                                          "auto.offset.reset": "earliest"}))
    try:
        c.subscribe([t])
        msgs = consume(c, 5, timeout=30)
        assert [m.value() for m in msgs] == [b"r%d" % i for i in range(5)]
        c.commit(offsets=[TopicPartition(t, 0, 5)], asynchronous=False)
        assert [p.offset for p in c.committed([TopicPartition(t, 0)], timeout=10)] == [5]
    finally:
        c.close()
    # Read on the group but not on the topic: Metadata answers TOPIC_AUTHORIZATION_FAILED for it,
    # which librdkafka reports to a subscriber (an assign()ed partition only waits for metadata)
    grant(env, acl("GROUP", g, "User:bob", "READ"))
    c = Consumer(conf_of(env, "bob", **{"group.id": g, "enable.auto.commit": False,
                                        "auto.offset.reset": "earliest"}))
    try:
        c.subscribe([t])
        errs = []
        wait_for(lambda: errs.extend(m.error().code() for m in c.consume(10, 0.5) if m.error()) or errs, 20,
                 what="a topic error")
        assert TOPIC_DENIED in errs, errs
    finally:
        c.close()


def test_metadata_hides_undescribable_topics(env):
    seen, hidden = unique("vis"), unique("hid")
    make_topic(env, seen)
    make_topic(env, hidden)
    grant(env, acl("TOPIC", seen, "User:alice", "DESCRIBE"))
    topics = client_admin(env, "alice").list_topics(timeout=10).topics
    assert seen in topics and topics[seen].error is None
    assert hidden not in topics
    assert hidden in admin_of(env).list_topics(timeout=10).topics
    # asked for by name: TOPIC_AUTHORIZATION_FAILED for that topic
    md = client_admin(env, "alice").list_topics(topic=hidden, timeout=10)
    assert md.topics[hidden].error.code() == TOPIC_DENIED


def test_create_and_delete_topics_prefixed(env):
    prefix = unique("alice-own") + "-"
    alice = client_admin(env, "alice")
    t1, other = prefix + "one", unique("not-alice")
    assert error_code(alice.create_topics([NewTopic(t1, 1, 1)])[t1]) == TOPIC_DENIED
    grant(env, acl("TOPIC", prefix, "User:alice", "CREATE", pattern="PREFIXED"))
    assert error_code(alice.create_topics([NewTopic(t1, 1, 1)])[t1]) is None
    assert error_code(alice.create_topics([NewTopic(other, 1, 1)])[other]) == TOPIC_DENIED
    assert error_code(alice.delete_topics([t1])[t1]) == TOPIC_DENIED
    grant(env, acl("TOPIC", prefix, "User:alice", "DELETE", pattern="PREFIXED"))
    assert error_code(alice.delete_topics([t1])[t1]) is None


def test_describe_configs(env):
    t = unique("cfg")
    make_topic(env, t)
    alice = client_admin(env, "alice")
    res = ConfigResource(ResourceType.TOPIC, t)
    assert error_code(alice.describe_configs([res])[res]) == TOPIC_DENIED
    broker = ConfigResource(ResourceType.BROKER, "1")
    assert error_code(alice.describe_configs([broker])[broker]) == CLUSTER_DENIED
    grant(env, acl("TOPIC", t, "User:alice", "DESCRIBE_CONFIGS"))
    cfg = alice.describe_configs([res])[res].result(timeout=15)
    assert "cleanup.policy" in cfg
    # AlterConfigs implies DescribeConfigs, not the other way round
    assert error_code(alice.incremental_alter_configs([_retention(t)])[ConfigResource(ResourceType.TOPIC, t)]) \
        == TOPIC_DENIED


def _retention(t):
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

    return ConfigResource(ResourceType.TOPIC, t, incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])


def test_transactions_need_transactional_id_write(env):
    t, txn = unique("txn"), unique("txn-id")
    make_topic(env, t)
    grant(env, acl("TOPIC", t, "User:alice", "WRITE"))
    p = Producer(conf_of(env, "alice", **{"transactional.id": txn, "transaction.timeout.ms": 10000}))
    with pytest.raises(KafkaException) as e:
        p.init_transactions(15)
    assert e.value.args[0].code() == TXN_DENIED
    grant(env, acl("TRANSACTIONAL_ID", txn, "User:alice", "WRITE"))
    p = Producer(conf_of(env, "alice", **{"transactional.id": txn, "transaction.timeout.ms": 10000}))
    p.init_transactions(15)
    p.begin_transaction()
    p.produce(t, b"in-txn", partition=0)
    p.commit_transaction(15)


def test_wildcard_topic_and_user(env):
    a, b2 = unique("wild-a"), unique("wild-b")
    make_topic(env, a)
    make_topic(env, b2)
    assert produce_codes(env, "bob", a) == [TOPIC_DENIED] * 2
    grant(env, acl("TOPIC", "*", "User:bob", "WRITE"))
    assert produce_codes(env, "bob", a) == [None, None]
    assert produce_codes(env, "bob", b2) == [None, None]
    # User:* on one topic: alice gets it too
    grant(env, acl("TOPIC", b2, "User:*", "DESCRIBE"))
    assert b2 in client_admin(env, "alice").list_topics(timeout=10).topics


def test_deny_wins_over_allow(env):
    prefix = unique("mixed") + "-"
    ok, secret = prefix + "ok", prefix + "secret"
    make_topic(env, ok)
    make_topic(env, secret)
    grant(env, acl("TOPIC", prefix, "User:alice", "ALL", pattern="PREFIXED"),
          acl("TOPIC", secret, "User:alice", "WRITE", perm="DENY"))
    assert produce_codes(env, "alice", ok) == [None, None]
    assert produce_codes(env, "alice", secret) == [TOPIC_DENIED] * 2
    # DENY WRITE leaves READ (from ALL) alone
    c = Consumer(conf_of(env, "alice", **{"group.id": "unused", "enable.auto.commit": False}))
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(secret, 0), timeout=10, cached=False)
        assert (lo, hi) == (0, 0)
    finally:
        c.close()


@pytest.mark.timeout(90)
def test_acls_survive_a_restart(env):
    t = unique("restart")
    make_topic(env, t)
    grant(env, acl("TOPIC", t, "User:alice", "WRITE"), acl("TOPIC", t, "User:bob", "WRITE", perm="DENY"))
    before = sorted(map(acl_key, describe_acls(admin_of(env))))
    env.restart()
    after = sorted(map(acl_key, describe_acls(admin_of(env))))
    assert after == before
    assert produce_codes(env, "alice", t) == [None, None]
    assert produce_codes(env, "bob", t) == [TOPIC_DENIED] * 2
