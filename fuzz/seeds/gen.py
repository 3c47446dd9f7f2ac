#!/usr/bin/env python3
"""Writes the fuzz seed corpus: a few valid Kafka request frames and record batches.

The files are checked in beside this script; rerun it only to change them
(`python3 fuzz/seeds/gen.py`). wire/tests/decode_never_panics.rs checks that
every frame seed still decodes, so a seed that drifts from the protocol fails
a test instead of silently fuzzing nothing.
"""

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


if __name__ == "__main__":
    main()
