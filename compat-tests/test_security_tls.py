"""TLS listeners with real clients: confluent-kafka, kafka-python, aiokafka and kcat over SSL; mTLS
where the certificate's principal is what the ACLs see; a wrong CA, a missing or foreign client
certificate and a plaintext client on the TLS port are refused while TLS clients are served;
renewed certificate files are picked up by new connections without a restart.

The module's broker: PLAINTEXT (the harness's), SSL (`ssl.client.auth` none) and MTLS (an SSL
listener named in `listener.security.protocol.map`, `listener.name.mtls.ssl.client.auth=required`);
the authorizer on with `allow.everyone.if.no.acl.found=true` (topics without ACLs stay open),
`super.users=User:admin`, and `ssl.principal.mapping.rules` mapping `CN=x,OU=eng` to `x`
(so the certificate CN=admin,OU=eng is the super user) with DEFAULT for the rest.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import struct
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from cryptography import x509

from kafkautil import consume, create_topic, produce_ok, unique
from secutil import (Login, Pki, SecureBroker, acl, aiokafka_conf, ck_conf, create_acls, delivery_errors,
                     kcat_args, kp_conf, wait_for)

pytestmark = pytest.mark.timeout(60)

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
MAPPING = "RULE:^CN=([^,]+),OU=eng$/$1/,DEFAULT"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("sec-tls")
    pki = Pki(d / "pki")
    b = SecureBroker({"SSL": "SSL", "MTLS": "SSL"}, pki=pki, workdir=d / "broker", name="strata-sec-tls",
                     overrides={
                         "listener.name.mtls.ssl.client.auth": "required",
                         "ssl.principal.mapping.rules": MAPPING,
                         "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                         "allow.everyone.if.no.acl.found": "true",
                         "super.users": "User:admin",
                     })
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


def roundtrip_ck(b, listener, who=None, n=10):
    topic = unique(f"tls-{listener.lower()}")
    create_topic(b.bootstrap, topic)
    produce_ok(Producer(ck_conf(b, listener, who, **{"linger.ms": 5, "message.timeout.ms": 20000})), topic,
               [{"value": b"tls-%d" % i} for i in range(n)])
    c = Consumer(ck_conf(b, listener, who, **{"group.id": unique("g"), "enable.auto.commit": False}))
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        assert [m.value() for m in consume(c, n, timeout=20)] == [b"tls-%d" % i for i in range(n)]
    finally:
        c.close()


def test_confluent_kafka_ssl(env):
    roundtrip_ck(env, "SSL")


def test_confluent_kafka_mtls(env):
    roundtrip_ck(env, "MTLS", Login(cert=env.pki.client("tls-user", ou="ops")))


def test_kafka_python_ssl(env):
    from kafka import KafkaConsumer, KafkaProducer

    topic = unique("kp-tls")
    create_topic(env.bootstrap, topic)
    for listener, who in (("SSL", None), ("MTLS", Login(cert=env.pki.client("kp-user", ou="ops")))):
        conf = kp_conf(env, listener, who)
        p = KafkaProducer(**conf, acks="all", request_timeout_ms=15000)
        try:
            f = p.send(topic, b"kp-" + listener.encode(), partition=0)
            p.flush(timeout=20)
            f.get(timeout=10)
        finally:
            p.close(timeout=5)
    c = KafkaConsumer(topic, **kp_conf(env, "SSL"), auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=10000)
    try:
        got = []
        for m in c:
            got.append(m.value)
            if len(got) == 2:
                break
    finally:
        c.close()
    assert got == [b"kp-SSL", b"kp-MTLS"]


def test_aiokafka_ssl(env):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = unique("aio-tls")
    create_topic(env.bootstrap, topic)
    conf = aiokafka_conf(env, "MTLS", Login(cert=env.pki.client("aio-user", ou="ops")))

    async def run():
        p = AIOKafkaProducer(**conf, acks="all")
        await p.start()
        try:
            md = await p.send_and_wait(topic, b"aio-over-mtls", partition=0)
        finally:
            await p.stop()
        c = AIOKafkaConsumer(topic, **aiokafka_conf(env, "SSL"), auto_offset_reset="earliest",
                             enable_auto_commit=False)
        await c.start()
        try:
            m = await asyncio.wait_for(c.getone(), 20)
        finally:
            await c.stop()
        return md.offset, m.value

    assert asyncio.run(run()) == (0, b"aio-over-mtls")


@pytest.mark.skipif(KCAT is None, reason="kcat not installed (apt-get install kcat)")
@pytest.mark.parametrize("listener", ["SSL", "MTLS"])
def test_kcat_ssl(env, listener):
    topic = unique("kcat-tls")
    create_topic(env.bootstrap, topic)
    who = Login(cert=env.pki.client("kcat-user", ou="ops")) if listener == "MTLS" else None
    args = kcat_args(env, listener, who)
    lines = [f"kcat over {listener} {i}" for i in range(5)]
    p = subprocess.run([KCAT, *args, "-P", "-t", topic, "-p", "0"], input=("\n".join(lines) + "\n").encode(),
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    p = subprocess.run([KCAT, *args, "-C", "-t", topic, "-e", "-o", "beginning", "-q"], capture_output=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    assert p.stdout.decode().splitlines() == lines


def test_mtls_principal_is_what_acls_see(env):
    """CN=alice,OU=eng maps to User:alice (RULE), CN=carol,OU=ops stays User:CN=carol,OU=ops (DEFAULT)."""
    admin = AdminClient(ck_conf(env, "MTLS", Login(cert=env.pki.client("admin"))))  # User:admin, super user
    open_t, closed_t = unique("alice-ok"), unique("bob-only")
    for t in (open_t, closed_t):
        admin.create_topics([NewTopic(t, 1, 1)])[t].result(timeout=15)
    create_acls(admin, [
        acl("TOPIC", open_t, "User:alice", "WRITE"),
        acl("TOPIC", open_t, "User:CN=carol,OU=ops", "WRITE"),
        acl("TOPIC", closed_t, "User:bob", "WRITE"),
    ])
    alice = ck_conf(env, "MTLS", Login(cert=env.pki.client("alice")))
    carol = ck_conf(env, "MTLS", Login(cert=env.pki.client("carol", ou="ops")))
    dave = ck_conf(env, "MTLS", Login(cert=env.pki.client("dave")))  # User:dave, no ACL
    anonymous = ck_conf(env, "SSL")  # TLS without a certificate: User:ANONYMOUS

    def codes(conf, topic):
        return [e.code() if e else None for e in delivery_errors(conf, topic, n=2)]

    denied = [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 2
    got = {
        "alice open": codes(alice, open_t),
        "carol open": codes(carol, open_t),
        "dave open": codes(dave, open_t),
        "anonymous open": codes(anonymous, open_t),
        "alice closed": codes(alice, closed_t),
    }
    assert got == {
        "alice open": [None, None],
        "carol open": [None, None],
        "dave open": denied,
        "anonymous open": denied,
        "alice closed": denied,
    }


def handshake(port: int, cafile, cert=None) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(cafile))
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert_path), str(cert.key_path))
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    except Exception:
        s.close()
        raise
    return t


def api_versions_over(t: socket.socket) -> int:
    """Send ApiVersions v0 and return the error code of the answer (raises if the peer closes)."""
    body = struct.pack(">hhih", 18, 0, 7, 4) + b"test"
    t.sendall(struct.pack(">i", len(body)) + body)
    hdr = _recv_exact(t, 4)
    (n,) = struct.unpack(">i", hdr)
    data = _recv_exact(t, n)
    corr, err = struct.unpack(">ih", data[:6])
    assert corr == 7
    return err


def _recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed by the peer")
        out += chunk
    return out


def test_wrong_ca_on_the_client_fails_the_handshake(env):
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(env.ports["SSL"], env.pki.wrong_ca.path)
    errors = []
    p = Producer(ck_conf(env, "SSL", Login(ca=env.pki.wrong_ca.path), error_cb=errors.append))
    wait_for(lambda: (p.poll(0.1), errors)[1], 10, what="an SSL error")
    assert any(e.code() in (KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN) for e in errors)
    assert any("certificate verify failed" in e.str() or "SSL" in e.str() for e in errors), errors
    # the right CA still works
    with handshake(env.ports["SSL"], env.pki.ca.path) as t:
        assert api_versions_over(t) == 0


def test_mtls_refuses_missing_or_foreign_client_certificate(env):
    for cert in (None, env.pki.client("mallory", ca=env.pki.wrong_ca)):
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            t = handshake(env.ports["MTLS"], env.pki.ca.path, cert)
            # TLS 1.3: the server's verdict on the client certificate arrives after the handshake
            api_versions_over(t)
    with handshake(env.ports["MTLS"], env.pki.ca.path, env.pki.client("alice")) as t:
        assert api_versions_over(t) == 0


def test_plaintext_client_on_the_tls_port_is_closed(env):
    s = socket.create_connection(("127.0.0.1", env.ports["SSL"]), timeout=5)
    try:
        closed = False
        try:
            api_versions_over(s)
        except (ConnectionError, OSError):
            closed = True
        except (AssertionError, struct.error):
            closed = True  # a TLS alert is no Kafka answer
        assert closed
    finally:
        s.close()
    outcome = []
    p = Producer({"bootstrap.servers": env.addr("SSL"), "security.protocol": "PLAINTEXT",
                  "error_cb": lambda e: None, "message.timeout.ms": 3000})
    p.produce(unique("never"), b"x", on_delivery=lambda e, m: outcome.append(e))
    assert p.flush(10) == 0
    assert outcome and outcome[0] is not None and outcome[0].code() == KafkaError._MSG_TIMED_OUT, outcome
    # a TLS client is still served
    roundtrip_ck(env, "SSL", n=3)


@pytest.mark.timeout(60)
def test_renewed_certificate_files_are_used_by_new_connections(tmp_path):
    pki = Pki(tmp_path / "pki")
    b = SecureBroker({"SSL": "SSL"}, pki=pki, admin=False, workdir=tmp_path / "b", name="strata-sec-reload")
    try:
        b.start()

        def served_serial():
            with handshake(b.ports["SSL"], pki.ca.path) as t:
                return x509.load_der_x509_certificate(t.getpeercert(binary_form=True)).serial_number

        first = served_serial()
        assert first == pki.server.serial
        renewed = pki.server_cert("server-renewed")
        time.sleep(1.1)  # a distinct mtime even on 1 s-granular file systems
        shutil.copyfile(renewed.bundle_path, pki.server.bundle_path)
        wait_for(lambda: served_serial() == renewed.serial, 20, interval=0.5, what="the renewed certificate")
        roundtrip_ck(b, "SSL", n=3)
    finally:
        b.cleanup()
