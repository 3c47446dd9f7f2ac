"""The audit topic `_strata_audit` read with a real client (confluent-kafka, as the super user):
failed logins (SASL PLAIN, HTTP Basic), denied requests on the three faces (Kafka Produce, the
Schema Registry, the REST Proxy acting for its caller), ACL, credential, topic and schema changes,
each a CloudEvents JSON record with Confluent's audit fields; a burst of 100 identical denials is
one record, and the next record after the window counts the left-out ones in `suppressed`.

One broker for the module: SASL_PLAINTEXT, the ACL authorizer (which turns the audit log on by
default), HTTP Basic on the HTTP faces; every test uses its own topic and subject names.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kafkautil import unique
from secutil import (ADMIN_PASSWORD, ADMIN_USER, Login, SecureBroker, acl, ck_conf, create_acls,
                     delivery_errors, upsert_scram_users)

pytestmark = pytest.mark.timeout(90)

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
AUDIT_TOPIC = "_strata_audit"
USERS = {"alice": "alice-secret", "bob": "bob-secret"}
ADMIN = (ADMIN_USER, ADMIN_PASSWORD)
SR_CT = "application/vnd.schemaregistry.v1+json"
AVRO = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]})
AUTHZ = "io.confluent.kafka.server/authorization"
AUTHN = "io.confluent.kafka.server/authentication"
MGMT = "io.strata.server/management"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("sec-audit")
    b = SecureBroker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, workdir=d / "broker", name="strata-sec-audit",
                     overrides={"authorizer.class.name": AUTHORIZER,
                                "strata.http.authentication.methods": "BASIC"})
    try:
        b.start()
        upsert_scram_users(kafka_admin(b), USERS, mechanisms=("SCRAM-SHA-256",))
        b.cluster_id = rest(b, "GET", "/v3/clusters", auth=ADMIN).json()["data"][0]["cluster_id"]
        yield b
    finally:
        b.cleanup()


def kafka_admin(b) -> AdminClient:
    return AdminClient(ck_conf(b, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", ADMIN_USER, ADMIN_PASSWORD)))


def conf_of(b, user, password=None, mechanism="SCRAM-SHA-256", **extra) -> dict:
    return ck_conf(b, "SASL_PLAINTEXT", Login(mechanism, user, password or USERS[user]), **extra)


def sr(b, method, path, auth=None, body=None):
    return requests.request(method, b.schema_registry_url + path, auth=auth,
                            data=None if body is None else json.dumps(body),
                            headers={"Content-Type": SR_CT}, timeout=10)


def rest(b, method, path, auth=None, body=None):
    return requests.request(method, b.rest_proxy_url + path, auth=auth,
                            data=None if body is None else json.dumps(body),
                            headers={"Content-Type": "application/json"}, timeout=10)


def read_audit(b) -> list:
    """Every record of the audit topic so far, decoded, read as the super user."""
    c = Consumer(conf_of(b, ADMIN_USER, ADMIN_PASSWORD, **{"group.id": unique("audit-reader"),
                                                          "enable.auto.commit": False}))
    try:
        _, high = c.get_watermark_offsets(TopicPartition(AUDIT_TOPIC, 0), timeout=10)
        c.assign([TopicPartition(AUDIT_TOPIC, 0, OFFSET_BEGINNING)])
        out, deadline = [], time.monotonic() + 20
        while len(out) < high and time.monotonic() < deadline:
            for m in c.consume(num_messages=500, timeout=0.5):
                if m.error():
                    raise KafkaException(m.error())
                event = json.loads(m.value())
                event["_key"] = m.key().decode() if m.key() else None
                out.append(event)
        assert len(out) >= high, f"read {len(out)} of {high} audit records"
        return out
    finally:
        c.close()


def find(b, timeout=15.0, count=1, **want) -> list:
    """Audit events matching `want` (dotted paths into the event: data__methodName=...), waiting
    until at least `count` are there: the writer appends in the background."""
    def get(event, path):
        for part in path.split("__"):
            if not isinstance(event, dict) or part not in event:
                return None
            event = event[part]
        return event

    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in read_audit(b) if all(get(e, k) == v for k, v in want.items())]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def assert_cloud_event(event, cluster_id):
    assert event["specversion"] == "1.0"
    assert event["datacontenttype"] == "application/json"
    assert event["source"] == f"crn:///kafka={cluster_id}"
    assert len(event["id"]) == 36 and event["time"].endswith("Z")
    assert event["subject"] == event["data"]["resourceName"]


def test_a_wrong_password_is_a_failed_login(env):
    a = AdminClient(conf_of(env, "alice", "not-her-password", mechanism="PLAIN"))
    with pytest.raises(KafkaException):
        a.list_topics(timeout=3)
    (event, *_) = find(env, type=AUTHN, data__authenticationInfo__metadata__identifier="alice") or [None]
    assert event is not None, "no authentication record for alice"
    assert_cloud_event(event, env.cluster_id)
    data = event["data"]
    assert data["methodName"] == "kafka.Authentication"
    assert data["authenticationInfo"]["metadata"]["mechanism"] == "SASL_PLAINTEXT/PLAIN"
    assert data["result"]["status"] == "UNAUTHENTICATED"
    assert "Invalid username or password" in data["result"]["message"]
    assert data["requestMetadata"]["client_address"] == "127.0.0.1"
    assert event["_key"] == "User:alice"


def test_a_denied_produce_is_recorded_and_metadata_filtering_is_not(env):
    t, hidden = unique("audit-deny"), unique("audit-hidden")
    admin = kafka_admin(env)
    for name in (t, hidden):
        admin.create_topics([NewTopic(name, 1, 1)])[name].result(timeout=15)
    # bob may see t (so his producer gets as far as Produce) but not write it
    create_acls(admin, [acl("TOPIC", t, "User:bob", "DESCRIBE")])
    errors = delivery_errors(conf_of(env, "bob"), t, n=2)
    assert [e.code() if e else None for e in errors] == [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 2
    # listing every topic leaves out what bob may not describe, without an audit record
    AdminClient(conf_of(env, "bob")).list_topics(timeout=10)
    found = find(env, type=AUTHZ, data__methodName="kafka.Produce",
                 data__authenticationInfo__principal="User:bob")
    mine = [e for e in found if e["data"]["authorizationInfo"]["resourceName"] == t]
    assert mine, f"no denied produce of {t} by bob in {found}"
    event = mine[0]
    assert_cloud_event(event, env.cluster_id)
    assert event["data"]["authorizationInfo"] == {"granted": False, "operation": "Write", "resourceType": "Topic",
                                                  "resourceName": t, "patternType": "LITERAL"}
    assert event["data"]["resourceName"] == f"crn:///kafka={env.cluster_id}/topic={t}"
    assert event["data"]["result"]["status"] == "DENIED"
    assert event["_key"] == "User:bob"
    assert not [e for e in read_audit(env) if e["type"] == AUTHZ
                and e["data"]["authorizationInfo"]["resourceName"] == hidden], \
        "Metadata's filtering of an undescribable topic must not be audited"


def test_acl_credential_and_topic_changes_are_recorded(env):
    t = unique("audit-topic")
    admin = kafka_admin(env)
    create_acls(admin, [acl("TOPIC", t, "User:alice", "READ")])
    admin.create_topics([NewTopic(t, 3, 1)])[t].result(timeout=15)
    admin.delete_topics([t])[t].result(timeout=15)
    (created,) = find(env, type=MGMT, data__methodName="kafka.CreateAcls",
                      data__request__acl__resourceName=t)
    assert created["data"]["authenticationInfo"]["principal"] == "User:admin"
    assert created["data"]["request"]["acl"] == {
        "resourceType": "TOPIC", "resourceName": t, "patternType": "LITERAL", "principal": "User:alice",
        "host": "*", "operation": "READ", "permission": "ALLOW"}
    assert created["data"]["authorizationInfo"]["granted"] is True
    (topic,) = find(env, type=MGMT, data__methodName="kafka.CreateTopics", data__authorizationInfo__resourceName=t)
    assert topic["data"]["request"]["partitions"] == 3
    assert topic["data"]["authorizationInfo"]["operation"] == "Create"
    (deleted,) = find(env, type=MGMT, data__methodName="kafka.DeleteTopics",
                      data__authorizationInfo__resourceName=t)
    assert deleted["data"]["authenticationInfo"]["principal"] == "User:admin"
    # the fixture's users: one upsert each, never a password
    creds = find(env, type=MGMT, data__methodName="kafka.AlterUserScramCredentials", count=2)
    assert sorted(e["data"]["request"]["user"] for e in creds) == ["alice", "bob"]
    assert all(e["data"]["request"]["mechanism"] == "SCRAM-SHA-256" for e in creds)
    assert not any("alice-secret" in json.dumps(e) for e in creds)


def test_schema_registry_changes_denials_and_failed_logins(env):
    s = unique("audit-subject")
    r = sr(env, "POST", f"/subjects/{s}/versions", auth=ADMIN, body={"schema": AVRO})
    assert r.status_code == 200, r.text
    r = sr(env, "PUT", f"/config/{s}", auth=ADMIN, body={"compatibility": "NONE"})
    assert r.status_code == 200, r.text
    r = sr(env, "POST", f"/subjects/{s}/versions", auth=("bob", USERS["bob"]), body={"schema": AVRO})
    assert r.status_code == 403, r.text
    r = sr(env, "GET", "/subjects", auth=("bob", "wrong-password"))
    assert r.status_code == 401, r.text
    (registered,) = find(env, type=MGMT, data__methodName="schema-registry.RegisterSchema",
                         data__authorizationInfo__resourceName=s)
    assert_cloud_event(registered, env.cluster_id)
    assert registered["data"]["authenticationInfo"]["principal"] == "User:admin"
    assert registered["data"]["resourceName"] == f"crn:///kafka={env.cluster_id}/subject={s}"
    assert registered["data"]["serviceName"] == f"crn:///kafka={env.cluster_id}/schema-registry={env.cluster_id}"
    (config,) = find(env, type=MGMT, data__methodName="schema-registry.UpdateConfig",
                     data__authorizationInfo__resourceName=s)
    assert config["data"]["request"]["body"] == {"compatibility": "NONE"}
    assert config["data"]["authorizationInfo"]["operation"] == "AlterConfigs"
    (denied,) = find(env, type=AUTHZ, data__methodName="schema-registry.RegisterSchema",
                     data__authorizationInfo__resourceName=s)
    assert denied["data"]["authenticationInfo"]["principal"] == "User:bob"
    assert denied["data"]["authorizationInfo"]["granted"] is False
    assert denied["data"]["authorizationInfo"]["resourceType"] == "Subject"
    logins = find(env, type=AUTHN, data__methodName="schema-registry.Authentication",
                  data__authenticationInfo__metadata__identifier="bob")
    assert logins and logins[0]["data"]["authenticationInfo"]["metadata"]["mechanism"] == "HTTP/BASIC"


def test_rest_proxy_denied_produce_names_the_caller(env):
    t = unique("audit-rest")
    r = rest(env, "POST", f"/v3/clusters/{env.cluster_id}/topics", auth=ADMIN,
             body={"topic_name": t, "partitions_count": 1})
    assert r.status_code == 201, r.text
    # alice may see the topic (the REST Proxy looks it up as her first) but not write it
    create_acls(kafka_admin(env), [acl("TOPIC", t, "User:alice", "DESCRIBE")])
    r = rest(env, "POST", f"/v3/clusters/{env.cluster_id}/topics/{t}/records", auth=("alice", USERS["alice"]),
             body={"partition_id": 0, "value": {"type": "JSON", "data": {"n": 1}}})
    # refused (the HTTP status of a refused v3 produce is the REST suite's open question)
    assert r.json()["error_code"] == 40301, r.text
    (denied,) = find(env, type=AUTHZ, data__authorizationInfo__resourceName=t)
    assert denied["data"]["methodName"] == "rest-proxy.Produce"
    assert denied["data"]["authenticationInfo"]["principal"] == "User:alice"
    assert denied["data"]["authorizationInfo"]["operation"] == "Write"
    # the topic the REST call created is recorded once, as the REST Proxy's CreateTopics for admin
    (created,) = find(env, type=MGMT, data__methodName="rest-proxy.CreateTopics",
                      data__authorizationInfo__resourceName=t)
    assert created["data"]["authenticationInfo"]["principal"] == "User:admin"


def test_a_burst_of_denials_is_a_handful_of_records(env):
    s = unique("audit-burst")
    assert sr(env, "POST", f"/subjects/{s}/versions", auth=ADMIN, body={"schema": AVRO}).status_code == 200
    started = time.monotonic()
    for _ in range(100):
        assert sr(env, "GET", f"/subjects/{s}/versions", auth=("bob", USERS["bob"])).status_code == 403
    burst_s = time.monotonic() - started
    want = dict(type=AUTHZ, data__authorizationInfo__resourceName=s,
                data__authenticationInfo__principal="User:bob")
    records = find(env, **want)
    # one record per 10 s window and key
    assert 1 <= len(records) <= 1 + int(burst_s // 10), (burst_s, len(records))
    assert records[0]["data"]["suppressed"] == 0
    # after the window, the next denial carries the count of the left-out ones
    time.sleep(max(0.0, 10.5 - (time.monotonic() - started)))
    assert sr(env, "GET", f"/subjects/{s}/versions", auth=("bob", USERS["bob"])).status_code == 403
    records = find(env, count=len(records) + 1, **want)
    assert sum(e["data"]["suppressed"] for e in records) + len(records) == 101, \
        [e["data"]["suppressed"] for e in records]
