"""The rows of test_acl_matrix.py for the data-plane APIs (produce, fetch, offsets, metadata,
groups, topics, transactions): each row sends its request as principal `p` on connection `k`
without the ACLs it needs, checks Kafka's error, and grants them one at a time (through `env`,
the matrix's broker) until the request succeeds. acl_matrix_admin_rows.py holds the admin APIs.
"""

from __future__ import annotations

from kafka.protocol.admin import (CreateTopicsRequest, DeleteRecordsRequest, DeleteTopicsRequest,
                                  DescribeGroupsRequest, ListGroupsRequest)
from kafka.protocol.consumer import (FetchRequest, HeartbeatRequest, LeaveGroupRequest, ListOffsetsRequest,
                                     OffsetFetchRequest, OffsetForLeaderEpochRequest)
from kafka.protocol.metadata import FindCoordinatorRequest
from kafka.protocol.producer import EndTxnRequest, TxnOffsetCommitRequest

from kafka_requests import (GROUP_AUTHORIZATION_FAILED as GROUP_DENIED, CLUSTER_AUTHORIZATION_FAILED as CLUSTER_DENIED,
                            NONE, TOPIC_AUTHORIZATION_FAILED as TOPIC_DENIED, UNKNOWN_TOPIC_OR_PARTITION,
                            TRANSACTIONAL_ID_AUTHORIZATION_FAILED as TXN_DENIED, add_offsets, add_partitions,
                            init_pid, join, joined_member, metadata, offset_commit, op_codes, op_set, produce, sync)
from kafkautil import unique
from secutil import acl

ROWS = {}  # test id -> (api key, row function)


def row(name, api_key):
    def register(fn):
        ROWS[name] = (api_key, fn)
        return fn
    return register


def user_of(row_name: str) -> str:
    return "u-" + row_name.lower()


def password_of(user: str) -> str:
    return user + "-secret"


def acl_creation(name, principal="User:nobody"):
    # resource TOPIC (2), pattern LITERAL (3), operation READ (3), permission ALLOW (3)
    return {"resource_type": 2, "resource_name": name, "resource_pattern_type": 3, "principal": principal,
            "host": "*", "operation": 3, "permission_type": 3}


def acl_filter_for(name):
    return {"resource_type_filter": 2, "resource_name_filter": name, "pattern_type_filter": 3,
            "principal_filter": None, "host_filter": None, "operation": 1, "permission_type": 1}


@row("Produce", 0)
def _produce(env, k, p):
    t = env.topic()
    assert produce(k, t, [b"v"]) == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "WRITE"))
    assert produce(k, t, [b"v"]) == NONE


@row("Fetch", 1)
def _fetch(env, k, p):
    t = env.topic(records=2)

    def fetch():
        r = k(FetchRequest, 12, replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, isolation_level=0,
              session_id=0, session_epoch=-1, forgotten_topics_data=[], rack_id="",
              topics=[{"topic": t, "partitions": [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20,
                                                    "current_leader_epoch": -1, "last_fetched_epoch": -1,
                                                    "log_start_offset": -1}]}])
        return r.responses[0].partitions[0]

    assert fetch().error_code == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "READ"))
    got = fetch()
    assert (got.error_code, got.high_watermark) == (NONE, 2) and len(bytes(got.records)) > 0


@row("ListOffsets", 2)
def _list_offsets(env, k, p):
    t = env.topic(records=3)

    def latest():
        r = k(ListOffsetsRequest, 7, replica_id=-1, isolation_level=0,
              topics=[{"name": t, "partitions": [{"partition_index": 0, "timestamp": -1,
                                                  "current_leader_epoch": -1}]}])
        return r.topics[0].partitions[0]

    assert latest().error_code == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "DESCRIBE"))
    assert (latest().error_code, latest().offset) == (NONE, 3)


@row("Metadata", 3)
def _metadata(env, k, p):
    t = env.topic()
    assert t not in [x.name for x in metadata(k).topics]  # all topics: left out silently
    named = metadata(k, [t]).topics[0]
    assert (named.name, named.error_code) == (t, TOPIC_DENIED)
    env.grant(acl("TOPIC", t, p, "DESCRIBE"))
    assert t in [x.name for x in metadata(k).topics]
    named = metadata(k, [t], operations=True).topics[0]
    assert (named.error_code, op_set(named.authorized_operations)) == (NONE, op_codes("DESCRIBE"))
    assert op_set(metadata(k, [t]).topics[0].authorized_operations) is None  # not asked


@row("Metadata-auto-create", 3)
def _metadata_auto_create(env, k, p):
    t = unique("auto")
    env.grant(acl("TOPIC", t, p, "DESCRIBE"))
    assert metadata(k, [t], auto_create=True).topics[0].error_code == TOPIC_DENIED
    assert metadata(env.su, [t]).topics[0].error_code == UNKNOWN_TOPIC_OR_PARTITION  # not created
    env.grant(acl("TOPIC", t, p, "CREATE"))
    assert metadata(k, [t], auto_create=True).topics[0].error_code != TOPIC_DENIED
    assert metadata(env.su, [t]).topics[0].error_code == NONE


@row("OffsetCommit", 8)
def _offset_commit(env, k, p):
    t, g = env.topic(), unique("g")
    assert offset_commit(k, g, t) == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "READ"))
    assert offset_commit(k, g, t) == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "READ"))
    assert offset_commit(k, g, t) == NONE


@row("OffsetFetch", 9)
def _offset_fetch(env, k, p):
    t = env.topic()
    g = env.group_with_offset(t)

    def fetch(named=True):
        topics = [{"name": t, "partition_indexes": [0]}] if named else None
        r = k(OffsetFetchRequest, 8, require_stable=False, groups=[{"group_id": g, "topics": topics}])
        return r.groups[0]

    assert fetch().error_code == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "DESCRIBE"))
    got = fetch()
    assert (got.error_code, got.topics[0].partitions[0].error_code) == (NONE, TOPIC_DENIED)
    got = fetch(named=False)  # all of the group's offsets: the undescribable topic left out
    assert (got.error_code, got.topics) == (NONE, [])
    env.grant(acl("TOPIC", t, p, "DESCRIBE"))
    part = fetch().topics[0].partitions[0]
    assert (part.error_code, part.committed_offset) == (NONE, 1)
    assert [x.name for x in fetch(named=False).topics] == [t]


def _find(k, key, key_type):
    return k(FindCoordinatorRequest, 4, key_type=key_type, coordinator_keys=[key]).coordinators[0]


@row("FindCoordinator-group", 10)
def _find_group(env, k, p):
    g = unique("g")
    assert _find(k, g, 0).error_code == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "DESCRIBE"))
    got = _find(k, g, 0)
    assert (got.error_code, got.node_id) == (NONE, 1)


@row("FindCoordinator-transaction", 10)
def _find_txn(env, k, p):
    txn = unique("txn")
    assert _find(k, txn, 1).error_code == TXN_DENIED
    env.grant(acl("TRANSACTIONAL_ID", txn, p, "DESCRIBE"))
    assert _find(k, txn, 1).error_code == NONE


@row("JoinGroup", 11)
def _join_group(env, k, p):
    t, g = env.topic(), unique("g")
    assert join(k, g, t).error_code == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "READ"))
    member, generation = joined_member(k, g, t)
    assert member and generation >= 1


@row("Heartbeat", 12)
def _heartbeat(env, k, p):
    t, g = env.topic(), unique("g")

    def beat(member, generation):
        return k(HeartbeatRequest, 4, group_id=g, generation_id=generation, member_id=member,
                 group_instance_id=None).error_code

    assert beat("someone", 1) == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "READ"))
    assert beat(*joined_member(k, g, t)) == NONE


@row("LeaveGroup", 13)
def _leave_group(env, k, p):
    t, g = env.topic(), unique("g")

    def leave(member):
        r = k(LeaveGroupRequest, 5, group_id=g, members=[{"member_id": member, "group_instance_id": None,
                                                          "reason": None}])
        return r.error_code, [m.error_code for m in r.members]

    assert leave("someone")[0] == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "READ"))
    member, _ = joined_member(k, g, t)
    assert leave(member) == (NONE, [NONE])


@row("SyncGroup", 14)
def _sync_group(env, k, p):
    t, g = env.topic(), unique("g")
    assert sync(k, g, 1, "someone") == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "READ"))
    joined_member(k, g, t)  # syncs


@row("DescribeGroups", 15)
def _describe_groups(env, k, p):
    t = env.topic()
    g = env.group_with_offset(t)

    def describe():
        return k(DescribeGroupsRequest, 5, groups=[g], include_authorized_operations=True).groups[0]

    assert describe().error_code == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "DESCRIBE"))
    got = describe()
    assert (got.error_code, got.group_state, op_set(got.authorized_operations)) == (NONE, "Empty",
                                                                                    op_codes("DESCRIBE"))
    env.grant(acl("GROUP", g, p, "READ"))  # Read implies Describe
    assert op_set(describe().authorized_operations) == op_codes("READ", "DESCRIBE")


@row("ListGroups", 16)
def _list_groups(env, k, p):
    g = env.group_with_offset(env.topic())

    def listed():
        r = k(ListGroupsRequest, 5, states_filter=[], types_filter=[])
        assert r.error_code == NONE
        return [x.group_id for x in r.groups]

    assert g not in listed()  # without Cluster Describe, only describable groups are listed
    env.grant(acl("GROUP", g, p, "DESCRIBE"))
    assert g in listed()


@row("CreateTopics", 19)
def _create_topics(env, k, p):
    t = unique("ct")

    def create():
        r = k(CreateTopicsRequest, 7, timeout_ms=10000, validate_only=False,
              topics=[{"name": t, "num_partitions": 2, "replication_factor": 1, "assignments": [], "configs": []}])
        return r.topics[0]

    assert create().error_code == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "CREATE"))
    got = create()
    # created, but Kafka's controller shows the partition count, replication factor and configs
    # only to a caller that may DescribeConfigs the topic
    assert (got.error_code, got.topic_config_error_code, got.num_partitions, got.configs) == (NONE, TOPIC_DENIED,
                                                                                              -1, [])
    assert len(metadata(env.su, [t]).topics[0].partitions) == 2
    t = unique("ct")
    env.grant(acl("TOPIC", t, p, "CREATE"), acl("TOPIC", t, p, "DESCRIBE_CONFIGS"))
    got = create()
    assert (got.error_code, got.topic_config_error_code, got.num_partitions) == (NONE, NONE, 2)
    assert "retention.ms" in [c.name for c in got.configs]


@row("DeleteTopics", 20)
def _delete_topics(env, k, p):
    t = env.topic()

    def delete():
        return k(DeleteTopicsRequest, 6, timeout_ms=10000, topics=[{"name": t, "topic_id": None}]).responses[0]

    assert delete().error_code == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "DELETE"))
    assert delete().error_code == NONE


@row("DeleteRecords", 21)
def _delete_records(env, k, p):
    t = env.topic(records=3)

    def delete():
        r = k(DeleteRecordsRequest, 2, timeout_ms=10000,
              topics=[{"name": t, "partitions": [{"partition_index": 0, "offset": 2}]}])
        return r.topics[0].partitions[0]

    assert delete().error_code == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "DELETE"))
    got = delete()
    assert (got.error_code, got.low_watermark) == (NONE, 2)


@row("InitProducerId-idempotent", 22)
def _init_idempotent(env, k, p):
    assert init_pid(k).error_code == CLUSTER_DENIED
    # Kafka 3.0+ (KIP-679): Write on any topic is enough, even one that does not exist
    env.grant(acl("TOPIC", unique("any"), p, "WRITE"))
    got = init_pid(k)
    assert got.error_code == NONE and got.producer_id >= 0


@row("InitProducerId-transactional", 22)
def _init_txn(env, k, p):
    txn = unique("txn")
    assert init_pid(k, txn).error_code == TXN_DENIED
    env.grant(acl("TRANSACTIONAL_ID", txn, p, "WRITE"))
    got = init_pid(k, txn)
    assert got.error_code == NONE and got.producer_id >= 0


@row("OffsetForLeaderEpoch", 23)
def _offset_for_leader_epoch(env, k, p):
    t = env.topic(records=2)

    def ask():
        r = k(OffsetForLeaderEpochRequest, 4, replica_id=-1,
              topics=[{"topic": t, "partitions": [{"partition": 0, "current_leader_epoch": -1, "leader_epoch": 0}]}])
        return r.topics[0].partitions[0]

    assert ask().error_code == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "DESCRIBE"))
    got = ask()
    assert (got.error_code, got.end_offset) == (NONE, 2)


@row("AddPartitionsToTxn", 24)
def _add_partitions(env, k, p):
    t, txn = env.topic(), unique("txn")
    assert add_partitions(k, txn, 1, 0, t) == TXN_DENIED
    env.grant(acl("TRANSACTIONAL_ID", txn, p, "WRITE"))
    pid = init_pid(k, txn)
    assert add_partitions(k, txn, pid.producer_id, pid.producer_epoch, t) == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "WRITE"))
    assert add_partitions(k, txn, pid.producer_id, pid.producer_epoch, t) == NONE


@row("AddOffsetsToTxn", 25)
def _add_offsets(env, k, p):
    txn, g = unique("txn"), unique("g")
    assert add_offsets(k, txn, 1, 0, g) == TXN_DENIED
    env.grant(acl("TRANSACTIONAL_ID", txn, p, "WRITE"))
    pid = init_pid(k, txn)
    assert add_offsets(k, txn, pid.producer_id, pid.producer_epoch, g) == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "READ"))
    assert add_offsets(k, txn, pid.producer_id, pid.producer_epoch, g) == NONE


@row("EndTxn", 26)
def _end_txn(env, k, p):
    t, txn = env.topic(), unique("txn")

    def end(pid, epoch):
        return k(EndTxnRequest, 3, transactional_id=txn, producer_id=pid, producer_epoch=epoch,
                 committed=True).error_code

    assert end(1, 0) == TXN_DENIED
    env.grant(acl("TRANSACTIONAL_ID", txn, p, "WRITE"), acl("TOPIC", t, p, "WRITE"))
    pid = init_pid(k, txn)
    assert add_partitions(k, txn, pid.producer_id, pid.producer_epoch, t) == NONE
    assert end(pid.producer_id, pid.producer_epoch) == NONE


@row("TxnOffsetCommit", 28)
def _txn_offset_commit(env, k, p):
    t, txn, g = env.topic(), unique("txn"), unique("g")

    def commit(pid, epoch):
        r = k(TxnOffsetCommitRequest, 3, transactional_id=txn, group_id=g, producer_id=pid, producer_epoch=epoch,
              generation_id=-1, member_id="", group_instance_id=None,
              topics=[{"name": t, "partitions": [{"partition_index": 0, "committed_offset": 1,
                                                   "committed_leader_epoch": -1, "committed_metadata": ""}]}])
        return r.topics[0].partitions[0].error_code

    assert commit(1, 0) == TXN_DENIED
    env.grant(acl("TRANSACTIONAL_ID", txn, p, "WRITE"))
    pid = init_pid(k, txn)
    ids = (pid.producer_id, pid.producer_epoch)
    assert commit(*ids) == GROUP_DENIED
    env.grant(acl("GROUP", g, p, "READ"))
    assert add_offsets(k, txn, *ids, g) == NONE
    assert commit(*ids) == TOPIC_DENIED
    env.grant(acl("TOPIC", t, p, "READ"))
    assert commit(*ids) == NONE
