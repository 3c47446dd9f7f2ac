"""Security plumbing for the test_security_*.py suites and perf/tls_produce.py, perf/scram_login.py.

Pki          a test CA, a server certificate (SAN 127.0.0.1 and localhost), client
             certificates (CN=alice,OU=eng ...), and a second CA nobody trusts; written as PEM
             files the way Strata reads them (`ssl.keystore.location` = key + chain in one file)
Jwks         an RSA key published as a JWKS file, and RS256 tokens with iss/aud/exp of choice
SecureBroker a harness Broker with several listeners (`listeners=NAME://127.0.0.1:PORT,...`),
             optional first admin user and HTTPS faces
client_conf  confluent-kafka / kafka-python / aiokafka / kcat settings for one listener

Nothing here is mocked: certificates are real X.509, tokens are signed, brokers are the
release binary.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from strata_harness import Broker, free_ports

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-secret"
SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
TLS_PROTOCOLS = ("SSL", "SASL_SSL")


# ---------------------------------------------------------------------------------------------
# certificates


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(**attrs: str) -> x509.Name:
    """An X.509 name in ASN.1 order (OU before CN), so that its RFC 2253 form
    (what Kafka's X500Principal.getName() prints, last RDN first) is `CN=...,OU=...`."""
    oids = {"O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "CN": NameOID.COMMON_NAME}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs.items()])


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Ca:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    path: Path  # the CA certificate as PEM (a truststore)

    @classmethod
    def create(cls, directory: Path, cn: str) -> "Ca":
        key = _key()
        now = dt.datetime.now(dt.timezone.utc)
        name = _name(O="Strata tests", CN=cn)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        path = directory / f"{cn}.pem"
        path.write_bytes(_pem_cert(cert))
        return cls(key, cert, path)

    def issue(self, subject: x509.Name, server: bool, sans: Sequence[str] = ()) -> tuple:
        """A leaf certificate for `subject`: (key, cert)."""
        import ipaddress

        key = _key()
        now = dt.datetime.now(dt.timezone.utc)
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.cert.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                   else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                            critical=False))
        if sans:
            names: List[x509.GeneralName] = []
            for s in sans:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(s)))
                except ValueError:
                    names.append(x509.DNSName(s))
            b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return key, b.sign(self.key, hashes.SHA256())


@dataclass
class Leaf:
    """One issued certificate: cert.pem, key.pem, and bundle.pem (key + chain, Strata's keystore)."""
    cert_path: Path
    key_path: Path
    bundle_path: Path
    serial: int


class Pki:
    """A test CA with a server certificate and client certificates under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = Ca.create(self.dir, "strata-test-ca")
        self.wrong_ca = Ca.create(self.dir, "wrong-ca")
        self.server = self.server_cert("server")
        self._clients: Dict[str, Leaf] = {}

    def _write(self, stem: str, ca: Ca, key, cert) -> Leaf:
        cert_path, key_path, bundle = (self.dir / f"{stem}.crt", self.dir / f"{stem}.key",
                                       self.dir / f"{stem}.pem")
        cert_path.write_bytes(_pem_cert(cert) + _pem_cert(ca.cert))
        key_path.write_bytes(_pem_key(key))
        bundle.write_bytes(_pem_key(key) + _pem_cert(cert) + _pem_cert(ca.cert))
        return Leaf(cert_path, key_path, bundle, cert.serial_number)

    def server_cert(self, stem: str, ca: Optional[Ca] = None) -> Leaf:
        ca = ca or self.ca
        key, cert = ca.issue(_name(O="Strata tests", CN="localhost"), server=True,
                             sans=["127.0.0.1", "localhost"])
        return self._write(stem, ca, key, cert)

    def client(self, cn: str, ou: str = "eng", ca: Optional[Ca] = None) -> Leaf:
        """A client certificate whose subject prints (RFC 2253) as `CN=<cn>,OU=<ou>`."""
        ca = ca or self.ca
        stem = f"client-{cn}-{ou}-{ca.path.stem}"
        if stem not in self._clients:
            key, cert = ca.issue(_name(OU=ou, CN=cn), server=False)
            self._clients[stem] = self._write(stem, ca, key, cert)
        return self._clients[stem]


# ---------------------------------------------------------------------------------------------
# JWKS and tokens


class Jwks:
    """An RSA signing key published as a JWKS file (`file://` URL), and RS256 tokens."""

    ISSUER = "https://issuer.strata.test"
    AUDIENCE = "strata"

    def __init__(self, directory: Path, kid: str = "test-key-1") -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.kid = kid
        self.key = _key()
        self.path = self.dir / "jwks.json"
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
        self.path.write_text(json.dumps({"keys": [jwk]}))
        self.other_key = _key()  # a key the JWKS does not hold

    @property
    def url(self) -> str:
        return self.path.resolve().as_uri()

    def overrides(self) -> Dict[str, str]:
        return {
            "sasl.oauthbearer.jwks.endpoint.url": self.url,
            "sasl.oauthbearer.expected.issuer": self.ISSUER,
            "sasl.oauthbearer.expected.audience": self.AUDIENCE,
        }

    def token(self, sub: str, lifetime_s: float = 300, iss: Optional[str] = None, aud: Optional[str] = None,
              wrong_key: bool = False, exp: Optional[float] = None) -> tuple:
        """(token, expiry in seconds since the epoch)."""
        now = time.time()
        expiry = exp if exp is not None else now + lifetime_s
        claims = {"sub": sub, "iss": iss or self.ISSUER, "aud": aud or self.AUDIENCE,
                  "iat": int(now) - 1, "exp": int(expiry), "jti": uuid.uuid4().hex}
        key = self.other_key if wrong_key else self.key
        tok = jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})
        return tok, float(int(expiry))


# ---------------------------------------------------------------------------------------------
# brokers with several listeners


class SecureBroker(Broker):
    """A Broker with `listeners` set: the harness's PLAINTEXT listener on `kafka_port` (the
    one its health check uses) plus one listener per entry of `listeners` ({NAME: PROTOCOL}),
    each on its own free port. NAMEs other than the protocol names go into
    `listener.security.protocol.map`.

    http_tls: serve the three HTTP faces over TLS with the Pki's server certificate.
    """

    def __init__(self, listeners: Dict[str, str], pki: Optional[Pki] = None, admin: bool = True,
                 overrides: Optional[Dict[str, object]] = None, http_tls: bool = False, **kwargs) -> None:
        extra = list(kwargs.pop("extra_args", []))
        if admin:
            extra += ["--admin-user", ADMIN_USER, "--admin-password", ADMIN_PASSWORD]
        super().__init__(overrides=overrides, extra_args=extra, **kwargs)
        self.pki = pki
        self.http_tls = http_tls
        self.protocols: Dict[str, str] = {"PLAINTEXT": "PLAINTEXT"}
        self.protocols.update(listeners)
        ports = free_ports(len(listeners))
        self.ports: Dict[str, int] = {"PLAINTEXT": self.kafka_port}
        self.ports.update(dict(zip(listeners, ports)))
        self.overrides["listeners"] = ",".join(f"{n}://127.0.0.1:{p}" for n, p in self.ports.items())
        custom = {n: proto for n, proto in self.protocols.items() if n != proto}
        if custom:
            self.overrides["listener.security.protocol.map"] = ",".join(
                f"{n}:{proto}" for n, proto in self.protocols.items())
        if pki is not None and any(p in TLS_PROTOCOLS for p in self.protocols.values()):
            self.overrides.setdefault("ssl.keystore.location", str(pki.server.bundle_path))
            self.overrides.setdefault("ssl.truststore.location", str(pki.ca.path))
        if http_tls:
            assert pki is not None
            self.overrides.setdefault("strata.http.ssl.keystore.location", str(pki.server.bundle_path))
            self.overrides.setdefault("strata.http.ssl.truststore.location", str(pki.ca.path))
        if overrides:
            self.overrides.update(overrides)

    def command(self) -> List[str]:
        # `--override` splits its value at commas (it shares STRATA_OVERRIDES' comma-separated
        # form), so values holding commas go through the TOML file's [broker] table instead.
        listed = {k: v for k, v in self.overrides.items() if isinstance(v, str) and "," in v}
        if listed:
            self.config_path = self.workdir / "strata-security.toml"
            self.config_path.write_text("[broker]\n" + "".join(f"{json.dumps(k)} = {json.dumps(v)}\n"
                                                               for k, v in listed.items()))
        saved = self.overrides
        self.overrides = {k: v for k, v in saved.items() if k not in listed}
        try:
            return super().command()
        finally:
            self.overrides = saved

    def addr(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    @property
    def _scheme(self) -> str:
        return "https" if self.http_tls else "http"

    @property
    def admin_url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.admin_port}"

    @property
    def schema_registry_url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.schema_registry_port}"

    @property
    def rest_proxy_url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.rest_proxy_port}"

    def wait_healthy(self, timeout: float) -> None:
        if not self.http_tls:
            return super().wait_healthy(timeout)
        # /health over HTTPS, checked against the test CA
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up\n{self.log_tail()}")
            try:
                r = requests.get(f"{self.admin_url}/health", timeout=1, verify=str(self.pki.ca.path))
                if r.status_code == 200 and self._kafka_accepts():
                    return
                last = f"/health answered {r.status_code}"
            except requests.RequestException as e:
                last = f"/health: {type(e).__name__}: {e}"
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not healthy after {timeout}s ({last})\n{self.log_tail()}")


# ---------------------------------------------------------------------------------------------
# client settings for one listener


@dataclass
class Login:
    """How a client logs in: a SASL mechanism and user/password, or a token source, and/or a
    client certificate."""
    mechanism: Optional[str] = None  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER
    user: Optional[str] = None
    password: Optional[str] = None
    token: Optional[object] = None  # OAUTHBEARER: a callable () -> (token, expiry_s)
    cert: Optional[Leaf] = None  # client certificate for mTLS
    ca: Optional[Path] = None  # CA the client trusts (default: the broker's test CA)
    extra: Dict[str, object] = field(default_factory=dict)


def admin_login(mechanism: str = "SCRAM-SHA-256") -> Login:
    return Login(mechanism, ADMIN_USER, ADMIN_PASSWORD)


def ck_conf(b: SecureBroker, listener: str, login: Optional[Login] = None, **extra) -> Dict[str, object]:
    """confluent-kafka (librdkafka) settings to reach listener `listener` of `b` as `login`."""
    login = login or Login()
    proto = b.protocols[listener]
    c: Dict[str, object] = {"bootstrap.servers": b.addr(listener), "security.protocol": proto}
    if proto in TLS_PROTOCOLS:
        c["ssl.ca.location"] = str(login.ca or b.pki.ca.path)
        if login.cert is not None:
            c["ssl.certificate.location"] = str(login.cert.cert_path)
            c["ssl.key.location"] = str(login.cert.key_path)
    if proto in SASL_PROTOCOLS:
        c["sasl.mechanism"] = login.mechanism
        if login.mechanism == "OAUTHBEARER":
            source = login.token

            def oauth_cb(_config_str, source=source):
                return source()

            c["oauth_cb"] = oauth_cb
        else:
            c["sasl.username"] = login.user
            c["sasl.password"] = login.password
    c.update(login.extra)
    c.update(extra)
    return c


def kp_conf(b: SecureBroker, listener: str, login: Optional[Login] = None) -> Dict[str, object]:
    """kafka-python keyword arguments (aiokafka takes the same names, but an SSLContext)."""
    login = login or Login()
    proto = b.protocols[listener]
    c: Dict[str, object] = {"bootstrap_servers": b.addr(listener), "security_protocol": proto}
    if proto in TLS_PROTOCOLS:
        c["ssl_cafile"] = str(login.ca or b.pki.ca.path)
        c["ssl_check_hostname"] = True
        if login.cert is not None:
            c["ssl_certfile"] = str(login.cert.cert_path)
            c["ssl_keyfile"] = str(login.cert.key_path)
    if proto in SASL_PROTOCOLS:
        c["sasl_mechanism"] = login.mechanism
        if login.mechanism != "OAUTHBEARER":
            c["sasl_plain_username"] = login.user
            c["sasl_plain_password"] = login.password
    return c


def aiokafka_conf(b: SecureBroker, listener: str, login: Optional[Login] = None) -> Dict[str, object]:
    from aiokafka.helpers import create_ssl_context

    c = kp_conf(b, listener, login)
    login = login or Login()
    cafile = c.pop("ssl_cafile", None)
    c.pop("ssl_check_hostname", None)
    certfile, keyfile = c.pop("ssl_certfile", None), c.pop("ssl_keyfile", None)
    if cafile:
        c["ssl_context"] = create_ssl_context(cafile=cafile, certfile=certfile, keyfile=keyfile)
    return c


def kcat_args(b: SecureBroker, listener: str, login: Optional[Login] = None) -> List[str]:
    """kcat -b/-X arguments (kcat has no token callback: OAUTHBEARER is not offered here)."""
    ck = ck_conf(b, listener, login)
    args = ["-b", str(ck.pop("bootstrap.servers"))]
    for k, v in ck.items():
        if k == "oauth_cb":
            raise ValueError("kcat has no token callback")
        args += ["-X", f"{k}={v}"]
    return args


# ---------------------------------------------------------------------------------------------
# users


def upsert_scram_users(admin_client, users: Dict[str, str], mechanisms=("SCRAM-SHA-256", "SCRAM-SHA-512"),
                       iterations: int = 4096, timeout: float = 15.0) -> None:
    """Create or replace SCRAM credentials through AlterUserScramCredentials.

    One request per mechanism: Kafka 4 (KRaft's ScramControlManager) refuses
    a user named twice in one request with DUPLICATE_RESOURCE."""
    from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

    mech = {"SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256, "SCRAM-SHA-512": ScramMechanism.SCRAM_SHA_512}
    for m in mechanisms:
        alterations = [UserScramCredentialUpsertion(u, ScramCredentialInfo(mech[m], iterations), p.encode())
                       for u, p in users.items()]
        futures = admin_client.alter_user_scram_credentials(alterations, request_timeout=timeout)
        for user, f in futures.items():
            f.result(timeout=timeout)


def wait_for(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout}s (last: {last!r})")


# ---------------------------------------------------------------------------------------------
# ACLs through confluent-kafka's AdminClient


def acl(rtype: str, name: str, principal: str, op: str, perm: str = "ALLOW", pattern: str = "LITERAL",
        host: str = "*"):
    """An AclBinding from names: acl("TOPIC", "t", "User:alice", "WRITE")."""
    from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, ResourcePatternType,
                                       ResourceType)

    return AclBinding(ResourceType[rtype], name, ResourcePatternType[pattern], principal, host,
                      AclOperation[op], AclPermissionType[perm])


def create_acls(admin_client, bindings, timeout: float = 15.0) -> None:
    for _, f in admin_client.create_acls(list(bindings), request_timeout=timeout).items():
        f.result(timeout=timeout)


def acl_filter(rtype: str = "ANY", name=None, principal=None, op: str = "ANY", perm: str = "ANY",
               pattern: str = "ANY", host=None):
    from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType,
                                       ResourceType)

    return AclBindingFilter(ResourceType[rtype], name, ResourcePatternType[pattern], principal, host,
                            AclOperation[op], AclPermissionType[perm])


def describe_acls(admin_client, flt=None, timeout: float = 15.0) -> list:
    return admin_client.describe_acls(flt or acl_filter(), request_timeout=timeout).result(timeout=timeout)


def acl_key(b) -> tuple:
    """A comparable tuple of an AclBinding."""
    return (b.restype.name, b.name, b.resource_pattern_type.name, b.principal, b.host, b.operation.name,
            b.permission_type.name)


def delivery_errors(producer_conf: dict, topic: str, n: int = 3, timeout: float = 20.0, partition: int = 0):
    """Produce n records with a fresh Producer; return [error or None] per record (None = delivered)."""
    from confluent_kafka import Producer

    out = [False] * n
    conf = dict(producer_conf)
    conf.setdefault("message.timeout.ms", int(timeout * 1000 * 0.7))
    p = Producer(conf)

    def cb_for(i):
        def cb(err, msg):
            out[i] = err
        return cb

    for i in range(n):
        p.produce(topic, b"value-%d" % i, partition=partition, on_delivery=cb_for(i))
    left = p.flush(timeout)
    assert left == 0, f"{left} records not resolved within {timeout}s"
    return out


# ---------------------------------------------------------------------------------------------
# a raw SCRAM client on a socket (SaslHandshake v1, SaslAuthenticate v1), for timing logins and
# for what clients never send (a wrong proof after a correct first round)


class RawSasl:
    """One Kafka connection speaking SaslHandshake v1 and SaslAuthenticate v1 by hand."""

    def __init__(self, addr: str, timeout: float = 5.0) -> None:
        import socket

        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.corr = 0

    def close(self) -> None:
        self.sock.close()

    def request(self, api_key: int, version: int, body: bytes) -> bytes:
        import struct

        self.corr += 1
        client_id = b"raw-sasl"
        frame = struct.pack(">hhih", api_key, version, self.corr, len(client_id)) + client_id + body
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        (n,) = struct.unpack(">i", self._exact(4))
        data = self._exact(n)
        (corr,) = struct.unpack(">i", data[:4])
        assert corr == self.corr, (corr, self.corr)
        return data[4:]

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed by the broker")
            out += chunk
        return out

    def handshake(self, mechanism: str) -> int:
        import struct

        m = mechanism.encode()
        data = self.request(17, 1, struct.pack(">h", len(m)) + m)
        (err,) = struct.unpack(">h", data[:2])
        return err

    def authenticate(self, payload: bytes) -> tuple:
        """(error_code, error_message, auth_bytes, session_lifetime_ms)."""
        import struct

        data = self.request(36, 1, struct.pack(">i", len(payload)) + payload)
        err, mlen = struct.unpack(">hh", data[:4])
        pos = 4
        msg = None
        if mlen >= 0:
            msg = data[pos:pos + mlen].decode()
            pos += mlen
        (blen,) = struct.unpack(">i", data[pos:pos + 4])
        pos += 4
        auth = data[pos:pos + max(blen, 0)]
        pos += max(blen, 0)
        (lifetime,) = struct.unpack(">q", data[pos:pos + 8])
        return err, msg, auth, lifetime


_SALTED_CACHE: Dict[tuple, bytes] = {}


def scram_login(conn: RawSasl, mechanism: str, user: str, password: str, tamper_proof: bool = False,
                cache_salted: bool = True) -> tuple:
    """A full SCRAM exchange (RFC 5802/7677). Returns (error_code, error_message) of the final
    round (0, None on success, after checking the server's signature)."""
    import base64
    import hashlib
    import hmac
    import os

    h = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    err = conn.handshake(mechanism)
    if err:
        return err, "handshake"
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user},r={nonce}"
    err, msg, server_first, _ = conn.authenticate(("n,," + first_bare).encode())
    if err:
        return err, msg
    attrs = dict(kv.split("=", 1) for kv in server_first.decode().split(","))
    assert attrs["r"].startswith(nonce)
    salt, iterations = base64.b64decode(attrs["s"]), int(attrs["i"])
    key = (h, password, salt, iterations)
    salted = _SALTED_CACHE.get(key) if cache_salted else None
    if salted is None:
        salted = hashlib.pbkdf2_hmac(h, password.encode(), salt, iterations)
        _SALTED_CACHE[key] = salted
    client_key = hmac.new(salted, b"Client Key", h).digest()
    stored_key = hashlib.new(h, client_key).digest()
    final_wo_proof = f"c=biws,r={attrs['r']}"
    auth_message = f"{first_bare},{server_first.decode()},{final_wo_proof}".encode()
    signature = hmac.new(stored_key, auth_message, h).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    if tamper_proof:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    final = f"{final_wo_proof},p={base64.b64encode(proof).decode()}"
    err, msg, server_final, _ = conn.authenticate(final.encode())
    if err:
        return err, msg
    server_key = hmac.new(salted, b"Server Key", h).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, h).digest()).decode()
    assert server_final.decode() == f"v={expected}", server_final
    return 0, None
