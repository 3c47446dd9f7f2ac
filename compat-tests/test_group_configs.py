"""Dynamic group configs (KIP-848, ConfigResource type GROUP = 32) as Kafka 4.1 serves them.

kafka-python's protocol classes send DescribeConfigs and IncrementalAlterConfigs for a group
(kafka_requests.KafkaRequests) and read the sources the broker answers: the broker's
`group.consumer.*` values as DEFAULT_CONFIG until the group sets its own (DYNAMIC_GROUP_CONFIG),
kept across a restart. A librdkafka `group.protocol=consumer` member then shows the coordinator
honouring the group's session timeout: killed without leaving, it is expired after the group's
3 s, not the broker's 45 s. ConsumerGroupHeartbeat answers the group's heartbeat interval.
Configs of group kinds Strata lacks (`share.*`, `streams.*`) are refused, as are values outside the
broker's bounds. The authorization rows (GROUP and CLIENT_METRICS) are in acl_matrix_admin_rows.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from kafka.protocol.admin import DescribeConfigsRequest, IncrementalAlterConfigsRequest

from kafka_requests import NONE, KafkaRequests
from kafka_schemas import ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest
from kafkautil import create_topic, unique

pytestmark = pytest.mark.timeout(90)

GROUP = 32
INVALID_CONFIG = 40
DEFAULT_CONFIG, DYNAMIC_GROUP_CONFIG = 5, 8
SESSION, HEARTBEAT = "consumer.session.timeout.ms", "consumer.heartbeat.interval.ms"
# The broker's bounds lowered so a group may take a 3 s session (Kafka's minimum is 45 s).
FAST_BOUNDS = {"group.consumer.min.session.timeout.ms": 1000, "group.consumer.min.heartbeat.interval.ms": 100}

MEMBER = """
import sys, time
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "group.protocol": "consumer",
              "enable.auto.commit": False})
c.subscribe([sys.argv[3]])
deadline = time.monotonic() + 30
while not c.assignment() and time.monotonic() < deadline:
    c.poll(0.2)
print("assigned" if c.assignment() else "unassigned", flush=True)
while True:
    c.poll(0.2)
"""


def describe(k, group):
    """{name: (value, source)} of the group's configs."""
    r = k(DescribeConfigsRequest, 4, include_synonyms=True, include_documentation=False,
          resources=[{"resource_type": GROUP, "resource_name": group, "configuration_keys": None}])
    [result] = r.results
    assert (result.error_code, result.error_message) == (NONE, None), result
    return {c.name: (c.value, c.config_source) for c in result.configs}


def set_configs(k, group, configs):
    """IncrementalAlterConfigs SET; (error code, message)."""
    r = k(IncrementalAlterConfigsRequest, 1, validate_only=False,
          resources=[{"resource_type": GROUP, "resource_name": group,
                      "configs": [{"name": n, "config_operation": 0, "value": v} for n, v in configs.items()]}])
    [response] = r.responses
    return response.error_code, response.error_message


def members(k, group):
    [g] = k(ConsumerGroupDescribeRequest, 0, group_ids=[group], include_authorized_operations=False).groups
    assert g.error_code == NONE, g
    return g.members


def wait(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic()


def test_group_configs_describe_defaults_alter_and_survive_a_restart(broker_factory):
    b = broker_factory(FAST_BOUNDS)
    group = unique("gcfg")
    k = KafkaRequests({"bootstrap_servers": b.bootstrap})
    try:
        # A group nobody has used: Kafka describes it with the broker defaults.
        assert describe(k, group) == {SESSION: ("45000", DEFAULT_CONFIG), HEARTBEAT: ("5000", DEFAULT_CONFIG)}
        # The whole new set is checked, over the broker defaults: alone, a 3 s session is not
        # above the broker's 5 s heartbeat.
        code, message = set_configs(k, group, {SESSION: "3000"})
        assert (code, message) == (INVALID_CONFIG, f"{SESSION} must be greater than {HEARTBEAT}")
        assert set_configs(k, group, {SESSION: "3000", HEARTBEAT: "1000"}) == (NONE, None)
        assert describe(k, group) == {SESSION: ("3000", DYNAMIC_GROUP_CONFIG),
                                      HEARTBEAT: ("1000", DYNAMIC_GROUP_CONFIG)}
        # ...nor a session outside the broker's bounds, nor a group kind Strata lacks.
        code, message = set_configs(k, group, {SESSION: "60001"})
        assert (code, message) == (INVALID_CONFIG, f"{SESSION} must be less than or equal to "
                                                   "group.consumer.max.session.timeout.ms")
        for name in ("share.session.timeout.ms", "streams.session.timeout.ms"):
            code, message = set_configs(k, group, {name: "45000"})
            assert code == INVALID_CONFIG and "which Strata does not serve" in message, (name, message)
    finally:
        k.close()

    b.restart()
    k = KafkaRequests({"bootstrap_servers": b.bootstrap})
    try:
        assert describe(k, group) == {SESSION: ("3000", DYNAMIC_GROUP_CONFIG),
                                      HEARTBEAT: ("1000", DYNAMIC_GROUP_CONFIG)}
    finally:
        k.close()


def test_a_kip848_member_is_expired_after_its_groups_session_timeout(broker_factory, topic):
    b = broker_factory(FAST_BOUNDS)
    create_topic(b.bootstrap, topic, 1)
    group, probe = unique("g848"), unique("g848-probe")
    k = KafkaRequests({"bootstrap_servers": b.bootstrap})
    member = None
    try:
        for g in (group, probe):
            assert set_configs(k, g, {SESSION: "3000", HEARTBEAT: "500"}) == (NONE, None)
        # The heartbeat interval the coordinator answers is the group's.
        answered = k(ConsumerGroupHeartbeatRequest, 0, group_id=probe, member_id=str(uuid.uuid4()), member_epoch=0,
                     instance_id=None, rack_id=None, rebalance_timeout_ms=30000, subscribed_topic_names=[topic],
                     server_assignor=None, topic_partitions=[])
        assert (answered.error_code, answered.heartbeat_interval_ms) == (NONE, 500), answered

        member = subprocess.Popen([sys.executable, "-c", MEMBER, b.bootstrap, group, topic],
                                  stdout=subprocess.PIPE, text=True)
        assert member.stdout.readline().strip() == "assigned"
        [m] = members(k, group)
        assert [t.partitions for t in m.assignment.topic_partitions] == [[0]]
        # Killed: no leave heartbeat, so only the session timeout removes it.
        os.kill(member.pid, signal.SIGKILL)
        killed = time.monotonic()
        gone = wait(lambda: members(k, group) == [], 20, "the killed member is expired")
        took = gone - killed
        assert took < 10, f"expired after {took:.1f} s: the group's 3 s session was not used"
        print(f"KIP-848 member expired {took:.1f} s after it was killed (group session 3 s)")
    finally:
        if member is not None and member.poll() is None:
            member.kill()
        k.close()
