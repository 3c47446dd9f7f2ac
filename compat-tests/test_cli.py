"""The `strata` command line (`strata topic|produce|consume|group|schema|acl|user|cluster`)
against Strata started by the harness, checked with confluent-kafka and the registry's REST API.

Every CLI call is the real binary ($STRATA_BIN) run as a subprocess with a timeout; tests assert
on what came back: JSON output (`-o json`, `--format json`), records read by the other client,
exit codes (0 ok, 1 Kafka/HTTP error, 2 usage) and the Kafka error name on stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import List, Optional

import pytest
import requests
from confluent_kafka import Consumer, TopicPartition

from kafkautil import admin, consume, consume_range, create_topic, produce_ok, producer, topic_config, unique
from secutil import (ADMIN_PASSWORD, ADMIN_USER, Login, Pki, SecureBroker, ck_conf)
from strata_harness import strata_bin

pytestmark = pytest.mark.timeout(120)

CLI_TIMEOUT = 60
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def run_cli(*args: str, stdin: Optional[bytes] = None, timeout: float = CLI_TIMEOUT,
            env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """The CLI's exit code, stdout and stderr; no STRATA_* variable leaks in from the test run."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
    clean.update(env or {})
    return subprocess.run([str(strata_bin()), *args], input=stdin, capture_output=True, timeout=timeout,
                          env=clean)


def ok(*args: str, **kw) -> str:
    p = run_cli(*args, **kw)
    assert p.returncode == 0, f"strata {' '.join(args)} exited {p.returncode}\n{p.stderr.decode()}"
    return p.stdout.decode()


def ok_json(*args: str, **kw):
    return json.loads(ok(*args, "-o", "json", **kw))


def consume_lines(bootstrap: str, topic: str, *extra: str) -> List[dict]:
    out = ok("consume", topic, "-b", bootstrap, "--format", "json", *extra)
    return [json.loads(line) for line in out.splitlines() if line]


# ---------------------------------------------------------------------------------------------
# topics


def test_topic_create_list_describe_alter_delete(broker):
    b, topic = broker.bootstrap, unique("cli-topic")
    out = ok("topic", "create", topic, "-b", b, "--partitions", "3", "--config", "retention.ms=123456")
    assert f"created topic {topic}" in out

    listed = {t["name"]: t for t in ok_json("topic", "list", "-b", b)}
    assert listed[topic]["partitions"] == 3
    md = admin(b).list_topics(topic, timeout=10)
    assert len(md.topics[topic].partitions) == 3
    assert len(listed[topic]["topic_id"]) == 36

    table = ok("topic", "list", "-b", b)
    assert table.splitlines()[0].split()[:2] == ["TOPIC", "PARTITIONS"]
    assert any(line.split()[:2] == [topic, "3"] for line in table.splitlines())

    described = ok_json("topic", "describe", topic, "-b", b)
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    assert all(p["end_offset"] == 0 for p in described["partitions"])
    assert described["configs"]["retention.ms"] == {"value": "123456", "source": "DYNAMIC_TOPIC_CONFIG"}

    ok("topic", "alter-config", topic, "-b", b, "--set", "retention.ms=999000", "--set", "cleanup.policy=compact")
    assert topic_config(b, topic)["retention.ms"].value == "999000"
    assert topic_config(b, topic)["cleanup.policy"].value == "compact"
    ok("topic", "alter-config", topic, "-b", b, "--delete", "cleanup.policy")
    assert topic_config(b, topic)["cleanup.policy"].value == "delete"

    ok("topic", "delete", topic, "-b", b)
    assert topic not in {t["name"] for t in ok_json("topic", "list", "-b", b)}


def test_topic_errors_name_the_kafka_error(broker):
    b, topic = broker.bootstrap, unique("cli-err")
    ok("topic", "create", topic, "-b", b)
    dup = run_cli("topic", "create", topic, "-b", b)
    assert dup.returncode == 1 and b"TOPIC_ALREADY_EXISTS (error code 36)" in dup.stderr
    missing = run_cli("topic", "describe", unique("cli-missing"), "-b", b)
    assert missing.returncode == 1 and b"UNKNOWN_TOPIC_OR_PARTITION" in missing.stderr
    gone = run_cli("consume", unique("cli-missing"), "-b", b, "--count", "1")
    assert gone.returncode == 1 and b"UNKNOWN_TOPIC_OR_PARTITION (error code 3)" in gone.stderr
    usage = run_cli("topic", "create", "-b", b)
    assert usage.returncode == 2 and b"TOPIC" in usage.stderr
    bad_config = run_cli("topic", "create", unique("cli-x"), "-b", b, "--config", "novalue")
    assert bad_config.returncode == 2 and b"expected key=value" in bad_config.stderr
    unreachable = run_cli("topic", "list", "-b", "127.0.0.1:1", "--timeout", "5")
    assert unreachable.returncode == 1 and b"cannot connect to 127.0.0.1:1" in unreachable.stderr


# ---------------------------------------------------------------------------------------------
# records


def test_cli_produce_then_confluent_consume_keys_and_headers(broker):
    b, topic = broker.bootstrap, unique("cli-produce")
    create_topic(b, topic, partitions=2)
    lines = b"".join(b"k%d:value %d\n" % (i, i) for i in range(20))
    p = run_cli("produce", topic, "-b", b, "-K", ":", "-H", "source=cli", "-H", "n=1", "-o", "json", stdin=lines)
    assert p.returncode == 0, p.stderr.decode()
    summary = json.loads(p.stdout)
    assert summary["records"] == 20
    got = []
    for part in (0, 1):
        n = sum(x["records"] for x in summary["partitions"] if x["partition"] == part)
        if n:
            got += consume_range(b, topic, part, 0, n)
    assert sorted((m.key(), m.value()) for m in got) == sorted((b"k%d" % i, b"value %d" % i) for i in range(20))
    assert all(m.headers() == [("source", b"cli"), ("n", b"1")] for m in got)
    # Keys land where Kafka's default partitioner (murmur2) puts them: librdkafka agrees.
    pr = producer(b, partitioner="murmur2_random")
    check = produce_ok(pr, topic, [{"key": b"k%d" % i, "value": b"x"} for i in range(20)])
    by_key = {m.key(): m.partition() for m in got}
    assert all(by_key[b"k%d" % i] == d.partition for i, d in enumerate(check))

    # --partition and JSON lines.
    jl = b'{"key":"a","value":"va","headers":{"h":"1"}}\n{"value":"vb","partition":0}\n'
    ok("produce", topic, "-b", b, "--format", "json", "--partition", "1", stdin=jl)
    last = consume_lines(b, topic, "-p", "1", "--from-time", str(int(time.time() * 1000) - 60_000))
    assert [r["value"] for r in last[-2:]] == ["va", "vb"]
    assert last[-2]["headers"] == [["h", "1"]] and last[-2]["key"] == "a"


def test_confluent_produce_then_cli_consume(broker):
    b, topic = broker.bootstrap, unique("cli-consume")
    create_topic(b, topic)
    before = int(time.time() * 1000)
    records = [{"key": b"key-%d" % i, "value": b"val-%d" % i, "headers": [("trace", b"t%d" % i)]} for i in range(10)]
    produce_ok(producer(b), topic, records)

    out = consume_lines(b, topic)
    assert [(r["offset"], r["key"], r["value"], r["headers"]) for r in out] == \
        [(i, "key-%d" % i, "val-%d" % i, [["trace", "t%d" % i]]) for i in range(10)]
    assert all(r["topic"] == topic and r["partition"] == 0 and r["timestamp"] >= before - 1000 for r in out)

    assert [r["offset"] for r in consume_lines(b, topic, "-p", "0", "--offset", "6")] == [6, 7, 8, 9]
    assert [r["offset"] for r in consume_lines(b, topic, "--count", "3")] == [0, 1, 2]
    assert consume_lines(b, topic, "--from-end") == []
    assert consume_lines(b, topic, "--from-time", str(int(time.time() * 1000) + 60_000)) == []
    text = ok("consume", topic, "-b", b, "-K", "=", "--count", "2")
    assert text.splitlines() == ["key-0=val-0", "key-1=val-1"]


def test_a_repeated_header_name_comes_back_twice(broker):
    """Kafka keeps a record's headers as a list: `consume --format json` prints every one, in order,
    as [name, value] pairs (a map would fold the repeated name), and `produce --format json` takes
    that form back, a repeated name included."""
    b, topic = broker.bootstrap, unique("cli-headers")
    create_topic(b, topic)
    headers = [("h", b"1"), ("h", b"2"), ("x", b"y"), ("h", None)]
    produce_ok(producer(b), topic, [{"value": b"v", "headers": headers}])
    [line] = consume_lines(b, topic)
    assert line["headers"] == [["h", "1"], ["h", "2"], ["x", "y"], ["h", None]]

    ok("produce", topic, "-b", b, "--format", "json", stdin=b'{"value":"w","headers":[["a","1"],["b",null]]}\n')
    got = consume_range(b, topic, 0, 1, 1)[0]
    assert (got.value(), got.headers()) == (b"w", [("a", b"1"), ("b", None)])
    # and writes a repeated name as often as it is given, in order
    ok("produce", topic, "-b", b, "--format", "json",
       stdin=b'{"value":"z","headers":[["a","1"],["b","x"],["a","2"],["a",null]]}\n')
    got = consume_range(b, topic, 0, 2, 1)[0]
    assert (got.value(), got.headers()) == (b"z", [("a", b"1"), ("b", b"x"), ("a", b"2"), ("a", None)])


def test_follow_sees_records_produced_later(broker):
    b, topic = broker.bootstrap, unique("cli-follow")
    create_topic(b, topic)
    proc = subprocess.Popen([str(strata_bin()), "consume", topic, "-b", b, "--follow", "--from-end", "--count", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        produce_ok(producer(b), topic, [{"value": b"late-%d" % i} for i in range(3)])
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    assert out.decode().splitlines() == ["late-0", "late-1", "late-2"]


# ---------------------------------------------------------------------------------------------
# groups


def _commit(b: str, group: str, topic: str, offset: int) -> None:
    c = Consumer({"bootstrap.servers": b, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        c.close()


def test_group_lag_reset_and_delete(broker):
    b, topic, group = broker.bootstrap, unique("cli-group"), unique("cli-g")
    create_topic(b, topic)
    produce_ok(producer(b), topic, [{"value": b"r%d" % i} for i in range(10)])
    _commit(b, group, topic, 4)

    described = ok_json("group", "describe", group, "-b", b)
    assert (described["state"], described["type"]) == ("Empty", "classic")
    assert described["lag"] == 6
    [row] = described["partitions"]
    assert (row["topic"], row["partition"], row["current_offset"], row["log_end_offset"], row["lag"]) == \
        (topic, 0, 4, 10, 6)
    table = ok("group", "describe", group, "-b", b)
    assert "total lag 6" in table and "CURRENT-OFFSET" in table
    assert group in {g["group"] for g in ok_json("group", "list", "-b", b)}

    dry = ok_json("group", "reset-offsets", group, "-b", b, "--to-offset", "7", "--dry-run")
    assert dry["offsets"] == [{"topic": topic, "partition": 0, "offset": 7}]
    assert ok_json("group", "describe", group, "-b", b)["lag"] == 6

    ok("group", "reset-offsets", group, "-b", b, "--topic", topic, "--to-offset", "7")
    c = Consumer({"bootstrap.servers": b, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    try:
        c.subscribe([topic])
        first = consume(c, 1, timeout=30)[0]
        assert (first.offset(), first.value()) == (7, b"r7")
        # A group with a member cannot be reset.
        busy = run_cli("group", "reset-offsets", group, "-b", b, "--to-earliest")
        assert busy.returncode == 1 and b"inactive" in busy.stderr
    finally:
        c.close()

    assert ok_json("group", "reset-offsets", group, "-b", b, "--to-earliest")["offsets"][0]["offset"] == 0
    assert ok_json("group", "describe", group, "-b", b)["lag"] == 10
    assert ok_json("group", "reset-offsets", group, "-b", b, "--to-latest")["offsets"][0]["offset"] == 10
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    assert ok_json("group", "reset-offsets", group, "-b", b, "--to-datetime", future)["offsets"][0]["offset"] == 10
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    assert ok_json("group", "reset-offsets", group, "-b", b, "--to-datetime", past)["offsets"][0]["offset"] == 0

    ok("group", "delete", group, "-b", b)
    assert group not in {g["group"] for g in ok_json("group", "list", "-b", b)}
    missing = run_cli("group", "delete", group, "-b", b)
    assert missing.returncode == 1 and b"GROUP_ID_NOT_FOUND" in missing.stderr


def test_group_describe_of_a_kip848_consumer_group(broker):
    """A `group.protocol=consumer` group (ListGroups v5 names its type) is described through
    ConsumerGroupDescribe: members, assignments, the group's and each member's epoch, and lag."""
    b, topic, group = broker.bootstrap, unique("cli-848"), unique("cli-g848")
    create_topic(b, topic, partitions=2)
    produce_ok(producer(b), topic, [{"value": b"r%d" % i, "partition": 0} for i in range(10)]
               + [{"value": b"s%d" % i, "partition": 1} for i in range(4)])
    c = Consumer({"bootstrap.servers": b, "group.id": group, "group.protocol": "consumer",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest", "client.id": "cli-848-member"})
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + 30
        while len(c.assignment()) < 2:
            assert time.monotonic() < deadline, f"no assignment within 30 s: {c.assignment()}"
            c.poll(0.2)
        c.commit(offsets=[TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 1)], asynchronous=False)

        assert {"group": group, "state": "Stable", "type": "consumer", "protocol_type": "consumer"}.items() <= \
            {g["group"]: g for g in ok_json("group", "list", "-b", b)}[group].items()
        d = ok_json("group", "describe", group, "-b", b)
        assert (d["type"], d["state"], d["lag"]) == ("consumer", "Stable", 10), d
        assert d["group_epoch"] >= 1 and d["assignment_epoch"] == d["group_epoch"] and d["assignor"], d
        [m] = d["members"]
        both = [{"topic": topic, "partition": 0}, {"topic": topic, "partition": 1}]
        assert m["client_id"] == "cli-848-member" and m["member_epoch"] == d["group_epoch"], m
        assert sorted(m["assignment"], key=lambda x: x["partition"]) == both
        assert sorted(m["target_assignment"], key=lambda x: x["partition"]) == both
        rows = {r["partition"]: r for r in d["partitions"]}
        assert [(rows[p]["current_offset"], rows[p]["log_end_offset"], rows[p]["lag"]) for p in (0, 1)] == \
            [(3, 10, 7), (1, 4, 3)]
        assert all(rows[p]["consumer_id"] == m["member_id"] and rows[p]["member_epoch"] == m["member_epoch"]
                   for p in (0, 1))
        table = ok("group", "describe", group, "-b", b)
        assert "consumer protocol, group epoch" in table and "MEMBER-EPOCH" in table and "total lag 10" in table
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# schemas


USER_V1 = {"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"},
                                                          {"name": "age", "type": "int"}]}
USER_V2 = {"type": "record", "name": "User", "fields": USER_V1["fields"] + [
    {"name": "email", "type": ["null", "string"], "default": None}]}
USER_BAD = {"type": "record", "name": "User", "fields": [{"name": "name", "type": "int"}]}


def test_schema_commands_against_the_registry(broker, tmp_path):
    reg, subject = broker.schema_registry_url, unique("cli-subject")
    v1, v2, bad = tmp_path / "v1.avsc", tmp_path / "v2.avsc", tmp_path / "bad.avsc"
    v1.write_text(json.dumps(USER_V1))
    v2.write_text(json.dumps(USER_V2))
    bad.write_text(json.dumps(USER_BAD))
    r = ["--registry", reg]

    registered = ok_json("schema", "register", subject, "--schema-file", str(v1), *r)
    got = requests.get(f"{reg}/subjects/{subject}/versions/latest", timeout=10).json()
    assert got["id"] == registered["id"] and json.loads(got["schema"]) == USER_V1

    assert subject in ok_json("schema", "list", *r)
    assert ok_json("schema", "check", subject, "--schema-file", str(v2), *r)["is_compatible"] is True
    incompatible = run_cli("schema", "check", subject, "--schema-file", str(bad), *r)
    assert incompatible.returncode == 1 and b"not compatible" in incompatible.stderr

    second = requests.post(f"{reg}/subjects/{subject}/versions", json={"schema": json.dumps(USER_V2)},
                           timeout=10).json()["id"]
    latest = ok_json("schema", "get", subject, *r)
    assert latest["version"] == 2 and latest["id"] == second and json.loads(latest["schema"]) == USER_V2
    assert json.loads(ok_json("schema", "get", "--id", str(registered["id"]), *r)["schema"]) == USER_V1

    ok("schema", "delete", subject, "--version", "1", *r)
    versions = requests.get(f"{reg}/subjects/{subject}/versions", timeout=10).json()
    assert versions == [2]
    missing = run_cli("schema", "get", unique("cli-none"), *r)
    assert missing.returncode == 1 and b"HTTP 404 (error code 40401)" in missing.stderr


def test_avro_produce_and_consume_through_the_registry(broker):
    b, reg, topic = broker.bootstrap, broker.schema_registry_url, unique("cli-avro")
    create_topic(b, topic)
    sid = requests.post(f"{reg}/subjects/{topic}-value/versions", json={"schema": json.dumps(USER_V2)},
                        timeout=10).json()["id"]
    users = [{"name": "ann", "age": 30, "email": {"string": "ann@example.com"}},
             {"name": "bob", "age": 41, "email": None}]
    lines = "".join(json.dumps(u) + "\n" for u in users).encode()
    ok("produce", topic, "-b", b, "--value-format", "avro", "--registry", reg, stdin=lines)

    raw = consume_range(b, topic, 0, 0, 2)
    assert all(m.value()[0] == 0 and int.from_bytes(m.value()[1:5], "big") == sid for m in raw)
    assert raw[0].value()[5:9] == b"\x06ann"

    decoded = consume_lines(b, topic, "--value-format", "avro", "--registry", reg)
    assert [r["value"] for r in decoded] == users
    # Without the registry the wire format's bytes are shown as they are.
    assert consume_lines(b, topic, "--count", "1")[0]["value"].startswith("\x00")

    bad = run_cli("produce", topic, "-b", b, "--value-format", "avro", "--registry", reg, stdin=b'{"name": 1}\n')
    assert bad.returncode == 2 and b"does not match schema" in bad.stderr
    no_registry = run_cli("produce", topic, "-b", b, "--value-format", "avro", stdin=b"{}\n")
    assert no_registry.returncode == 2 and b"--registry" in no_registry.stderr


# ---------------------------------------------------------------------------------------------
# security: users, ACLs, SASL and TLS


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-sec")
    pki = Pki(d / "pki")
    b = SecureBroker({"SASL_PLAINTEXT": "SASL_PLAINTEXT", "SASL_SSL": "SASL_SSL"}, pki=pki,
                     workdir=d / "broker", name="strata-cli-sec",
                     overrides={"authorizer.class.name": AUTHORIZER})
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


def as_admin(b: SecureBroker, mech: str = "SCRAM-SHA-512") -> List[str]:
    return ["-b", b.addr("SASL_PLAINTEXT"), "--sasl-mechanism", mech, "--user", ADMIN_USER,
            "--password", ADMIN_PASSWORD]


def test_users_and_acls_with_sasl_and_an_authorizer(secured, tmp_path):
    b = secured
    user, password, topic = unique("cli-user"), "pw-" + unique("x"), unique("cli-acl-topic")
    ok("topic", "create", topic, *as_admin(b))

    ok("user", "set", user, "--new-password", password, "--mechanism", "SCRAM-SHA-256", *as_admin(b, "PLAIN"))
    users = {u["user"]: u["credentials"] for u in ok_json("user", "list", *as_admin(b))}
    assert users[user] == [{"mechanism": "SCRAM-SHA-256", "iterations": 8192}]

    # The new user logs in with the CLI; without an ACL the topic is hidden from it.
    props = tmp_path / "client.properties"
    props.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n"
                     "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                     f"username=\"{user}\" password=\"{password}\";\n")
    mine = ["-b", b.addr("SASL_PLAINTEXT"), "--command-config", str(props)]
    assert topic not in {t["name"] for t in ok_json("topic", "list", *mine)}

    created = ok_json("acl", "create", "--resource-type", "topic", "--resource-name", topic,
                      "--principal", f"User:{user}", "--operation", "describe", *as_admin(b))
    assert created["created"][0]["operation"] == "DESCRIBE"
    listed = ok_json("acl", "list", "--principal", f"User:{user}", *as_admin(b))
    assert listed == [{"resource_type": "TOPIC", "resource_name": topic, "pattern_type": "LITERAL",
                       "principal": f"User:{user}", "host": "*", "operation": "DESCRIBE", "permission": "ALLOW"}]
    assert topic in {t["name"] for t in ok_json("topic", "list", *mine)}
    # Confluent's client sees the same ACL.
    from confluent_kafka.admin import AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType
    from confluent_kafka.admin import ResourceType as RT
    a = admin(b.addr("SASL_PLAINTEXT"), **ck_conf(b, "SASL_PLAINTEXT", Login("SCRAM-SHA-512", ADMIN_USER,
                                                                              ADMIN_PASSWORD)))
    f = AclBindingFilter(RT.ANY, None, ResourcePatternType.ANY, f"User:{user}", None, AclOperation.ANY,
                         AclPermissionType.ANY)
    assert [x.name for x in a.describe_acls(f, request_timeout=10).result(timeout=15)] == [topic]

    # Without ACL rights the user cannot create ACLs: the Kafka error is named.
    denied = run_cli("acl", "create", "--resource-type", "topic", "--resource-name", topic,
                     "--principal", f"User:{user}", "--operation", "write", *mine)
    assert denied.returncode == 1 and b"CLUSTER_AUTHORIZATION_FAILED" in denied.stderr

    deleted = ok_json("acl", "delete", "--principal", f"User:{user}", *as_admin(b))
    assert len(deleted["deleted"]) == 1
    assert ok_json("acl", "list", "--principal", f"User:{user}", *as_admin(b)) == []

    ok("user", "delete", user, "--mechanism", "SCRAM-SHA-256", *as_admin(b))
    assert user not in {u["user"] for u in ok_json("user", "list", *as_admin(b))}
    refused = run_cli("topic", "list", *mine)
    assert refused.returncode == 1 and b"SASL_AUTHENTICATION_FAILED (error code 58)" in refused.stderr


def test_wrong_password_and_missing_login(secured):
    b = secured
    wrong = run_cli("topic", "list", "-b", b.addr("SASL_PLAINTEXT"), "--sasl-mechanism", "SCRAM-SHA-256",
                    "--user", ADMIN_USER, "--password", "wrong")
    assert wrong.returncode == 1
    assert b"SASL_AUTHENTICATION_FAILED (error code 58)" in wrong.stderr
    plain = run_cli("topic", "list", "-b", b.addr("SASL_PLAINTEXT"), "--user", ADMIN_USER, "--password", "nope")
    assert plain.returncode == 1 and b"SASL_AUTHENTICATION_FAILED" in plain.stderr
    no_password = run_cli("topic", "list", "-b", b.addr("SASL_PLAINTEXT"), "--security-protocol",
                          "SASL_PLAINTEXT")
    assert no_password.returncode == 2 and b"--user and --password" in no_password.stderr
    unknown_prop = run_cli("topic", "list", "--command-config", "/dev/null", "--sasl-mechanism", "GSSAPI",
                           "--user", "a", "--password", "b")
    assert unknown_prop.returncode == 2


def test_sasl_ssl_with_a_ca_file_and_cluster_info(secured):
    b = secured
    args = ["-b", b.addr("SASL_SSL"), "--ca-file", str(b.pki.ca.path), "--sasl-mechanism", "SCRAM-SHA-256",
            "--user", ADMIN_USER, "--password", ADMIN_PASSWORD]
    info = ok_json("cluster", "info", *args)
    md = admin(b.bootstrap).list_topics(timeout=10)
    assert info["cluster_id"] == md.cluster_id
    assert [x["id"] for x in info["brokers"]] == sorted(md.brokers)
    assert info["controller_id"] in md.brokers
    assert "transaction.version" in info["features"]["supported"]
    # A CA that did not sign the broker's certificate is refused.
    other = Pki(b.workdir / "other-pki")
    bad = run_cli("cluster", "info", "-b", b.addr("SASL_SSL"), "--ca-file", str(other.ca.path),
                  "--sasl-mechanism", "PLAIN", "--user", ADMIN_USER, "--password", ADMIN_PASSWORD)
    assert bad.returncode == 1 and b"TLS handshake" in bad.stderr


def test_cluster_info_table(broker):
    out = ok("cluster", "info", "-b", broker.bootstrap)
    assert out.startswith("Cluster ") and "HOST" in out and "FEATURE" in out
