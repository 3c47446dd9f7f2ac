"""The rows of test_acl_matrix.py for the admin APIs (ACLs, configs, partitions, group deletion,
quotas, SCRAM credentials, reassignments, cluster, producers, transactions, KIP-848 groups, topic partitions);
see acl_matrix_rows.py.
"""

from __future__ import annotations

import hashlib
import os
import time

from kafka.protocol.admin import (AlterClientQuotasRequest, AlterConfigsRequest, AlterUserScramCredentialsRequest,
                                  CreateAclsRequest, CreatePartitionsRequest, DeleteAclsRequest, DeleteGroupsRequest,
                                  DescribeAclsRequest, DescribeClientQuotasRequest, DescribeClusterRequest,
                                  DescribeConfigsRequest, DescribeProducersRequest, DescribeTopicPartitionsRequest,
                                  DescribeTransactionsRequest, DescribeUserScramCredentialsRequest,
                                  IncrementalAlterConfigsRequest, ListTransactionsRequest)
from confluent_kafka import Consumer
from kafka.protocol.consumer import OffsetDeleteRequest

from acl_matrix_rows import acl_creation, acl_filter_for, row, user_of
from kafka_requests import (CLUSTER_AUTHORIZATION_FAILED as CLUSTER_DENIED, GROUP_AUTHORIZATION_FAILED as GROUP_DENIED,
                            NONE, TOPIC_AUTHORIZATION_FAILED as TOPIC_DENIED,
                            TRANSACTIONAL_ID_AUTHORIZATION_FAILED as TXN_DENIED, op_codes, op_set)
from kafka_schemas import (ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest,
                           ListPartitionReassignmentsRequest)
from kafkautil import unique
from secutil import ADMIN_PASSWORD, ADMIN_USER, acl

INVALID_REQUEST = 42
INVALID_CONFIG = 40
# ConfigResource.Type
TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP = 2, 4, 8, 16, 32


@row("DescribeAcls", 29)
def _describe_acls(env, k, p):
    def describe():
        return k(DescribeAclsRequest, 3, resource_type_filter=1, resource_name_filter=None, pattern_type_filter=1,
                 principal_filter=p, host_filter=None, operation=1, permission_type=1)

    assert describe().error_code == CLUSTER_DENIED
    env.grant(acl("BROKER", "kafka-cluster", p, "DESCRIBE"))
    got = describe()
    assert got.error_code == NONE
    assert [(r.resource_type, r.resource_name) for r in got.resources] == [(4, "kafka-cluster")]


@row("CreateAcls", 30)
def _create_acls(env, k, p):
    def create():
        return k(CreateAclsRequest, 3, creations=[acl_creation(unique("t"))]).results[0].error_code

    assert create() == CLUSTER_DENIED
    env.grant(acl("BROKER", "kafka-cluster", p, "ALTER"))
    assert create() == NONE


@row("DeleteAcls", 31)
def _delete_acls(env, k, p):
    name = unique("t")
    assert env.su(CreateAclsRequest, 3, creations=[acl_creation(name)]).results[0].error_code == NONE

    def delete():
        return k(DeleteAclsRequest, 3, filters=[acl_filter_for(name)]).filter_results[0]

    assert delete().error_code == CLUSTER_DENIED
    env.grant(acl("BROKER", "kafka-cluster", p, "ALTER"))
    got = delete()
    assert got.error_code == NONE and [m.resource_name for m in got.matching_acls] == [name]


@row("DescribeConfigs", 32)
def _describe_configs(env, k, p):
    t = env.topic()

    def describe():
        r = k(DescribeConfigsRequest, 4, include_synonyms=False, include_documentation=False,
              resources=[{"resource_type": TOPIC, "resource_name": t, "configuration_keys": None},
                         {"resource_type": BROKER, "resource_name": "1", "configuration_keys": None},
                         {"resource_type": BROKER_LOGGER, "resource_name": "1", "configuration_keys": None}])
        return [(x.error_code, x.error_message) for x in r.results]

    topic_denied, cluster_denied = (TOPIC_DENIED, "Topic authorization failed."), \
        (CLUSTER_DENIED, "Cluster authorization failed.")
    assert describe() == [topic_denied, cluster_denied, cluster_denied]
    env.grant(acl("TOPIC", t, p, "DESCRIBE_CONFIGS"))
    topic, broker, loggers = describe()
    assert (topic[0], broker, loggers) == (NONE, cluster_denied, cluster_denied)
    env.grant(acl("BROKER", "kafka-cluster", p, "DESCRIBE_CONFIGS"))
    # the broker's loggers: authorized, but Strata has no runtime loggers to describe
    topic, broker, loggers = describe()
    assert (topic[0], broker[0], loggers[0]) == (NONE, NONE, INVALID_REQUEST), loggers


@row("AlterConfigs", 33)
def _alter_configs(env, k, p):
    t = env.topic()

    def alter():
        r = k(AlterConfigsRequest, 2, validate_only=False,
              resources=[{"resource_type": 2, "resource_name": t,
                          "configs": [{"name": "retention.ms", "value": "3600000"}]}])
        return r.responses[0].error_code

    assert alter() == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "ALTER_CONFIGS"))
    assert alter() == NONE


@row("IncrementalAlterConfigs", 44)
def _incremental_alter_configs(env, k, p):
    t = env.topic()

    def alter():
        r = k(IncrementalAlterConfigsRequest, 1, validate_only=False,
              resources=[{"resource_type": 2, "resource_name": t,
                          "configs": [{"name": "retention.ms", "config_operation": 0, "value": "3600000"}]}])
        return r.responses[0].error_code

    assert alter() == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "ALTER_CONFIGS"))
    assert alter() == NONE


@row("AlterConfigs-broker", 33)
def _alter_configs_broker(env, k, p):
    def alter():
        r = k(AlterConfigsRequest, 2, validate_only=True,
              resources=[{"resource_type": BROKER, "resource_name": "1",
                          "configs": [{"name": "log.cleaner.threads", "value": "2"}]},
                         {"resource_type": BROKER, "resource_name": "", "configs": []}])
        return [(x.error_code, x.error_message) for x in r.responses]

    denied = (CLUSTER_DENIED, "Cluster authorization failed.")
    assert alter() == [denied, denied]
    env.grant(acl("BROKER", "kafka-cluster", p, "ALTER_CONFIGS"))
    # authorized, then refused for what it is: Strata takes no dynamic broker configs
    got = alter()
    assert [code for code, _ in got] == [INVALID_REQUEST, INVALID_REQUEST], got
    assert all("no dynamic broker configs" in message for _, message in got), got


@row("IncrementalAlterConfigs-broker", 44)
def _incremental_alter_configs_broker(env, k, p):
    def alter():
        r = k(IncrementalAlterConfigsRequest, 1, validate_only=True,
              resources=[{"resource_type": BROKER, "resource_name": "1",
                          "configs": [{"name": "log.cleaner.threads", "config_operation": 0, "value": "2"}]},
                         {"resource_type": BROKER_LOGGER, "resource_name": "1",
                          "configs": [{"name": "kafka.server", "config_operation": 0, "value": "DEBUG"}]}])
        return [(x.error_code, x.error_message) for x in r.responses]

    denied = (CLUSTER_DENIED, "Cluster authorization failed.")
    assert alter() == [denied, denied]
    env.grant(acl("BROKER", "kafka-cluster", p, "ALTER_CONFIGS"))
    [broker, loggers] = alter()
    assert broker[0] == INVALID_REQUEST and "no dynamic broker configs" in broker[1], broker
    assert loggers[0] == INVALID_REQUEST and "no runtime loggers" in loggers[1], loggers


@row("DescribeConfigs-group", 32)
def _describe_configs_group(env, k, p):
    """A GROUP resource needs DESCRIBE_CONFIGS on the group (Kafka's ConfigHelper), a
    CLIENT_METRICS one DESCRIBE_CONFIGS on the cluster, after which Strata says it has none."""
    g = unique("g")

    def describe():
        r = k(DescribeConfigsRequest, 4, include_synonyms=False, include_documentation=False,
              resources=[{"resource_type": GROUP, "resource_name": g, "configuration_keys": None},
                         {"resource_type": CLIENT_METRICS, "resource_name": "sub", "configuration_keys": None}])
        return [(x.error_code, x.error_message, {c.name: c.value for c in x.configs}) for x in r.results]

    assert describe() == [(GROUP_DENIED, "Group authorization failed.", {}),
                          (CLUSTER_DENIED, "Cluster authorization failed.", {})]
    env.grant(acl("GROUP", g, p, "DESCRIBE_CONFIGS"))
    group, metrics = describe()
    # a group that does not exist yet is described with the broker defaults, as Kafka does
    assert group == (NONE, None, {"consumer.session.timeout.ms": "45000",
                                  "consumer.heartbeat.interval.ms": "5000"}), group
    assert metrics[0] == CLUSTER_DENIED
    env.grant(acl("BROKER", "kafka-cluster", p, "DESCRIBE_CONFIGS"))
    metrics = describe()[1]
    assert metrics[0] == INVALID_REQUEST and "no client metrics subscriptions" in metrics[1], metrics


@row("IncrementalAlterConfigs-group", 44)
def _incremental_alter_configs_group(env, k, p):
    g = unique("g")

    def alter():
        r = k(IncrementalAlterConfigsRequest, 1, validate_only=True,
              resources=[{"resource_type": GROUP, "resource_name": g,
                          "configs": [{"name": "consumer.session.timeout.ms", "config_operation": 0,
                                       "value": "50000"}]},
                         {"resource_type": CLIENT_METRICS, "resource_name": "sub",
                          "configs": [{"name": "interval.ms", "config_operation": 0, "value": "1000"}]}])
        return [(x.error_code, x.error_message) for x in r.responses]

    group, metrics = alter()
    assert (group[0], metrics[0]) == (GROUP_DENIED, CLUSTER_DENIED), (group, metrics)
    # DESCRIBE_CONFIGS does not imply ALTER_CONFIGS
    env.grant(acl("GROUP", g, p, "DESCRIBE_CONFIGS"))
    assert alter()[0][0] == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "ALTER_CONFIGS"), acl("BROKER", "kafka-cluster", p, "ALTER_CONFIGS"))
    group, metrics = alter()
    assert group[0] == NONE, group
    assert metrics[0] == INVALID_REQUEST and "no client metrics subscriptions" in metrics[1], metrics


@row("AlterConfigs-group", 33)
def _alter_configs_group(env, k, p):
    """Legacy AlterConfigs takes GROUP and CLIENT_METRICS too (Kafka's ControllerApis)."""
    g = unique("g")

    def alter():
        r = k(AlterConfigsRequest, 2, validate_only=True,
              resources=[{"resource_type": GROUP, "resource_name": g,
                          "configs": [{"name": "share.session.timeout.ms", "value": "45000"}]},
                         {"resource_type": CLIENT_METRICS, "resource_name": "sub", "configs": []}])
        return [(x.error_code, x.error_message) for x in r.responses]

    group, metrics = alter()
    assert (group[0], metrics[0]) == (GROUP_DENIED, CLUSTER_DENIED), (group, metrics)
    env.grant(acl("GROUP", g, p, "ALTER_CONFIGS"), acl("BROKER", "kafka-cluster", p, "ALTER_CONFIGS"))
    # authorized: share.* configures share groups, which Strata does not serve
    group, metrics = alter()
    assert group[0] == INVALID_CONFIG and "share groups" in group[1], group
    assert metrics[0] == INVALID_REQUEST, metrics


@row("CreatePartitions", 37)
def _create_partitions(env, k, p):
    t = env.topic()

    def grow():
        r = k(CreatePartitionsRequest, 3, timeout_ms=10000, validate_only=False,
              topics=[{"name": t, "count": 2, "assignments": None}])
        return r.results[0].error_code

    assert grow() == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "ALTER"))
    assert grow() == NONE


@row("DeleteGroups", 42)
def _delete_groups(env, k, p):
    g = env.group_with_offset(env.topic())

    def delete():
        return k(DeleteGroupsRequest, 2, groups_names=[g]).results[0].error_code

    assert delete() == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "DELETE"))
    assert delete() == NONE


@row("OffsetDelete", 47)
def _offset_delete(env, k, p):
    t = env.topic()
    g = env.group_with_offset(t)

    def delete():
        r = k(OffsetDeleteRequest, 0, group_id=g, topics=[{"name": t, "partitions": [{"partition_index": 0}]}])
        return r.error_code, [x.error_code for x in r.topics[0].partitions] if r.topics else []

    assert delete()[0] == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "DELETE"))
    assert delete() == (NONE, [TOPIC_DENIED])
    env.grant(acl("TOPIC", t, p, "READ"))
    assert delete() == (NONE, [NONE])


@row("DescribeClientQuotas", 48)
def _describe_quotas(env, k, p):
    def describe():
        return k(DescribeClientQuotasRequest, 1, components=[], strict=False).error_code

    assert describe() == CLUSTER_DENIED
    env.grant(acl("BROKER", "kafka-cluster", p, "DESCRIBE_CONFIGS"))
    assert describe() == NONE


@row("AlterClientQuotas", 49)
def _alter_quotas(env, k, p):
    def alter():
        r = k(AlterClientQuotasRequest, 1, validate_only=True,
              entries=[{"entity": [{"entity_type": "user", "entity_name": "quota-user"}],
                        "ops": [{"key": "producer_byte_rate", "value": 1048576.0, "remove": False}]}])
        return r.entries[0].error_code

    assert alter() == CLUSTER_DENIED
    env.grant(acl("BROKER", "kafka-cluster", p, "ALTER_CONFIGS"))
    assert alter() == NONE


@row("ListPartitionReassignments", 46)
def _list_reassignments(env, k, p):
    t = env.topic()

    def list_them():
        return k(ListPartitionReassignmentsRequest, 0, timeout_ms=5000,
                 topics=[{"name": t, "partition_indexes": [0]}])

    assert list_them().error_code == CLUSTER_DENIED
    env.grant(acl("BROKER", "kafka-cluster", p, "DESCRIBE"))
    got = list_them()
    # one node: nothing is being reassigned
    assert (got.error_code, got.error_message, got.topics) == (NONE, None, [])


@row("DescribeUserScramCredentials", 50)
def _describe_scram(env, k, p):
    def describe():
        return k(DescribeUserScramCredentialsRequest, 0, users=[{"name": user_of("DescribeUserScramCredentials")}])

    assert describe().error_code == CLUSTER_DENIED
    env.grant(acl("BROKER", "kafka-cluster", p, "DESCRIBE"))
    got = describe()
    assert got.error_code == NONE and [r.error_code for r in got.results] == [NONE]


@row("AlterUserScramCredentials", 51)
def _alter_scram(env, k, p):
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", b"new-secret", salt, 4096)

    def alter():
        r = k(AlterUserScramCredentialsRequest, 0, deletions=[],
              upsertions=[{"name": unique("scram"), "mechanism": 1, "iterations": 4096, "salt": salt,
                           "salted_password": salted}])
        return r.results[0].error_code

    assert alter() == CLUSTER_DENIED
    env.grant(acl("BROKER", "kafka-cluster", p, "ALTER"))
    assert alter() == NONE


@row("DescribeCluster", 60)
def _describe_cluster(env, k, p):
    def describe():
        return k(DescribeClusterRequest, 1, include_cluster_authorized_operations=True, endpoint_type=1)

    assert describe().error_code == CLUSTER_DENIED
    env.grant(acl("BROKER", "kafka-cluster", p, "DESCRIBE"))
    got = describe()
    assert (got.error_code, op_set(got.authorized_operations)) == (NONE, op_codes("DESCRIBE"))


@row("DescribeProducers", 61)
def _describe_producers(env, k, p):
    t = env.topic(records=1)

    def describe():
        r = k(DescribeProducersRequest, 0, topics=[{"name": t, "partition_indexes": [0]}])
        return r.topics[0].partitions[0].error_code

    assert describe() == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "READ"))
    assert describe() == NONE


@row("DescribeTransactions", 65)
def _describe_transactions(env, k, p):
    txn = env.transactional_id()

    def describe():
        return k(DescribeTransactionsRequest, 0, transactional_ids=[txn]).transaction_states[0]

    assert describe().error_code == TXN_DENIED
    env.grant(acl("TRANSACTIONAL_ID", txn, p, "DESCRIBE"))
    got = describe()
    assert (got.error_code, got.transaction_state) == (NONE, "Empty")


@row("ListTransactions", 66)
def _list_transactions(env, k, p):
    txn = env.transactional_id()

    def listed():
        r = k(ListTransactionsRequest, 0, state_filters=[], producer_id_filters=[])
        assert r.error_code == NONE
        return [s.transactional_id for s in r.transaction_states]

    assert txn not in listed()
    env.grant(acl("TRANSACTIONAL_ID", txn, p, "DESCRIBE"))
    assert txn in listed()


def _consumer_heartbeat(k, g, t, member_id="", epoch=0):
    return k(ConsumerGroupHeartbeatRequest, 0, group_id=g, member_id=member_id, member_epoch=epoch,
             instance_id=None, rack_id=None, rebalance_timeout_ms=5000,
             subscribed_topic_names=[t] if epoch == 0 else None, server_assignor=None,
             topic_partitions=[] if epoch == 0 else None)


@row("ConsumerGroupHeartbeat", 68)
def _consumer_group_heartbeat(env, k, p):
    t, g = env.topic(), unique("g")
    assert _consumer_heartbeat(k, g, t).error_code == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "READ"))
    assert _consumer_heartbeat(k, g, t).error_code == TOPIC_DENIED  # the subscribed topic needs Describe
    env.grant(acl("TOPIC", t, p, "DESCRIBE"))
    got = _consumer_heartbeat(k, g, t)
    assert got.error_code == NONE and got.member_epoch >= 1
    assert _consumer_heartbeat(k, g, t, got.member_id, -1).error_code == NONE  # leave


TOPIC_DENIED_MESSAGE = "The group has described topic(s) that the client is not authorized to describe."


def _kip848_member(env, g, t) -> Consumer:
    """A librdkafka `group.protocol=consumer` member of `g` (the super user), once `t`-0 is assigned."""
    c = Consumer(dict(env.conf(ADMIN_USER, ADMIN_PASSWORD), **{
        "group.id": g, "group.protocol": "consumer", "enable.auto.commit": False}))
    c.subscribe([t])
    deadline = time.monotonic() + 20
    while not c.assignment():
        assert time.monotonic() < deadline, "the KIP-848 member got no assignment within 20 s"
        c.poll(0.2)
    return c


@row("ConsumerGroupDescribe", 69)
def _consumer_group_describe(env, k, p):
    t, g = env.topic(), unique("g")
    c = _kip848_member(env, g, t)

    def describe():
        return k(ConsumerGroupDescribeRequest, 0, group_ids=[g], include_authorized_operations=True).groups[0]

    try:
        assert describe().error_code == GROUP_DENIED
        env.grant(acl("GROUP", g, p, "DESCRIBE"))
        # Kafka 4.1 (KAFKA-18813): a group assigned a topic the caller may not describe is
        # refused whole, members and all, so the topic's name does not leak
        got = describe()
        assert (got.error_code, got.error_message, got.members) == (TOPIC_DENIED, TOPIC_DENIED_MESSAGE, []), got
        assert op_set(got.authorized_operations) is None and got.assignor_name == ""
        env.grant(acl("TOPIC", t, p, "DESCRIBE"))
        got = describe()
        assert (got.error_code, op_set(got.authorized_operations)) == (NONE, op_codes("DESCRIBE"))
        [member] = got.members
        assert [x.topic_name for x in member.assignment.topic_partitions] == [t]
    finally:
        c.close()


@row("DescribeTopicPartitions", 75)
def _describe_topic_partitions(env, k, p):
    t = env.topic(partitions=2)

    def describe():
        return k(DescribeTopicPartitionsRequest, 0, topics=[{"name": t}], response_partition_limit=100,
                 cursor=None).topics[0]

    assert describe().error_code == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "DESCRIBE"))
    got = describe()
    assert (got.error_code, len(got.partitions)) == (NONE, 2)
