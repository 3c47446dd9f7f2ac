"""SASL logins with real clients: PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER over SASL_PLAINTEXT and
SASL_SSL with confluent-kafka (librdkafka 2.16), kafka-python, aiokafka and kcat (librdkafka 2.0.2).

One broker for the module: PLAINTEXT (the harness's), SASL_PLAINTEXT and SASL_SSL listeners,
the first admin user from --admin-user, a JWKS file for OAUTHBEARER, no authorizer. Users are
created through AlterUserScramCredentials; refused logins (wrong password, unknown user, expired
token, wrong audience, a token signed by a key the JWKS lacks) end in an authentication error
while another client keeps producing. KIP-368 re-authentication runs on its own broker with a
short `connections.max.reauth.ms`.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from kafkautil import consume, create_topic, produce_ok, unique
from secutil import (ADMIN_PASSWORD, ADMIN_USER, Jwks, Login, Pki, RawSasl, SecureBroker, aiokafka_conf, ck_conf,
                     kcat_args, kp_conf, scram_login, upsert_scram_users, wait_for)

pytestmark = pytest.mark.timeout(60)

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
MECHS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
USER, PASSWORD = "sasl-user", "sasl-user-secret"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("sec-sasl")
    pki, jwks = Pki(d / "pki"), Jwks(d / "jwks")
    b = SecureBroker({"SASL_PLAINTEXT": "SASL_PLAINTEXT", "SASL_SSL": "SASL_SSL"}, pki=pki,
                     overrides=jwks.overrides(), workdir=d / "broker", name="strata-sec-sasl")
    try:
        b.start()
        a = AdminClient(ck_conf(b, "SASL_PLAINTEXT", Login("SCRAM-SHA-512", ADMIN_USER, ADMIN_PASSWORD)))
        upsert_scram_users(a, {USER: PASSWORD})
        b.jwks = jwks
        b.admin_client = a
        yield b
    finally:
        b.cleanup()


def login(mech: str, user: str = USER, password: str = PASSWORD) -> Login:
    return Login(mech, user, password)


def roundtrip_ck(b, listener: str, who: Login, n: int = 20) -> None:
    """Create a topic over the listener, produce n records and read them back, all as `who`."""
    topic = unique(f"sasl-{listener.lower()}-{(who.mechanism or 'none').lower()}")
    create_topic(b.bootstrap, topic)  # over PLAINTEXT: no authorizer in this module
    p = Producer(ck_conf(b, listener, who, **{"linger.ms": 5, "message.timeout.ms": 20000}))
    produce_ok(p, topic, [{"key": b"k%d" % i, "value": b"v-%s-%d" % (topic.encode(), i)} for i in range(n)])
    conf = ck_conf(b, listener, who, **{"group.id": unique("g"), "auto.offset.reset": "earliest",
                                         "enable.auto.commit": False})
    c = Consumer(conf)
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        got = consume(c, n, timeout=20)
    finally:
        c.close()
    assert [m.value() for m in got] == [b"v-%s-%d" % (topic.encode(), i) for i in range(n)]


@pytest.mark.parametrize("mech", MECHS)
def test_confluent_kafka_sasl_plaintext(env, mech):
    roundtrip_ck(env, "SASL_PLAINTEXT", login(mech))


@pytest.mark.parametrize("mech", MECHS)
def test_confluent_kafka_sasl_ssl(env, mech):
    roundtrip_ck(env, "SASL_SSL", login(mech))


def test_first_admin_user_logs_in_with_both_scram_mechanisms_and_plain(env):
    for mech in MECHS:
        md = AdminClient(ck_conf(env, "SASL_SSL", Login(mech, ADMIN_USER, ADMIN_PASSWORD))).list_topics(timeout=10)
        assert md.brokers, mech


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mech", MECHS)
def test_kafka_python_sasl(env, listener, mech):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    topic = unique("kp-sasl")
    create_topic(env.bootstrap, topic)
    conf = kp_conf(env, listener, login(mech))
    p = KafkaProducer(**conf, acks="all", request_timeout_ms=15000)
    try:
        futs = [p.send(topic, key=b"k%d" % i, value=b"kp-%d" % i, partition=0) for i in range(10)]
        p.flush(timeout=20)
        assert [f.get(timeout=10).offset for f in futs] == list(range(10))
    finally:
        p.close(timeout=5)
    c = KafkaConsumer(**conf, enable_auto_commit=False, consumer_timeout_ms=10000)
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek(tp, 0)
        got = []
        for m in c:
            got.append(m.value)
            if len(got) == 10:
                break
    finally:
        c.close()
    assert got == [b"kp-%d" % i for i in range(10)]


@pytest.mark.parametrize("listener,mech", [("SASL_PLAINTEXT", "PLAIN"), ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
                                           ("SASL_SSL", "SCRAM-SHA-512")])
def test_aiokafka_sasl(env, listener, mech):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    topic = unique("aio-sasl")
    create_topic(env.bootstrap, topic)
    conf = aiokafka_conf(env, listener, login(mech))

    async def run():
        p = AIOKafkaProducer(**conf, acks="all")
        await p.start()
        try:
            offsets = [(await p.send_and_wait(topic, b"aio-%d" % i, partition=0)).offset for i in range(10)]
        finally:
            await p.stop()
        assert offsets == list(range(10))
        c = AIOKafkaConsumer(**conf, enable_auto_commit=False, auto_offset_reset="earliest")
        await c.start()
        try:
            tp = TopicPartition(topic, 0)
            c.assign([tp])
            c.seek(tp, 0)
            got = []
            while len(got) < 10:
                batch = await asyncio.wait_for(c.getmany(timeout_ms=1000), 15)
                for msgs in batch.values():
                    got += [m.value for m in msgs]
            return got
        finally:
            await c.stop()

    assert asyncio.run(run()) == [b"aio-%d" % i for i in range(10)]


@pytest.mark.skipif(KCAT is None, reason="kcat not installed (apt-get install kcat)")
@pytest.mark.parametrize("listener,mech", [("SASL_PLAINTEXT", "PLAIN"), ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
                                           ("SASL_SSL", "SCRAM-SHA-512")])
def test_kcat_sasl(env, listener, mech):
    topic = unique("kcat-sasl")
    create_topic(env.bootstrap, topic)
    args = kcat_args(env, listener, login(mech))
    lines = [f"k{i}|kcat {mech} {i}" for i in range(10)]
    p = subprocess.run([KCAT, *args, "-P", "-t", topic, "-p", "0", "-K", "|"],
                       input=("\n".join(lines) + "\n").encode(), capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    p = subprocess.run([KCAT, *args, "-C", "-t", topic, "-e", "-o", "beginning", "-q", "-f", "%k|%s\n"],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    assert p.stdout.decode().splitlines() == lines


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_oauthbearer_confluent_kafka(env, listener):
    calls = []

    def source():
        calls.append(time.time())
        return env.jwks.token("oauth-alice")

    roundtrip_ck(env, listener, Login("OAUTHBEARER", token=source))
    assert calls, "the token callback was never called"


def test_oauthbearer_kafka_python(env):
    from kafka import KafkaProducer
    from kafka.net.sasl.oauth import AbstractTokenProvider

    class Provider(AbstractTokenProvider):
        def token(self):
            return env.jwks.token("oauth-kp")[0]

    topic = unique("kp-oauth")
    create_topic(env.bootstrap, topic)
    p = KafkaProducer(**kp_conf(env, "SASL_SSL", Login("OAUTHBEARER")), sasl_oauth_token_provider=Provider(),
                      acks="all", request_timeout_ms=15000)
    try:
        f = p.send(topic, b"token-login", partition=0)
        p.flush(timeout=20)
        assert f.get(timeout=10).offset == 0
    finally:
        p.close(timeout=5)


def test_user_created_through_admin_client_logs_in(env):
    from confluent_kafka.admin import ScramMechanism

    name, pw = unique("newuser"), "fresh-password-1"
    upsert_scram_users(env.admin_client, {name: pw}, mechanisms=("SCRAM-SHA-512",), iterations=8192)
    desc = env.admin_client.describe_user_scram_credentials([name])[name].result(timeout=10)
    assert [(i.mechanism, i.iterations) for i in desc.scram_credential_infos] == [
        (ScramMechanism.SCRAM_SHA_512, 8192)]
    roundtrip_ck(env, "SASL_PLAINTEXT", Login("SCRAM-SHA-512", name, pw), n=3)
    # the credential exists only for SHA-512
    errors = auth_errors(ck_conf(env, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", name, pw)))
    assert errors, "SCRAM-SHA-256 login succeeded without a SHA-256 credential"


def auth_errors(conf: dict, wait: float = 10.0) -> list:
    """Start a producer with `conf` and return the authentication errors it reports."""
    errors = []
    conf = dict(conf)
    conf["error_cb"] = lambda e: errors.append(e)
    p = Producer(conf)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        p.poll(0.1)
    return [e for e in errors if e.code() == KafkaError._AUTHENTICATION]


class Background:
    """A producer on a good login that keeps producing while the test does other things."""

    def __init__(self, b, topic):
        self.p = Producer(ck_conf(b, "SASL_PLAINTEXT", login("SCRAM-SHA-256"),
                                  **{"linger.ms": 1, "message.timeout.ms": 15000}))
        self.topic, self.ok, self.failed = topic, 0, []
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def cb(self, err, msg):
        if err is None:
            self.ok += 1
        else:
            self.failed.append(err)

    def run(self):
        i = 0
        while not self.stop.is_set():
            self.p.produce(self.topic, b"bg-%d" % i, partition=0, on_delivery=self.cb)
            i += 1
            self.p.poll(0.02)
        self.p.flush(20)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join(30)


@pytest.mark.timeout(90)
def test_refused_logins_while_another_client_is_served(env):
    topic = unique("bg")
    create_topic(env.bootstrap, topic)
    bad = {
        "wrong password PLAIN": Login("PLAIN", USER, "not-the-password"),
        "wrong password SCRAM-SHA-256": Login("SCRAM-SHA-256", USER, "not-the-password"),
        "wrong password SCRAM-SHA-512": Login("SCRAM-SHA-512", USER, "not-the-password"),
        "unknown user SCRAM": Login("SCRAM-SHA-256", "nobody-here", PASSWORD),
        "unknown user PLAIN": Login("PLAIN", "nobody-here", PASSWORD),
        "expired token": Login("OAUTHBEARER", token=lambda: (env.jwks.token("t", exp=time.time() - 600)[0],
                                                             time.time() + 60)),
        "wrong audience": Login("OAUTHBEARER", token=lambda: env.jwks.token("t", aud="someone-else")),
        "wrong issuer": Login("OAUTHBEARER", token=lambda: env.jwks.token("t", iss="https://evil.test")),
        "unknown signing key": Login("OAUTHBEARER", token=lambda: env.jwks.token("t", wrong_key=True)),
    }
    with Background(env, topic) as bg:
        results = {}
        for what, who in bad.items():
            results[what] = auth_errors(ck_conf(env, "SASL_PLAINTEXT", who))
        before = bg.ok
        wait_for(lambda: bg.ok > before + 10, 10, what="background producer progress")
    assert {w: bool(e) for w, e in results.items()} == {w: True for w in bad}, results
    assert not bg.failed, bg.failed[:5]
    assert bg.ok > 20
    # the broker's message reaches the client (SASL_AUTHENTICATION_FAILED's error_message)
    msg = results["wrong password SCRAM-SHA-256"][0].str()
    assert "uthentication" in msg, msg


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_wrong_scram_proof_never_counts_as_a_login(env, mech):
    """A correct first round then a tampered proof: SASL_AUTHENTICATION_FAILED (58) and the
    connection closed, so no request after it is ever served. The same exchange with the
    right proof succeeds (the server's signature checked)."""
    c = RawSasl(env.addr("SASL_PLAINTEXT"))
    try:
        err, msg = scram_login(c, mech, USER, PASSWORD, tamper_proof=True)
        assert err == 58, (err, msg)
        with pytest.raises((ConnectionError, OSError)):
            c.request(3, 1, b"\xff\xff\xff\xff")  # Metadata v1, all topics
    finally:
        c.close()
    c = RawSasl(env.addr("SASL_PLAINTEXT"))
    try:
        assert scram_login(c, mech, USER, PASSWORD) == (0, None)
    finally:
        c.close()


def test_kafka_python_wrong_password_is_refused(env):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError as KpError

    with pytest.raises(KpError) as e:
        KafkaProducer(**kp_conf(env, "SASL_PLAINTEXT", login("SCRAM-SHA-512", password="wrong")),
                      request_timeout_ms=5000, max_block_ms=5000)
    # kafka-python 3 reports a refused login as a failed bootstrap (it retries
    # until max_block_ms): either way no producer comes into being.
    assert ("uthentication" in str(e.value) or "NoBrokersAvailable" in type(e.value).__name__
            or "Unable to bootstrap" in str(e.value)), repr(e.value)


@pytest.mark.timeout(90)
def test_kip368_reauthentication_keeps_the_session(tmp_path):
    """connections.max.reauth.ms=2000: librdkafka 2.16 re-authenticates (KIP-368) and a producer
    keeps delivering over 7 s without an error, on SCRAM and on OAUTHBEARER with short tokens."""
    jwks = Jwks(tmp_path / "jwks")
    overrides = dict(jwks.overrides())
    overrides["connections.max.reauth.ms"] = 2000
    b = SecureBroker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, overrides=overrides, workdir=tmp_path / "b",
                     name="strata-sec-reauth")
    try:
        b.start()
        upsert_scram_users(AdminClient(ck_conf(b, "SASL_PLAINTEXT", Login("PLAIN", ADMIN_USER, ADMIN_PASSWORD))),
                           {USER: PASSWORD})
        topic = unique("reauth")
        create_topic(b.bootstrap, topic)
        tokens = []

        def short_token():
            tok = jwks.token("reauth-user", lifetime_s=4)
            tokens.append(tok)
            return tok

        for who in (login("SCRAM-SHA-256"), Login("OAUTHBEARER", token=short_token)):
            lines = []
            log = logging.getLogger(f"rdkafka-{who.mechanism}")
            log.setLevel(logging.DEBUG)
            handler = _ListHandler(lines)
            log.addHandler(handler)
            errors = []
            p = Producer(ck_conf(b, "SASL_PLAINTEXT", who, **{
                "linger.ms": 1, "message.timeout.ms": 10000, "debug": "security,broker",
                "logger": log, "error_cb": lambda e: errors.append(e)}))
            delivered, failed = [], []
            deadline = time.monotonic() + 7
            i = 0
            while time.monotonic() < deadline:
                p.produce(topic, b"r%d" % i, partition=0,
                          on_delivery=lambda e, m: (failed if e else delivered).append(e or m.offset()))
                i += 1
                p.poll(0.05)
            assert p.flush(15) == 0
            log.removeHandler(handler)
            assert not failed, failed[:5]
            assert len(delivered) == i
            assert not [e for e in errors if e.code() == KafkaError._AUTHENTICATION], errors
            reauth = [ln for ln in lines if "reauth" in ln.lower()]
            assert reauth, f"{who.mechanism}: librdkafka never re-authenticated; last lines: {lines[-10:]}"
        assert len(tokens) >= 2, "OAUTHBEARER: the token was never refreshed"
    finally:
        b.cleanup()


class _ListHandler(logging.Handler):
    def __init__(self, lines):
        super().__init__()
        self.lines = lines

    def emit(self, record):
        self.lines.append(record.getMessage())
