"""Issue #11's ACL matrix: every Kafka API Strata advertises in ApiVersions that Kafka authorizes,
sent by a principal without the ACL it needs (Kafka's error: TOPIC_/GROUP_/CLUSTER_/
TRANSACTIONAL_ID_AUTHORIZATION_FAILED, or the resource silently left out) and again after each
ACL Kafka 4.1's KafkaApis asks for is granted, one at a time, until the request succeeds. The
requests are kafka-python's protocol classes at pinned versions (kafka_requests.py), so each row
reads the error codes the broker sent. docs/kafka-api-authorization.md is the table this proves.

Then the authorizer's rules through the same wire (PREFIXED, literal `*`, `User:*`, DENY beating
ALLOW, implied Describe, host match), and one principal through the Schema Registry and the REST
Proxy, including REST v3's `include_authorized_operations`.

One broker for the module (SASL_PLAINTEXT, the StandardAuthorizer, HTTP Basic); every row has a
principal of its own (User:u-<row>), so a grant in one row cannot pass a check in another.
"""

from __future__ import annotations

import json

import pytest
import requests
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.protocol.admin import DescribeConfigsRequest
from kafka.protocol.consumer import ListOffsetsRequest
from kafka.protocol.metadata import ApiVersionsRequest

import acl_matrix_admin_rows  # noqa: F401  (registers its rows)
from acl_matrix_rows import ROWS, password_of, user_of
from kafka_requests import (NONE, TOPIC_AUTHORIZATION_FAILED as TOPIC_DENIED, KafkaRequests, init_pid, metadata,
                            offset_commit, op_codes, op_set, produce)
from kafka_wire import api_versions
from kafkautil import unique
from secutil import (ADMIN_PASSWORD, ADMIN_USER, Login, SecureBroker, acl, ck_conf, create_acls, kp_conf,
                     upsert_scram_users)

pytestmark = pytest.mark.timeout(60)

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
LISTENER = "SASL_PLAINTEXT"
# The APIs Kafka serves before or without authorization.
UNAUTHORIZED_APIS = {17: "SaslHandshake", 18: "ApiVersions", 36: "SaslAuthenticate"}
# principals of the tests after the matrix
OTHER_USERS = ("u-pattern", "u-pattern2", "u-deny", "u-implied", "u-host", "u-host2", "u-web", "u-web2")
SR_CT = "application/vnd.schemaregistry.v1+json"
AVRO = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]})


class Env:
    def __init__(self, broker: SecureBroker) -> None:
        self.b = broker
        self.admin = AdminClient(self.conf(ADMIN_USER, ADMIN_PASSWORD))
        self.su = KafkaRequests(kp_conf(broker, LISTENER, Login("SCRAM-SHA-256", ADMIN_USER, ADMIN_PASSWORD)))
        self.cluster_id = None

    def conf(self, user, password):
        return ck_conf(self.b, LISTENER, Login("SCRAM-SHA-256", user, password))

    def wire(self, user) -> KafkaRequests:
        return KafkaRequests(kp_conf(self.b, LISTENER, Login("SCRAM-SHA-256", user, password_of(user))))

    def grant(self, *bindings) -> None:
        create_acls(self.admin, bindings)

    def topic(self, records: int = 0, partitions: int = 1, name: str = None) -> str:
        t = name or unique("m")
        self.admin.create_topics([NewTopic(t, partitions, 1)])[t].result(timeout=15)
        if records:
            assert produce(self.su, t, [b"r%d" % i for i in range(records)]) == NONE
        return t

    def group_with_offset(self, topic: str) -> str:
        """A classic group with no members and a committed offset for `topic`-0."""
        g = unique("g")
        assert offset_commit(self.su, g, topic) == NONE
        return g

    def transactional_id(self) -> str:
        """A transactional id the coordinator knows (initialized by the super user)."""
        txn = unique("txn")
        assert init_pid(self.su, txn).error_code == NONE
        return txn


def all_users():
    users = [user_of(name) for name in ROWS] + list(OTHER_USERS)
    return {u: password_of(u) for u in users}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("acl-matrix")
    b = SecureBroker({LISTENER: LISTENER}, workdir=d / "broker", name="strata-acl-matrix",
                     overrides={"authorizer.class.name": AUTHORIZER, "strata.http.authentication.methods": "BASIC",
                                "group.initial.rebalance.delay.ms": "0"})
    e = None
    try:
        b.start()
        e = Env(b)
        upsert_scram_users(e.admin, all_users(), mechanisms=("SCRAM-SHA-256",))
        yield e
    finally:
        if e is not None:
            e.su.close()
        b.cleanup()


@pytest.mark.parametrize("name", sorted(ROWS))
def test_api_denied_then_allowed(env, name):
    user = user_of(name)
    k = env.wire(user)
    try:
        ROWS[name][1](env, k, "User:" + user)
    finally:
        k.close()


def test_every_advertised_api_is_in_the_matrix(env):
    advertised = set(api_versions(env.b.bootstrap).api_keys)
    covered = {key for key, _ in ROWS.values()}
    assert advertised - set(UNAUTHORIZED_APIS) == covered
    # the unauthorized ones answer a principal with no ACL at all (its login went through them)
    k = env.wire(user_of("Produce"))
    try:
        assert k(ApiVersionsRequest, 3, client_software_name="acl-matrix", client_software_version="1").error_code == NONE
    finally:
        k.close()


# ---------------------------------------------------------------------------------------------
# the authorizer's rules, through the same wire


class Principal:
    """A row-less principal's connection: `with Principal(env, "u-deny") as (k, p): ...`."""

    def __init__(self, env, user):
        self.k, self.p = env.wire(user), "User:" + user

    def __enter__(self):
        return self.k, self.p

    def __exit__(self, *exc):
        self.k.close()


def latest_offset_error(k, topic) -> int:
    r = k(ListOffsetsRequest, 7, replica_id=-1, isolation_level=0,
          topics=[{"name": topic, "partitions": [{"partition_index": 0, "timestamp": -1, "current_leader_epoch": -1}]}])
    return r.topics[0].partitions[0].error_code


def test_prefixed_literal_star_and_user_star(env):
    prefix = unique("pfx") + "-"
    mine, other = env.topic(name=prefix + "a"), env.topic()
    with Principal(env, "u-pattern") as (k, p):
        env.grant(acl("TOPIC", prefix, p, "WRITE", pattern="PREFIXED"))
        assert produce(k, mine, [b"x"]) == NONE
        assert produce(k, other, [b"x"]) == TOPIC_DENIED
        assert other not in [t.name for t in metadata(k).topics]
        # a LITERAL `*` names every topic
        env.grant(acl("TOPIC", "*", p, "DESCRIBE"))
        assert {mine, other} <= {t.name for t in metadata(k).topics}
    shared = env.topic()
    with Principal(env, "u-pattern2") as (k, p):
        assert latest_offset_error(k, shared) == TOPIC_DENIED
        env.grant(acl("TOPIC", shared, "User:*", "DESCRIBE"))  # every principal
        assert latest_offset_error(k, shared) == NONE
        assert produce(k, shared, [b"x"]) == TOPIC_DENIED


def test_deny_beats_allow(env):
    prefix = unique("dn") + "-"
    t = env.topic(name=prefix + "x")
    with Principal(env, "u-deny") as (k, p):
        env.grant(acl("TOPIC", prefix, p, "ALL", pattern="PREFIXED"), acl("TOPIC", t, p, "WRITE", perm="DENY"))
        assert produce(k, t, [b"x"]) == TOPIC_DENIED
        assert latest_offset_error(k, t) == NONE  # the rest of ALL stands
        # a DENY for User:* beats the principal's own ALLOW
        t2 = env.topic(name=prefix + "y")
        assert produce(k, t2, [b"x"]) == NONE
        env.grant(acl("TOPIC", t2, "User:*", "WRITE", perm="DENY"))
        assert produce(k, t2, [b"x"]) == TOPIC_DENIED
        # a PREFIXED DENY beats a LITERAL ALLOW
        t3 = env.topic(name=prefix + "z")
        env.grant(acl("TOPIC", t3, p, "DESCRIBE"), acl("TOPIC", prefix + "z", p, "DESCRIBE", perm="DENY",
                                                      pattern="PREFIXED"))
        assert latest_offset_error(k, t3) == TOPIC_DENIED


def test_implied_operations(env):
    read, write, configs = env.topic(), env.topic(), env.topic()
    with Principal(env, "u-implied") as (k, p):
        env.grant(acl("TOPIC", read, p, "READ"), acl("TOPIC", write, p, "WRITE"),
                  acl("TOPIC", configs, p, "ALTER_CONFIGS"))
        listed = {t.name: t for t in metadata(k, operations=True).topics}
        # Read and Write imply Describe; AlterConfigs implies DescribeConfigs but not Describe
        assert set(listed) >= {read, write} and configs not in listed
        assert op_set(listed[read].authorized_operations) == op_codes("READ", "DESCRIBE")
        assert op_set(listed[write].authorized_operations) == op_codes("WRITE", "DESCRIBE")
        r = k(DescribeConfigsRequest, 4, include_synonyms=False, include_documentation=False,
              resources=[{"resource_type": 2, "resource_name": configs, "configuration_keys": ["retention.ms"]}])
        assert r.results[0].error_code == NONE and [c.name for c in r.results[0].configs] == ["retention.ms"]
        # Describe does not imply Read
        assert latest_offset_error(k, read) == NONE
        assert produce(k, read, [b"x"]) == TOPIC_DENIED


def test_host_match(env):
    t = env.topic()
    with Principal(env, "u-host") as (k, p):
        env.grant(acl("TOPIC", t, p, "WRITE", host="127.0.0.1"))
        assert produce(k, t, [b"x"]) == NONE
        # a DENY for this host beats an ALLOW for every host
        t2 = env.topic()
        env.grant(acl("TOPIC", t2, p, "WRITE"), acl("TOPIC", t2, p, "WRITE", perm="DENY", host="127.0.0.1"))
        assert produce(k, t2, [b"x"]) == TOPIC_DENIED
    with Principal(env, "u-host2") as (k, p):
        env.grant(acl("TOPIC", t, p, "WRITE", host="10.1.2.3"))  # another host's ACL
        assert produce(k, t, [b"x"]) == TOPIC_DENIED


# ---------------------------------------------------------------------------------------------
# the same principals through the Schema Registry and the REST Proxy (HTTP Basic)


def http(env, face, method, path, user=None, body=None, **kw):
    auth = (ADMIN_USER, ADMIN_PASSWORD) if user is None else (user, password_of(user))
    base = env.b.schema_registry_url if face == "sr" else env.b.rest_proxy_url
    headers = {"Content-Type": SR_CT if face == "sr" else "application/json"}
    return requests.request(method, base + path, auth=auth, headers=headers, timeout=10,
                            data=None if body is None else json.dumps(body), **kw)


def cluster_id(env):
    if env.cluster_id is None:
        env.cluster_id = http(env, "rest", "GET", "/v3/clusters").json()["data"][0]["cluster_id"]
    return env.cluster_id


def assert_403(r):
    assert (r.status_code, r.json()["error_code"]) == (403, 40301), r.text


def test_registry_and_rest_proxy_as_the_kafka_principal(env):
    user, c = "u-web", cluster_id(env)
    p = "User:" + user
    subject = unique("web") + "-value"
    assert_403(http(env, "sr", "POST", f"/subjects/{subject}/versions", user, {"schema": AVRO}))
    # subject ACLs are the same store (created here through the REST Proxy's v3 acls)
    for op in ("WRITE", "READ"):
        r = http(env, "rest", "POST", f"/v3/clusters/{c}/acls", body={
            "resource_type": "SUBJECT", "resource_name": subject, "pattern_type": "LITERAL", "principal": p,
            "host": "*", "operation": op, "permission": "ALLOW"})
        assert r.status_code == 201, r.text
    r = http(env, "sr", "POST", f"/subjects/{subject}/versions", user, {"schema": AVRO})
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    r = http(env, "sr", "GET", f"/subjects/{subject}/versions/latest", user)
    assert (r.status_code, r.json()["id"]) == (200, sid), r.text
    assert_403(http(env, "sr", "GET", f"/subjects/{subject}/versions/latest", "u-web2"))
    # REST Proxy v3 produce runs as the caller: the topic's Kafka ACL decides
    t = env.topic()
    path = f"/v3/clusters/{c}/topics/{t}/records"
    record = {"partition_id": 0, "value": {"type": "JSON", "data": {"n": 1}}}
    assert_403(http(env, "rest", "POST", path, user, record))
    env.grant(acl("TOPIC", t, p, "WRITE"))
    r = http(env, "rest", "POST", path, user, record)
    assert (r.status_code, r.json()["offset"]) == (200, 0), r.text
    assert_403(http(env, "rest", "POST", path, "u-web2", record))


def test_rest_v3_topics_include_authorized_operations(env):
    user, c = "u-web2", cluster_id(env)
    t = env.topic()
    env.grant(acl("TOPIC", t, "User:" + user, "READ"))
    one = f"/v3/clusters/{c}/topics/{t}"
    got = http(env, "rest", "GET", one + "?include_authorized_operations=true", user).json()
    assert got["authorized_operations"] == ["READ", "DESCRIBE"]
    assert http(env, "rest", "GET", one, user).json()["authorized_operations"] == []  # not asked
    # the list takes kafka-rest's camelCase spelling; it shows what this caller may do per topic
    listed = http(env, "rest", "GET", f"/v3/clusters/{c}/topics?includeAuthorizedOperations=true", user).json()
    ops = {x["topic_name"]: x["authorized_operations"] for x in listed["data"]}
    assert ops[t] == ["READ", "DESCRIBE"]
    # (other topics it sees through User:* grants of other tests: Describe at least)
    assert all("DESCRIBE" in v for v in ops.values()), ops
    # a super user may do everything Kafka defines for a topic
    su = http(env, "rest", "GET", one + "?include_authorized_operations=true").json()
    assert su["authorized_operations"] == ["READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE",
                                           "DESCRIBE_CONFIGS", "ALTER_CONFIGS"]
