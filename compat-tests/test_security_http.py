"""One principal across the three faces: HTTP Basic login on the Schema Registry, the REST Proxy
and the admin face (`strata.http.authentication.methods=BASIC`, the users of the SCRAM store),
the same ACL authorizer as Kafka: subject ACLs (allowed, denied with 403 40301, `/subjects`
filtered), REST Proxy produce allowed or denied by the topic ACL Kafka uses, REST v3 `/acls`
create/list/delete seen by Kafka's DescribeAcls; 401 40101 without credentials; HTTPS faces
checked against the test CA.
"""

from __future__ import annotations

import json

import pytest
import requests
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from kafkautil import unique
from secutil import (ADMIN_PASSWORD, ADMIN_USER, Login, Pki, SecureBroker, acl_filter, acl_key, ck_conf,
                     describe_acls, upsert_scram_users)

pytestmark = pytest.mark.timeout(60)

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
USERS = {"alice": "alice-secret", "bob": "bob-secret"}
ADMIN = (ADMIN_USER, ADMIN_PASSWORD)
SR_CT = "application/vnd.schemaregistry.v1+json"
AVRO = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]})


def http_overrides():
    return {"authorizer.class.name": AUTHORIZER, "strata.http.authentication.methods": "BASIC"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("sec-http")
    b = SecureBroker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, workdir=d / "broker", name="strata-sec-http",
                     overrides=http_overrides())
    try:
        b.start()
        upsert_scram_users(kafka_admin(b), USERS)
        b.cluster_id = rest(b, "GET", "/v3/clusters", auth=ADMIN).json()["data"][0]["cluster_id"]
        yield b
    finally:
        b.cleanup()


def kafka_admin(b) -> AdminClient:
    return AdminClient(ck_conf(b, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", ADMIN_USER, ADMIN_PASSWORD)))


def user(name):
    return (name, USERS[name])


def sr(b, method, path, auth=None, body=None, **kw):
    return requests.request(method, b.schema_registry_url + path, auth=auth,
                            data=None if body is None else json.dumps(body),
                            headers={"Content-Type": SR_CT}, timeout=10, **kw)


def rest(b, method, path, auth=None, body=None, **kw):
    return requests.request(method, b.rest_proxy_url + path, auth=auth,
                            data=None if body is None else json.dumps(body),
                            headers={"Content-Type": "application/json"}, timeout=10, **kw)


def sr_client(b, who) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": b.schema_registry_url, "basic.auth.user.info": f"{who[0]}:{who[1]}"})


def rest_acl(b, method, entry, auth=ADMIN):
    """Create (POST body) or delete/list (query) an ACL through /v3/clusters/{c}/acls."""
    path = f"/v3/clusters/{b.cluster_id}/acls"
    if method == "POST":
        return rest(b, "POST", path, auth=auth, body=entry)
    return requests.request(method, b.rest_proxy_url + path, params=entry, auth=auth, timeout=10)


def acl_entry(rtype, name, principal, op, pattern="LITERAL", perm="ALLOW"):
    return {"resource_type": rtype, "resource_name": name, "pattern_type": pattern, "principal": principal,
            "host": "*", "operation": op, "permission": perm}


def assert_401(r):
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.json()["error_code"] == 40101, r.text
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers


def assert_403(r):
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.json()["error_code"] == 40301, r.text


def test_no_or_wrong_credentials_get_401_and_health_stays_open(env):
    for base, path in ((env.schema_registry_url, "/subjects"), (env.rest_proxy_url, "/v3/clusters"),
                       (env.admin_url, "/metrics")):
        assert_401(requests.get(base + path, timeout=10))
        assert_401(requests.get(base + path, auth=("alice", "wrong"), timeout=10))
        assert_401(requests.get(base + path, auth=("nobody", "x"), timeout=10))
    assert requests.get(env.admin_url + "/health", timeout=10).status_code == 200
    assert requests.get(env.admin_url + "/metrics", auth=ADMIN, timeout=10).status_code == 200


def test_registry_subject_acls(env):
    prefix = unique("alice-subj") + "-"
    mine, theirs = prefix + "value", unique("other-subj") + "-value"
    alice, bob = sr_client(env, user("alice")), sr_client(env, user("bob"))
    # admin (super user) registers one subject alice may not see, with a schema of its own (a schema
    # id is readable by whoever may read a subject that uses it, so the two must differ)
    other = AVRO.replace('"R"', '"Other"')
    other_id = sr_client(env, ADMIN).register_schema(theirs, Schema(other, "AVRO"))
    with pytest.raises(SchemaRegistryError) as e:
        alice.register_schema(mine, Schema(AVRO, "AVRO"))
    assert (e.value.http_status_code, e.value.error_code) == (403, 40301)
    for op in ("WRITE", "READ"):
        r = rest_acl(env, "POST", acl_entry("SUBJECT", prefix, "User:alice", op, pattern="PREFIXED"))
        assert r.status_code == 201, r.text
    sid = alice.register_schema(mine, Schema(AVRO, "AVRO"))
    assert sid != other_id
    assert alice.get_latest_version(mine).schema_id == sid
    assert alice.get_schema(sid).schema_str.replace(" ", "") == AVRO.replace(" ", "")
    # /subjects lists only what the caller may read
    listed = sr(env, "GET", "/subjects", auth=user("alice")).json()
    assert mine in listed and theirs not in listed
    admin_listed = sr(env, "GET", "/subjects", auth=ADMIN).json()
    assert {mine, theirs} <= set(admin_listed)
    # bob: no ACL on either subject
    assert_403(sr(env, "GET", f"/subjects/{mine}/versions", auth=user("bob")))
    assert_403(sr(env, "GET", f"/schemas/ids/{sid}", auth=user("bob")))
    assert_403(sr(env, "GET", f"/schemas/ids/{other_id}", auth=user("alice")))
    assert_403(sr(env, "DELETE", f"/subjects/{mine}", auth=user("alice")))  # Delete not granted
    assert_403(sr(env, "PUT", "/config", auth=user("alice"), body={"compatibility": "NONE"}))
    with pytest.raises(SchemaRegistryError) as e:
        bob.get_latest_version(mine)
    assert (e.value.http_status_code, e.value.error_code) == (403, 40301)


def test_rest_proxy_produce_follows_the_topic_acl_and_rest_acls_are_kafkas(env):
    t = unique("rest-acl")
    r = rest(env, "POST", f"/v3/clusters/{env.cluster_id}/topics", auth=ADMIN,
             body={"topic_name": t, "partitions_count": 1})
    assert r.status_code == 201, r.text
    v2 = {"Content-Type": "application/vnd.kafka.json.v2+json", "Accept": "application/vnd.kafka.v2+json"}
    body = json.dumps({"records": [{"value": {"n": 1}, "partition": 0}]})

    def v2_produce(who):
        return requests.post(f"{env.rest_proxy_url}/topics/{t}", data=body, headers=v2, auth=who, timeout=10)

    def v3_produce(who):
        return rest(env, "POST", f"/v3/clusters/{env.cluster_id}/topics/{t}/records", auth=who,
                    body={"partition_id": 0, "value": {"type": "JSON", "data": {"n": 3}}})

    r = v2_produce(user("alice"))
    assert r.status_code == 403, r.text
    assert "offsets" in r.json(), r.text
    assert r.json()["offsets"][0]["error_code"] == 40301
    assert_403(v3_produce(user("alice")))
    entry = acl_entry("TOPIC", t, "User:alice", "WRITE")
    r = rest_acl(env, "POST", entry)
    assert r.status_code == 201, r.text
    # Kafka's DescribeAcls sees the REST-created ACL
    seen = describe_acls(kafka_admin(env), acl_filter("TOPIC", t, pattern="LITERAL"))
    assert [acl_key(b) for b in seen] == [("TOPIC", t, "LITERAL", "User:alice", "*", "WRITE", "ALLOW")]
    listed = rest_acl(env, "GET", {"resource_type": "TOPIC", "resource_name": t}).json()["data"]
    assert [(a["principal"], a["operation"], a["permission"]) for a in listed] == [("User:alice", "WRITE", "ALLOW")]
    r = v2_produce(user("alice"))
    assert r.status_code == 200 and r.json()["offsets"][0]["offset"] == 0, r.text
    r = v3_produce(user("alice"))
    assert r.status_code == 200 and r.json()["offset"] == 1, r.text
    assert v2_produce(user("bob")).status_code == 403  # the REST Proxy acts as the caller
    # alice cannot manage ACLs
    assert_403(rest_acl(env, "POST", acl_entry("TOPIC", t, "User:alice", "ALL"), auth=user("alice")))
    # delete through REST: gone for Kafka too, and produce is denied again
    r = rest_acl(env, "DELETE", {"resource_type": "TOPIC", "resource_name": t, "pattern_type": "LITERAL",
                                 "principal": "User:alice", "host": "*", "operation": "WRITE",
                                 "permission": "ALLOW"})
    assert r.status_code == 200, r.text
    assert [d["operation"] for d in r.json()["data"]] == ["WRITE"]
    assert describe_acls(kafka_admin(env), acl_filter("TOPIC", t, pattern="LITERAL")) == []
    assert v2_produce(user("alice")).status_code == 403


def test_rest_v2_consumer_instances_belong_to_their_creator(env):
    g = unique("rest-owner")
    v2 = {"Content-Type": "application/vnd.kafka.v2+json"}
    base = f"{env.rest_proxy_url}/consumers/{g}"
    r = requests.post(base, json={"name": "mine", "format": "json"}, headers=v2, auth=user("alice"), timeout=10)
    assert r.status_code == 200, r.text
    inst = f"{base}/instances/mine"
    # bob may not drive alice's instance (its Kafka requests would carry alice's principal)
    for method, path, body in (("POST", "/subscription", {"topics": ["t"]}), ("GET", "/subscription", None),
                               ("GET", "/records", None), ("DELETE", "", None)):
        r = requests.request(method, inst + path, json=body, headers=v2, auth=user("bob"), timeout=10)
        assert (r.status_code, r.json()["error_code"]) == (403, 40301), (method, path, r.text)
    r = requests.get(inst + "/subscription", headers=v2, auth=user("alice"), timeout=10)
    assert r.status_code == 200 and r.json() == {"topics": []}, r.text
    assert requests.delete(inst, headers=v2, auth=user("alice"), timeout=10).status_code == 204


@pytest.mark.timeout(60)
def test_https_faces_with_the_test_ca(tmp_path):
    pki = Pki(tmp_path / "pki")
    b = SecureBroker({}, pki=pki, http_tls=True, workdir=tmp_path / "b", name="strata-sec-https",
                     overrides=http_overrides())
    try:
        b.start()
        ca = str(pki.ca.path)
        for url in (b.schema_registry_url + "/subjects", b.rest_proxy_url + "/v3/clusters", b.admin_url + "/metrics"):
            assert url.startswith("https://")
            assert requests.get(url, auth=ADMIN, verify=ca, timeout=10).status_code == 200, url
            assert_401(requests.get(url, verify=ca, timeout=10))
            with pytest.raises(requests.exceptions.SSLError):
                requests.get(url, auth=ADMIN, verify=str(pki.wrong_ca.path), timeout=10)
        c = SchemaRegistryClient({"url": b.schema_registry_url, "basic.auth.user.info": f"{ADMIN_USER}:{ADMIN_PASSWORD}",
                                  "ssl.ca.location": ca})
        sid = c.register_schema("https-value", Schema(AVRO, "AVRO"))
        assert c.get_latest_version("https-value").schema_id == sid
        # links in REST answers name the scheme the client called
        cluster = requests.get(b.rest_proxy_url + "/v3/clusters", auth=ADMIN, verify=ca, timeout=10).json()["data"][0]
        assert cluster["metadata"]["self"].startswith("https://"), cluster["metadata"]
        r = requests.post(b.rest_proxy_url + "/consumers/https-group", auth=ADMIN, verify=ca, timeout=10,
                          headers={"Content-Type": "application/vnd.kafka.v2+json"},
                          json={"name": "c1", "format": "json"})
        assert r.status_code == 200 and r.json()["base_uri"].startswith("https://"), r.text
        assert requests.delete(r.json()["base_uri"], auth=ADMIN, verify=ca, timeout=10,
                               headers={"Content-Type": "application/vnd.kafka.v2+json"}).status_code == 204
    finally:
        b.cleanup()
