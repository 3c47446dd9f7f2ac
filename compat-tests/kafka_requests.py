"""Any Kafka request, sent as one logged-in principal, with kafka-python's protocol classes.

kafka-python 3 generates a class per API from Apache Kafka's JSON message schemas
(kafka.protocol.*; ConsumerGroupHeartbeat and ConsumerGroupDescribe from kafka_schemas/), and
its network layer does the SASL login. `KafkaRequests(...)(FetchRequest, 12, topics=[...])` builds
the request at that exact version from plain dicts and lists, sends it on the principal's
connection and returns the decoded response, so a test reads `response.topics[0].error_code`
from the bytes the broker sent. Nothing is shared with the broker's codec.
"""

from __future__ import annotations

import struct

from kafka.admin import KafkaAdminClient
from kafka.protocol.consumer import JoinGroupRequest, OffsetCommitRequest, SyncGroupRequest
from kafka.protocol.metadata import MetadataRequest
from kafka.protocol.producer import (AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, InitProducerIdRequest,
                                     ProduceRequest)

from kafka_wire import build_batch

# Kafka error codes (org.apache.kafka.common.protocol.Errors)
NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
TOPIC_AUTHORIZATION_FAILED = 29
GROUP_AUTHORIZATION_FAILED = 30
CLUSTER_AUTHORIZATION_FAILED = 31
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
OPERATION_NOT_ATTEMPTED = 55
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79

# AclOperation codes, for authorized-operations bit fields
OPS = {"READ": 3, "WRITE": 4, "CREATE": 5, "DELETE": 6, "ALTER": 7, "DESCRIBE": 8, "CLUSTER_ACTION": 9,
       "DESCRIBE_CONFIGS": 10, "ALTER_CONFIGS": 11, "IDEMPOTENT_WRITE": 12}


def op_codes(*names: str) -> set:
    """The AclOperation codes of `names`."""
    return {OPS[n] for n in names}


def op_set(field) -> set:
    """The operation codes in an `authorized_operations` field as kafka-python decodes it: a
    set of bit positions for the fields its schemas mark as bit fields, else the int. Kafka's
    "not asked" value (-2147483648) is None."""
    if field is None:
        return None
    if isinstance(field, int):
        return None if field == -(1 << 31) else {c for c in range(31) if field >> c & 1}
    return set(field)


def build(cls, **fields):
    """An instance of protocol class `cls` (a versioned class such as `FetchRequest[12]`, or one
    of its nested structs) from keyword fields whose nested structs are dicts."""
    schema = cls._struct.fields
    out = {}
    for name, value in fields.items():
        kind = schema[name]._json["type"]
        inner = kind[2:] if kind.startswith("[]") else kind
        if value is not None and inner[:1].isupper():
            nested = getattr(cls, inner)
            if kind.startswith("[]"):
                value = [build(nested, **v) if isinstance(v, dict) else v for v in value]
            else:
                value = build(nested, **value)
        out[name] = value
    return cls(**out)


class KafkaRequests:
    """One principal's connection (kafka-python, SASL done at connect)."""

    def __init__(self, client_conf: dict, timeout_ms: int = 10000) -> None:
        self.timeout_ms = timeout_ms
        self.admin = KafkaAdminClient(request_timeout_ms=timeout_ms, **client_conf)

    def __call__(self, cls, version: int, **fields):
        """Send `cls[version](**fields)` and return the decoded response."""
        request = build(cls[version], **fields)
        manager = self.admin._manager
        return manager.run(manager.wait_for, manager.send(request), self.timeout_ms)

    def close(self) -> None:
        self.admin.close()


# ---------------------------------------------------------------------------------------------
# requests several tests send (k: a KafkaRequests); each returns the error code or response

def produce(k, topic, values, transactional_id=None) -> int:
    r = k(ProduceRequest, 9, transactional_id=transactional_id, acks=-1, timeout_ms=5000,
          topic_data=[{"name": topic, "partition_data": [{"index": 0, "records": build_batch(values)}]}])
    return r.responses[0].partition_responses[0].error_code


def offset_commit(k, group, topic, offset=1) -> int:
    r = k(OffsetCommitRequest, 8, group_id=group, generation_id_or_member_epoch=-1, member_id="",
          group_instance_id=None,
          topics=[{"name": topic, "partitions": [{"partition_index": 0, "committed_offset": offset,
                                                   "committed_leader_epoch": -1, "committed_metadata": ""}]}])
    return r.topics[0].partitions[0].error_code


def init_pid(k, transactional_id=None):
    return k(InitProducerIdRequest, 4, transactional_id=transactional_id, transaction_timeout_ms=30000,
             producer_id=-1, producer_epoch=-1)


def add_partitions(k, txn, pid, epoch, topic) -> int:
    r = k(AddPartitionsToTxnRequest, 3, v3_and_below_transactional_id=txn, v3_and_below_producer_id=pid,
          v3_and_below_producer_epoch=epoch, v3_and_below_topics=[{"name": topic, "partitions": [0]}])
    return r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code


def add_offsets(k, txn, pid, epoch, group) -> int:
    return k(AddOffsetsToTxnRequest, 3, transactional_id=txn, producer_id=pid, producer_epoch=epoch,
             group_id=group).error_code


def subscription(topic: str) -> bytes:
    """ConsumerProtocolSubscription v0 naming one topic."""
    t = topic.encode()
    return struct.pack(">hih", 0, 1, len(t)) + t + struct.pack(">i", -1)


def join(k, group, topic, member_id=""):
    return k(JoinGroupRequest, 9, group_id=group, session_timeout_ms=10000, rebalance_timeout_ms=5000,
             member_id=member_id, group_instance_id=None, protocol_type="consumer",
             protocols=[{"name": "range", "metadata": subscription(topic)}], reason=None)


def sync(k, group, generation, member_id, assignments=()):
    return k(SyncGroupRequest, 5, group_id=group, generation_id=generation, member_id=member_id,
             group_instance_id=None, protocol_type="consumer", protocol_name="range",
             assignments=list(assignments)).error_code


def joined_member(k, group, topic):
    """Join `group` as its only member (two rounds: Kafka first hands out a member id) and sync
    as its leader; (member id, generation)."""
    first = join(k, group, topic)
    assert first.error_code == MEMBER_ID_REQUIRED, first
    second = join(k, group, topic, first.member_id)
    assert second.error_code == NONE, second
    assert sync(k, group, second.generation_id, second.member_id,
                [{"member_id": second.member_id, "assignment": b""}]) == NONE
    return second.member_id, second.generation_id


def metadata(k, topics=None, auto_create=False, operations=False):
    return k(MetadataRequest, 12, topics=None if topics is None else [{"name": t} for t in topics],
             allow_auto_topic_creation=auto_create, include_topic_authorized_operations=operations)
