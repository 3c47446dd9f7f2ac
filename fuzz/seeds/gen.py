#!/usr/bin/env python3
"""Writes the fuzz seed corpus: a few valid Kafka request frames and record batches, and
principal-mapping rules, distinguished names and client certificates for tls_principal.

The files are checked in beside this script; rerun it only to change them
(`python3 fuzz/seeds/gen.py`). wire/tests/decode_never_panics.rs checks that
every frame seed still decodes, so a seed that drifts from the protocol fails
a test instead of silently fuzzing nothing.
"""

import base64
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint(n: int) -> bytes:
    return uvarint((n << 1) ^ (n >> 63))


def compact_str(s: bytes) -> bytes:
    return uvarint(len(s) + 1) + s


def header_v2(api_key: int, version: int, correlation_id: int, client_id: bytes) -> bytes:
    # Request header v2: key, version, correlation id, nullable (non-compact)
    # client id, then tagged fields.
    return (
        struct.pack(">hhih", api_key, version, correlation_id, len(client_id))
        + client_id
        + uvarint(0)
    )


def frame(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


def record(offset_delta: int, key: bytes, value: bytes) -> bytes:
    body = (
        b"\x00"  # attributes
        + varint(0)  # timestamp delta
        + varint(offset_delta)
        + varint(len(key)) + key
        + varint(len(value)) + value
        + varint(0)  # headers
    )
    return varint(len(body)) + body


def batch(base_offset: int, values: list) -> bytes:
    records = b"".join(record(i, b"k", v) for i, v in enumerate(values))
    after_crc = (
        struct.pack(">h", 0)  # attributes: no compression, CreateTime
        + struct.pack(">i", len(values) - 1)  # last offset delta
        + struct.pack(">q", 1_700_000_000_000)  # base timestamp
        + struct.pack(">q", 1_700_000_000_000)  # max timestamp
        + struct.pack(">q", -1)  # producer id
        + struct.pack(">h", -1)  # producer epoch
        + struct.pack(">i", -1)  # base sequence
        + struct.pack(">i", len(values))
        + records
    )
    # batchLength counts from partitionLeaderEpoch to the end.
    batch_length = 4 + 1 + 4 + len(after_crc)
    return (
        struct.pack(">qi", base_offset, batch_length)
        + struct.pack(">i", -1)  # partition leader epoch
        + b"\x02"  # magic
        + struct.pack(">I", crc32c(after_crc))
        + after_crc
    )


def api_versions_v3() -> bytes:
    body = compact_str(b"strata-fuzz") + compact_str(b"0.1") + uvarint(0)
    return frame(header_v2(18, 3, 1, b"fuzz") + body)


def metadata_v12() -> bytes:
    topic = bytes(16) + compact_str(b"orders") + uvarint(0)  # topic id, name, tags
    body = (
        uvarint(1 + 1) + topic  # compact array of one topic
        + b"\x01"  # allow auto topic creation
        + b"\x00"  # include topic authorized operations
        + uvarint(0)
    )
    return frame(header_v2(3, 12, 2, b"fuzz") + body)


def produce_v9(records: bytes) -> bytes:
    partition = struct.pack(">i", 0) + uvarint(len(records) + 1) + records + uvarint(0)
    topic = compact_str(b"orders") + uvarint(1 + 1) + partition + uvarint(0)
    body = (
        uvarint(0)  # null transactional id
        + struct.pack(">hi", -1, 30_000)  # acks, timeout
        + uvarint(1 + 1) + topic
        + uvarint(0)
    )
    return frame(header_v2(0, 9, 3, b"fuzz") + body)


# `openssl req -x509 -subj "/C=US/O=Acme, Inc./OU=eng+OU=ops/CN=alice =x#/emailAddress=a@b.c"`
# (governance's principal_mapping_tests.rs): escapes, a multi-valued RDN, an OID printed as hex.
CERT_ESCAPES = (
    "MIICJDCCAcmgAwIBAgIUE6MHgtz6sotM8qikPdsB+Cu14QIwCgYIKoZIzj0EAwIwZjELMAkGA1UEBhMCVVMxEzAR"
    "BgNVBAoMCkFjbWUsIEluYy4xGDAKBgNVBAsMA2VuZzAKBgNVBAsMA29wczESMBAGA1UEAwwJYWxpY2UgPXgjMRQw"
    "EgYJKoZIhvcNAQkBFgVhQGIuYzAgFw0yNjEyMDcwMDUxNDBaGA8yMTI2MTExMzAwNTE0MFowZjELMAkGA1UEBhMC"
    "VVMxEzARBgNVBAoMCkFjbWUsIEluYy4xGDAKBgNVBAsMA2VuZzAKBgNVBAsMA29wczESMBAGA1UEAwwJYWxpY2Ug"
    "PXgjMRQwEgYJKoZIhvcNAQkBFgVhQGIuYzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABA4VEVb0+R4ZXI8+T35r"
    "LdtjABRLvC0BK/7ohBweo9lBlFNGqCOhiNN6bBvCOvytMkQCIZVX48j4pGCmCBI90WWjUzBRMB0GA1UdDgQWBBSX"
    "h51jOMExs+HIxRdhplUkmpb3+DAfBgNVHSMEGDAWgBSXh51jOMExs+HIxRdhplUkmpb3+DAPBgNVHRMBAf8EBTAD"
    "AQH/MAoGCCqGSM49BAMCA0kAMEYCIQCnsdllUrqZvdIXuh2tKDQ1bvTr6J3yWgpIUnkIqgLxZwIhAPqTMH7j1R37"
    "w9ddngPmZEYsnTOy29JtO5JJ+UZZ3FoZ"
)
# `openssl req -x509 -multivalue-rdn -subj "/C=US/ST=CA/L=Santa Clara/O=Org/OU=ServiceUsers/
# CN=kafka client+UID=svc/DC=example/DC=com/serialNumber=42"`: every keyword Java names.
CERT_SERVICE_USER = (
    "MIICzjCCAnOgAwIBAgIUIpxSkdJPEECwPKX6RknWbmkElHIwCgYIKoZIzj0EAwIwgboxCzAJBgNVBAYTAlVTMQsw"
    "CQYDVQQIDAJDQTEUMBIGA1UEBwwLU2FudGEgQ2xhcmExDDAKBgNVBAoMA09yZzEVMBMGA1UECwwMU2VydmljZVVz"
    "ZXJzMSgwEQYKCZImiZPyLGQBAQwDc3ZjMBMGA1UEAwwMa2Fma2EgY2xpZW50MRcwFQYKCZImiZPyLGQBGRYHZXhh"
    "bXBsZTETMBEGCgmSJomT8ixkARkWA2NvbTELMAkGA1UEBRMCNDIwIBcNMjYxMjA3MTMxNDEzWhgPMjEyNjExMTMx"
    "MzE0MTNaMIG6MQswCQYDVQQGEwJVUzELMAkGA1UECAwCQ0ExFDASBgNVBAcMC1NhbnRhIENsYXJhMQwwCgYDVQQK"
    "DANPcmcxFTATBgNVBAsMDFNlcnZpY2VVc2VyczEoMBEGCgmSJomT8ixkAQEMA3N2YzATBgNVBAMMDGthZmthIGNs"
    "aWVudDEXMBUGCgmSJomT8ixkARkWB2V4YW1wbGUxEzARBgoJkiaJk/IsZAEZFgNjb20xCzAJBgNVBAUTAjQyMFkw"
    "EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEVwZzu/lyww17shrvgeZV3/ln7BJ4Oabci/VUxtHOnWlHtFPmXVwkvGk0"
    "kqhOgP5937P3iBagohGwVqr3xUBahaNTMFEwHQYDVR0OBBYEFHEsTr3Y5iX11HnKn4voP3Ss7wsQMB8GA1UdIwQY"
    "MBaAFHEsTr3Y5iX11HnKn4voP3Ss7wsQMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAPHvSf0O"
    "0Wjbh7LEZkP5lH8dQC6Aa/I7+fnOx4S2LaPIAiEA6+oq/se3XMEjU52DvzpTCSJipRrVPU6JqHuCila4Tys="
)
# Kafka's documented rule shapes: groups, L/U, an escaped slash, `$n` past the last group.
KAFKA_RULES = (
    b"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,"
    b"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,"
    b"RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U,\n  "
    b"RULE:^CN=([^,]*)\\/x,(.*)$/$1\\/$2$3/,"
    b"DEFAULT"
)


def tls_principal_seeds() -> dict:
    """First byte even: rules, 0xFF, a DN. Odd: a DER certificate."""
    return {
        "rules_default.bin": b"\x00DEFAULT\xffCN=alice,OU=eng,O=Example",
        "rules_kafka.bin": b"\x00" + KAFKA_RULES
        + b"\xffCN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Santa Clara,ST=CA,C=US",
        "rules_escaped_slash.bin": b"\x00" + KAFKA_RULES + b"\xffCN=a/x,O=b",
        "cert_escapes.bin": b"\x01" + base64.b64decode("".join(CERT_ESCAPES)),
        "cert_service_user.bin": b"\x01" + base64.b64decode("".join(CERT_SERVICE_USER)),
    }


def write(target: str, name: str, data: bytes) -> None:
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


def main() -> None:
    one = batch(0, [b"hello"])
    two = batch(0, [b"a", b"bc"]) + batch(2, [b"def"])
    write("frame_and_request", "api_versions_v3.bin", api_versions_v3())
    write("frame_and_request", "metadata_v12.bin", metadata_v12())
    write("frame_and_request", "produce_v9.bin", produce_v9(one))
    # Three pipelined requests in one read, as a client sends them.
    write("frame_and_request", "pipelined.bin", api_versions_v3() + metadata_v12() + produce_v9(two))
    write("record_batches", "one_batch.bin", one)
    write("record_batches", "two_batches.bin", two)
    write("record_batches", "torn_tail.bin", two + one[:30])
    for name, data in tls_principal_seeds().items():
        write("tls_principal", name, data)


if __name__ == "__main__":
    main()
