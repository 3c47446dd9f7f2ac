"""REST Proxy v3 admin API against confluent_kafka's AdminClient and consumers.

Clusters and brokers; topics created over v3 and seen by the AdminClient
(partitions, configs) and the reverse; topic configs set, reset and altered
in batch over v3 and read back with `describe_configs`; PATCH of the
partition count; delete; broker configs and the cluster-wide broker
defaults (`/broker-configs`; read-only in Strata: a write gets the broker's
INVALID_REQUEST as 400/40002); partition reassignments (none on one node,
from ListPartitionReassignments, also read with kafka-python); consumer groups, their
members and assignments, exact lags and lag summary after a known produce;
ACLs answered as Confluent answers without an authorizer; Confluent's
error codes for unknown cluster, topic, partition, group, consumer, config
and for bad bodies. Every wait is bounded.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest
import requests
from confluent_kafka import TopicPartition
from confluent_kafka.admin import ConfigResource, ResourceType

from kafka_requests import NONE, KafkaRequests
from kafka_schemas import ListPartitionReassignmentsRequest
from kafka.protocol.admin import DescribeConfigsRequest
from kafkautil import admin, consumer, create_topic, produce_ok, producer, result, unique, wait_for_topic

JSON = {"Content-Type": "application/json"}
TIMEOUT = 15


def url(b, path: str) -> str:
    return f"{b.rest_proxy_url}/v3/clusters{path}"


def get(b, path):
    return requests.get(url(b, path), timeout=TIMEOUT)


def send(b, method, path, body=None, raw=None, headers=JSON):
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    return requests.request(method, url(b, path), data=data, headers=headers, timeout=TIMEOUT)


def cluster_id(b) -> str:
    r = get(b, "")
    assert r.status_code == 200, r.text
    return r.json()["data"][0]["cluster_id"]


def described_configs(b, topic: str) -> dict:
    res = ConfigResource(ResourceType.TOPIC, topic)
    entries = result(admin(b.bootstrap).describe_configs([res])[res])
    return {k: v for k, v in entries.items()}


def error(r, status: int, code: int, message: str | None = None):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["error_code"] == code, body
    if message is not None:
        assert body["message"] == message, body
    return body


def until(predicate, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: last {last!r}")


def test_clusters_and_brokers(broker):
    r = get(broker, "")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["kind"] == "KafkaClusterList"
    assert body["metadata"]["self"] == f"{broker.rest_proxy_url}/v3/clusters"
    assert body["metadata"]["next"] is None
    [cluster] = body["data"]
    c = cluster["cluster_id"]
    md = admin(broker.bootstrap).list_topics(timeout=10)
    assert c == md.cluster_id
    assert cluster["kind"] == "KafkaCluster"
    assert cluster["metadata"]["resource_name"] == f"crn:///kafka={c}"
    assert cluster["topics"]["related"] == f"{broker.rest_proxy_url}/v3/clusters/{c}/topics"
    assert cluster["controller"]["related"].endswith(f"/brokers/{md.controller_id}")
    assert get(broker, f"/{c}").json() == cluster
    error(get(broker, "/no-such-cluster"), 404, 404, "HTTP 404 Not Found")

    brokers = get(broker, f"/{c}/brokers").json()
    assert brokers["kind"] == "KafkaBrokerList"
    ids = sorted(md.brokers)
    assert [x["broker_id"] for x in brokers["data"]] == ids
    one = get(broker, f"/{c}/brokers/{ids[0]}").json()
    assert one["kind"] == "KafkaBroker"
    assert one["port"] == md.brokers[ids[0]].port
    assert one["metadata"]["resource_name"] == f"crn:///kafka={c}/broker={ids[0]}"
    assert one["configs"]["related"].endswith(f"/brokers/{ids[0]}/configs")
    error(get(broker, f"/{c}/brokers/999"), 404, 404)
    error(get(broker, f"/{c}/brokers/abc"), 404, 404)
    error(get(broker, "/other/brokers"), 404, 404, "Cluster other cannot be found.")


def test_create_topic_over_v3_seen_by_admin_client(broker):
    c = cluster_id(broker)
    t = unique("v3-create")
    r = send(broker, "POST", f"/{c}/topics", {
        "topic_name": t, "partitions_count": 3, "replication_factor": 1,
        "configs": [{"name": "cleanup.policy", "value": "compact"},
                    {"name": "retention.ms", "value": "123456"}]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "KafkaTopic"
    assert (body["topic_name"], body["partitions_count"], body["replication_factor"]) == (t, 3, 1)
    assert body["is_internal"] is False
    assert r.headers["Location"] == f"{broker.rest_proxy_url}/v3/clusters/{c}/topics/{t}"
    wait_for_topic(broker.bootstrap, t, 3)
    md = admin(broker.bootstrap).list_topics(t, timeout=10)
    assert len(md.topics[t].partitions) == 3
    configs = described_configs(broker, t)
    assert configs["cleanup.policy"].value == "compact"
    assert configs["retention.ms"].value == "123456"

    # A second create is Kafka's TOPIC_ALREADY_EXISTS: 400/40002.
    error(send(broker, "POST", f"/{c}/topics", {"topic_name": t, "partitions_count": 1}), 400, 40002)
    # validate_only answers 200 and creates nothing.
    v = unique("v3-validate")
    r = send(broker, "POST", f"/{c}/topics", {"topic_name": v, "partitions_count": 2, "validate_only": True})
    assert r.status_code == 200, r.text
    assert r.json()["partitions_count"] == 2
    assert v not in admin(broker.bootstrap).list_topics(timeout=10).topics

    listed = get(broker, f"/{c}/topics").json()
    assert listed["kind"] == "KafkaTopicList"
    names = [x["topic_name"] for x in listed["data"]]
    assert t in names and names == sorted(names)
    assert not any(n.startswith("__") for n in names)


def test_topic_created_by_admin_client_read_over_v3(broker):
    c = cluster_id(broker)
    t = unique("v3-read")
    create_topic(broker.bootstrap, t, partitions=2, config={"retention.bytes": "1048576"})
    topic = get(broker, f"/{c}/topics/{t}").json()
    assert (topic["partitions_count"], topic["replication_factor"]) == (2, 1)
    assert topic["metadata"]["resource_name"] == f"crn:///kafka={c}/topic={t}"
    assert topic["partitions"]["related"].endswith(f"/topics/{t}/partitions")
    assert topic["authorized_operations"] == []

    parts = get(broker, f"/{c}/topics/{t}/partitions").json()
    assert parts["kind"] == "KafkaPartitionList"
    assert [p["partition_id"] for p in parts["data"]] == [0, 1]
    md = admin(broker.bootstrap).list_topics(t, timeout=10)
    p1 = get(broker, f"/{c}/topics/{t}/partitions/1").json()
    leader = md.topics[t].partitions[1].leader
    assert p1["kind"] == "KafkaPartition"
    assert p1["leader"]["related"].endswith(f"/topics/{t}/partitions/1/replicas/{leader}")
    assert p1["replicas"]["related"].endswith(f"/topics/{t}/partitions/1/replicas")
    replicas = get(broker, f"/{c}/topics/{t}/partitions/1/replicas").json()
    assert replicas["kind"] == "KafkaReplicaList"
    [rep] = replicas["data"]
    assert (rep["broker_id"], rep["is_leader"], rep["is_in_sync"]) == (leader, True, True)

    configs = get(broker, f"/{c}/topics/{t}/configs").json()
    assert configs["kind"] == "KafkaTopicConfigList"
    by_name = {x["name"]: x for x in configs["data"]}
    rb = by_name["retention.bytes"]
    assert (rb["value"], rb["source"], rb["is_default"]) == ("1048576", "DYNAMIC_TOPIC_CONFIG", False)
    assert rb["synonyms"][0] == {"name": "retention.bytes", "value": "1048576", "source": "DYNAMIC_TOPIC_CONFIG"}
    assert by_name["cleanup.policy"]["is_default"] is True
    one = get(broker, f"/{c}/topics/{t}/configs/retention.bytes").json()
    assert one["kind"] == "KafkaTopicConfig" and one["topic_name"] == t
    assert one["metadata"]["resource_name"] == f"crn:///kafka={c}/topic={t}/config=retention.bytes"

    every = get(broker, f"/{c}/topics/-/configs").json()
    assert every["kind"] == "KafkaTopicConfigList"
    assert any(x["topic_name"] == t and x["name"] == "retention.bytes" and x["value"] == "1048576"
               for x in every["data"])


def test_alter_and_reset_configs_over_v3(broker):
    c = cluster_id(broker)
    t = unique("v3-configs")
    create_topic(broker.bootstrap, t, partitions=1)
    r = send(broker, "PUT", f"/{c}/topics/{t}/configs/retention.ms", {"value": "7777"})
    assert r.status_code == 204, r.text
    assert described_configs(broker, t)["retention.ms"].value == "7777"

    r = send(broker, "POST", f"/{c}/topics/{t}/configs:alter", {"data": [
        {"name": "retention.ms", "operation": "DELETE"},
        {"name": "max.message.bytes", "value": "65536", "operation": "SET"}]})
    assert r.status_code == 204, r.text
    configs = described_configs(broker, t)
    assert configs["max.message.bytes"].value == "65536"
    assert configs["retention.ms"].is_default

    # validate_only changes nothing.
    r = send(broker, "POST", f"/{c}/topics/{t}/configs:alter", {
        "data": [{"name": "max.message.bytes", "value": "1000", "operation": "SET"}], "validate_only": True})
    assert r.status_code == 204, r.text
    assert described_configs(broker, t)["max.message.bytes"].value == "65536"

    r = send(broker, "DELETE", f"/{c}/topics/{t}/configs/max.message.bytes")
    assert r.status_code == 204, r.text
    assert described_configs(broker, t)["max.message.bytes"].is_default

    # Unknown names are 404, as kafka-rest checks them before altering.
    error(get(broker, f"/{c}/topics/{t}/configs/no.such.config"), 404, 404)
    error(send(broker, "PUT", f"/{c}/topics/{t}/configs/no.such.config", {"value": "1"}), 404, 404,
          f"Config no.such.config cannot be found for TOPIC {t} in cluster {c}.")
    # A bad value is the broker's INVALID_CONFIG: 400/40002.
    error(send(broker, "PUT", f"/{c}/topics/{t}/configs/retention.ms", {"value": "soon"}), 400, 40002)
    # Bad bodies.
    error(send(broker, "PUT", f"/{c}/topics/{t}/configs/retention.ms", raw=""), 422, 422,
          "Error: 42206 : Payload error. Null input provided. Data is required.")
    error(send(broker, "POST", f"/{c}/topics/{t}/configs:alter",
               {"data": [{"name": "retention.ms", "operation": "MERGE"}]}), 400, 400)
    error(send(broker, "PUT", f"/{c}/topics/{t}/configs/retention.ms", raw="{not json"), 400, 400)


def test_patch_partitions_and_delete(broker):
    c = cluster_id(broker)
    t = unique("v3-patch")
    create_topic(broker.bootstrap, t, partitions=1)
    r = send(broker, "PATCH", f"/{c}/topics/{t}", {"partitions_count": 4})
    assert r.status_code == 200, r.text
    assert r.json()["partitions_count"] == 4
    wait_for_topic(broker.bootstrap, t, 4)
    assert len(admin(broker.bootstrap).list_topics(t, timeout=10).topics[t].partitions) == 4
    # Not an increase: Kafka's INVALID_PARTITIONS, 400/40002.
    error(send(broker, "PATCH", f"/{c}/topics/{t}", {"partitions_count": 2}), 400, 40002)
    error(send(broker, "PATCH", f"/{c}/topics/{t}", raw=""), 422, 422,
          "Error: 42206 : Payload error. Request body is empty. Partitions_count is required.")

    r = send(broker, "DELETE", f"/{c}/topics/{t}")
    assert r.status_code == 204, r.text
    until(lambda: t not in admin(broker.bootstrap).list_topics(timeout=10).topics, what="topic deleted")
    error(get(broker, f"/{c}/topics/{t}"), 404, 40403, "This server does not host this topic-partition.")
    error(send(broker, "DELETE", f"/{c}/topics/{t}"), 404, 40403)


def test_error_codes(broker):
    c = cluster_id(broker)
    t = unique("v3-errors")
    create_topic(broker.bootstrap, t, partitions=1)
    missing = unique("v3-missing")
    error(get(broker, f"/{c}/topics/{missing}"), 404, 40403, "This server does not host this topic-partition.")
    error(get(broker, f"/{c}/topics/{missing}/partitions"), 404, 40403)
    error(get(broker, f"/{c}/topics/{missing}/configs"), 404, 40403)
    error(get(broker, f"/{c}/topics/{t}/partitions/7"), 404, 404, "HTTP 404 Not Found")
    error(get(broker, f"/nope/topics"), 404, 404, "Cluster nope cannot be found.")
    error(get(broker, f"/nope/consumer-groups"), 404, 404, "Cluster nope could not be found.")
    error(get(broker, f"/{c}/consumer-groups/{missing}"), 404, 404)
    error(get(broker, f"/{c}/consumer-groups/{missing}/consumers"), 404, 404,
          f"Consumer Group {missing} does not exist.")
    error(get(broker, f"/{c}/consumer-groups/{missing}/lag-summary"), 404, 404,
          f"Consumer Group {missing} could not be found.")
    # Bodies: empty, not JSON, wrong types, no topic name, a bad name, another media type.
    error(send(broker, "POST", f"/{c}/topics", raw=""), 422, 422,
          "Error: 42206 : Payload error. Request body is empty. Data is required.")
    error(send(broker, "POST", f"/{c}/topics", raw="{"), 400, 400)
    error(send(broker, "POST", f"/{c}/topics", {"topic_name": unique("x"), "partitions_count": "A"}), 400, 400)
    error(send(broker, "POST", f"/{c}/topics", {"partitions_count": 1}), 400, 400)
    error(send(broker, "POST", f"/{c}/topics", {"topic_name": "bad name!"}), 422, 422,
          "Error: 42206 : Payload error. Invalid topic name.")
    error(send(broker, "POST", f"/{c}/topics", {"topic_name": unique("x")},
               headers={"Content-Type": "text/plain"}), 415, 415)
    # The server is unharmed.
    assert get(broker, f"/{c}/topics/{t}").status_code == 200


def test_broker_configs(broker):
    c = cluster_id(broker)
    b = get(broker, f"/{c}/brokers").json()["data"][0]["broker_id"]
    configs = get(broker, f"/{c}/brokers/{b}/configs").json()
    assert configs["kind"] == "KafkaBrokerConfigList"
    by_name = {x["name"]: x for x in configs["data"]}
    one = by_name["log.retention.ms"]
    assert one["kind"] == "KafkaBrokerConfig" and one["broker_id"] == b and one["is_read_only"] is True
    assert get(broker, f"/{c}/brokers/{b}/configs/log.retention.ms").json()["value"] == one["value"]
    every = get(broker, f"/{c}/brokers/-/configs").json()
    assert every["kind"] == "KafkaBrokerConfigList"
    assert any(x["name"] == "log.retention.ms" and x["broker_id"] == b for x in every["data"])
    # Strata takes no dynamic broker configs: the broker's INVALID_REQUEST is 400/40002.
    r = send(broker, "PUT", f"/{c}/brokers/{b}/configs/log.retention.ms", {"value": "1"})
    body = error(r, 400, 40002)
    assert "dynamic broker configs" in body["message"]
    error(send(broker, "POST", f"/{c}/brokers/{b}/configs:alter",
               {"data": [{"name": "log.retention.ms", "value": "1", "operation": "SET"}]}), 400, 40002)
    error(send(broker, "DELETE", f"/{c}/brokers/{b}/configs/no.such"), 404, 404)
    assert get(broker, f"/{c}/brokers/{b}/configs/log.retention.ms").json()["value"] == one["value"]


def test_cluster_wide_broker_configs(broker):
    """`/broker-configs` are the cluster-wide dynamic defaults (DescribeConfigs of BROKER ""), none
    on Strata, as the AdminClient sees them; writes get the broker's refusal, as per broker."""
    c = cluster_id(broker)
    # The broker's own answer (confluent_kafka refuses a BROKER resource with an empty name, so
    # kafka-python's request): no error, no dynamic default set.
    k = KafkaRequests({"bootstrap_servers": broker.bootstrap})
    try:
        got = k(DescribeConfigsRequest, 4, include_synonyms=False, include_documentation=False,
                resources=[{"resource_type": 4, "resource_name": "", "configuration_keys": None}])
        assert [(r.error_code, r.configs) for r in got.results] == [(NONE, [])]
    finally:
        k.close()
    listed = get(broker, f"/{c}/broker-configs")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["kind"], body["data"]) == ("KafkaClusterConfigList", [])
    assert body["metadata"]["self"].endswith(f"/v3/clusters/{c}/broker-configs")
    error(get(broker, f"/{c}/broker-configs/log.retention.ms"), 404, 404, "HTTP 404 Not Found")
    # PUT and :alter take any name (kafka-rest checks none): the broker refuses them.
    body = error(send(broker, "PUT", f"/{c}/broker-configs/log.retention.ms", {"value": "1"}), 400, 40002)
    assert "dynamic broker configs" in body["message"]
    error(send(broker, "POST", f"/{c}/broker-configs:alter",
               {"data": [{"name": "log.retention.ms", "value": "1", "operation": "SET"}]}), 400, 40002)
    # DELETE needs the name to be set: kafka-rest's message, with the empty resource name.
    error(send(broker, "DELETE", f"/{c}/broker-configs/log.retention.ms"), 404, 404,
          f"Config log.retention.ms cannot be found for BROKER  in cluster {c}.")
    error(get(broker, "/nope/broker-configs"), 404, 404, "Cluster nope cannot be found.")
    assert get(broker, f"/{c}/broker-configs").json()["data"] == []


def test_partition_reassignments(broker):
    """Reassignments are read with ListPartitionReassignments; on one node none is ever under
    way, so the lists are empty and a partition's is 404, as kafka-rest answers them. The broker's
    own answer is read with kafka-python: nothing listed, asked for all or by name (an unknown
    topic or partition is left out)."""
    c = cluster_id(broker)
    t = unique("v3-reassign")
    create_topic(broker.bootstrap, t, partitions=2)
    every = get(broker, f"/{c}/topics/-/partitions/-/reassignment")
    assert every.status_code == 200, every.text
    assert (every.json()["kind"], every.json()["data"]) == ("KafkaReassignmentList", [])
    assert every.json()["metadata"]["self"].endswith(f"/v3/clusters/{c}/topics/-/partitions/-/reassignments")
    for topic in (t, unique("v3-missing")):
        r = get(broker, f"/{c}/topics/{topic}/partitions/-/reassignment")
        assert (r.status_code, r.json()["data"]) == (200, []), r.text
    for path in (f"{t}/partitions/0", f"{t}/partitions/7", f"{unique('v3-missing')}/partitions/0"):
        error(get(broker, f"/{c}/topics/{path}/reassignment"), 404, 404, "HTTP 404 Not Found")
    error(get(broker, "/nope/topics/-/partitions/-/reassignment"), 404, 404, "Cluster nope cannot be found.")

    k = KafkaRequests({"bootstrap_servers": broker.bootstrap})
    try:
        for topics in (None, [{"name": t, "partition_indexes": [0, 1, 9]},
                              {"name": unique("v3-missing"), "partition_indexes": [0]}]):
            got = k(ListPartitionReassignmentsRequest, 0, timeout_ms=5000, topics=topics)
            assert (got.error_code, got.error_message, got.topics) == (NONE, None, [])
    finally:
        k.close()


def test_acls_without_authorizer(broker):
    c = cluster_id(broker)
    error(get(broker, f"/{c}/acls"), 400, 40002, "No Authorizer is configured on the broker")
    acl = {"resource_type": "TOPIC", "resource_name": "t", "pattern_type": "LITERAL",
           "principal": "User:alice", "host": "*", "operation": "READ", "permission": "ALLOW"}
    error(send(broker, "POST", f"/{c}/acls", acl), 400, 40002, "No Authorizer is configured.")
    # A delete names its pattern type (Confluent checks the parameters before the broker).
    error(send(broker, "DELETE", f"/{c}/acls?resource_type=TOPIC"), 400, 400,
          "pattern_type cannot be unspecified or UNKNOWN")
    error(send(broker, "DELETE", f"/{c}/acls?resource_type=TOPIC&pattern_type=ANY&operation=ANY&permission=ANY"),
          400, 40002,
          "No Authorizer is configured.")
    error(get(broker, "/nope/acls"), 404, 404)


def _group_with_lag(broker, protocol: str):
    """A running member of a fresh group that consumed and committed 3 of 5
    records on partition 0 and all 2 on partition 1, then 4 more records on
    partition 1: lags 2 and 4."""
    t = unique(f"v3-lag-{protocol}")
    g = unique(f"v3-group-{protocol}")
    create_topic(broker.bootstrap, t, partitions=2)
    p = producer(broker.bootstrap)
    produce_ok(p, t, [{"value": f"a{i}".encode(), "partition": 0} for i in range(5)] +
               [{"value": f"b{i}".encode(), "partition": 1} for i in range(2)])
    # A classic member id starts with the client id, so this one holds a '/' the URLs must quote.
    conf = {"group.id": g, "client.id": f"client/{protocol}"}
    if protocol == "consumer":
        conf["group.protocol"] = "consumer"
    cons = consumer(broker.bootstrap, **conf)
    cons.subscribe([t])
    until(lambda: (cons.poll(0.2), len(cons.assignment()) == 2)[1], timeout=30, what="assignment")
    cons.commit(offsets=[TopicPartition(t, 0, 3), TopicPartition(t, 1, 2)], asynchronous=False)
    produce_ok(p, t, [{"value": f"c{i}".encode(), "partition": 1} for i in range(4)])
    return t, g, cons


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_consumer_groups_members_and_lags(broker, protocol):
    c = cluster_id(broker)
    t, g, cons = _group_with_lag(broker, protocol)
    try:
        group = until(lambda: (r := get(broker, f"/{c}/consumer-groups/{g}")).status_code == 200
                      and r.json()["state"] == "STABLE" and r.json(), what="stable group")
        assert group["kind"] == "KafkaConsumerGroup"
        assert group["type"] == ("CLASSIC" if protocol == "classic" else "CONSUMER")
        assert group["is_simple"] is False
        assert group["is_mixed_consumer_group"] is False
        assert group["partition_assignor"]
        assert group["metadata"]["resource_name"] == f"crn:///kafka={c}/consumer-group={g}"
        assert group["coordinator"]["related"].rsplit("/", 1)[1].isdigit()
        listed = get(broker, f"/{c}/consumer-groups").json()
        assert listed["kind"] == "KafkaConsumerGroupList"
        assert g in [x["consumer_group_id"] for x in listed["data"]]

        consumers = get(broker, f"/{c}/consumer-groups/{g}/consumers").json()
        assert consumers["kind"] == "KafkaConsumerList"
        [member] = consumers["data"]
        # librdkafka's KIP-848 member ids are standard base64 and may hold '/', so quote it.
        member_id = member["consumer_id"]
        m = quote(member_id, safe="")
        assert member["client_id"] == f"client/{protocol}"
        assert member["instance_id"] is None
        assert get(broker, f"/{c}/consumer-groups/{g}/consumers/{m}").json() == member
        assignments = get(broker, f"/{c}/consumer-groups/{g}/consumers/{m}/assignments").json()
        assert assignments["kind"] == "KafkaConsumerAssignmentList"
        assert [(a["topic_name"], a["partition_id"]) for a in assignments["data"]] == [(t, 0), (t, 1)]
        a1 = get(broker, f"/{c}/consumer-groups/{g}/consumers/{m}/assignments/{t}/partitions/1").json()
        assert a1["kind"] == "KafkaConsumerAssignment"
        assert a1["lag"]["related"].endswith(f"/consumer-groups/{g}/lags/{t}/partitions/1")
        error(get(broker, f"/{c}/consumer-groups/{g}/consumers/nobody"), 404, 404)
        error(get(broker, f"/{c}/consumer-groups/{g}/consumers/nobody/assignments"), 404, 404,
              "Consumer nobody does not exist.")

        lags = get(broker, f"/{c}/consumer-groups/{g}/lags").json()
        assert lags["kind"] == "KafkaConsumerLagList"
        got = [(x["topic_name"], x["partition_id"], x["current_offset"], x["log_end_offset"], x["lag"],
                x["consumer_id"], x["client_id"]) for x in lags["data"]]
        assert got == [(t, 1, 2, 6, 4, member_id, f"client/{protocol}"),
                       (t, 0, 3, 5, 2, member_id, f"client/{protocol}")]
        one = get(broker, f"/{c}/consumer-groups/{g}/lags/{t}/partitions/0").json()
        assert one["kind"] == "KafkaConsumerLag" and one["lag"] == 2
        error(get(broker, f"/{c}/consumer-groups/{g}/lags/{t}/partitions/9"), 404, 404)

        summary = get(broker, f"/{c}/consumer-groups/{g}/lag-summary").json()
        assert summary["kind"] == "KafkaConsumerGroupLagSummary"
        assert (summary["max_lag"], summary["total_lag"]) == (4, 6)
        assert (summary["max_lag_topic_name"], summary["max_lag_partition_id"]) == (t, 1)
        assert summary["max_lag_consumer_id"] == member_id
        assert summary["max_lag_client_id"] == f"client/{protocol}"
        assert summary["max_lag_partition"]["related"].endswith(f"/topics/{t}/partitions/1")
        assert summary["metadata"]["resource_name"] == f"crn:///kafka={c}/consumer-group={g}/lag-summary"
    finally:
        cons.close()


def test_group_without_offsets_has_no_lags(broker):
    c = cluster_id(broker)
    t = unique("v3-nolag")
    g = unique("v3-nolag-group")
    create_topic(broker.bootstrap, t, partitions=1)
    cons = consumer(broker.bootstrap, **{"group.id": g})
    cons.subscribe([t])
    try:
        until(lambda: (cons.poll(0.2), len(cons.assignment()) == 1)[1], timeout=30, what="assignment")
        error(get(broker, f"/{c}/consumer-groups/{g}/lags"), 404, 404,
              "Consumer group offsets could not be found.")
    finally:
        cons.close()
