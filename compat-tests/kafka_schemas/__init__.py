"""Apache Kafka's message schemas (clients/src/main/resources/common/message, Apache License 2.0)
for the APIs kafka-python 3.0 has no classes for: ConsumerGroupHeartbeat and
ConsumerGroupDescribe (KIP-848), and ListPartitionReassignments (its layout written out). kafka-python builds its request and response classes from
these JSON files the same way it does from its own copies (`ApiMessage, load_json=...`), so
test_acl_matrix.py sends them with kafka-python's encoder instead of a hand-written one.
"""

from kafka.protocol.api_message import ApiMessage

import kafka_schemas as _here


class ConsumerGroupHeartbeatRequest(ApiMessage, load_json=_here):
    pass


class ConsumerGroupHeartbeatResponse(ApiMessage, load_json=_here):
    pass


class ConsumerGroupDescribeRequest(ApiMessage, load_json=_here):
    pass


class ConsumerGroupDescribeResponse(ApiMessage, load_json=_here):
    pass


class ListPartitionReassignmentsRequest(ApiMessage, load_json=_here):
    pass


class ListPartitionReassignmentsResponse(ApiMessage, load_json=_here):
    pass
