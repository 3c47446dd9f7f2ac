"""Hand-written Kafka wire encoding for the raw-socket tests.

Only what the tests need: frames, request headers v1/v2, ApiVersions (all
versions), Produce v3 and Fetch v4 requests, InitProducerId v4, AddPartitionsToTxn
v3 and EndTxn v3, record batches with a producer id, epoch and sequence, control
batches, and parsers for their answers.
Nothing here is shared with the broker, so a broker bug cannot hide in a shared
codec.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

API_PRODUCE = 0
API_FETCH = 1
API_METADATA = 3
API_API_VERSIONS = 18

UNSUPPORTED_VERSION = 35


# -- primitive encoders -----------------------------------------------------------
def i8(v: int) -> bytes:
    return struct.pack(">b", v)


def i16(v: int) -> bytes:
    return struct.pack(">h", v)


def i32(v: int) -> bytes:
    return struct.pack(">i", v)


def i64(v: int) -> bytes:
    return struct.pack(">q", v)


def string(s: Optional[str]) -> bytes:
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def uvarint(v: int) -> bytes:
    out = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def compact_string(s: Optional[str]) -> bytes:
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def nbytes(b: Optional[bytes]) -> bytes:
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def frame(payload: bytes) -> bytes:
    return i32(len(payload)) + payload


def header_v1(api_key: int, api_version: int, correlation_id: int, client_id: Optional[str] = "compat-raw") -> bytes:
    return i16(api_key) + i16(api_version) + i32(correlation_id) + string(client_id)


def header_v2(api_key: int, api_version: int, correlation_id: int, client_id: Optional[str] = "compat-raw") -> bytes:
    return header_v1(api_key, api_version, correlation_id, client_id) + b"\x00"


# -- requests -----------------------------------------------------------------------
def api_versions_request(version: int, correlation_id: int, client_id: str = "compat-raw") -> bytes:
    """A framed ApiVersions request. v0-v2: header v1, empty body. v3+: header v2 and a flexible body."""
    if version <= 2:
        return frame(header_v1(API_API_VERSIONS, version, correlation_id, client_id))
    body = compact_string("strata-compat-tests") + compact_string("1.0") + b"\x00"
    return frame(header_v2(API_API_VERSIONS, version, correlation_id, client_id) + body)


def produce_v3_request(correlation_id: int, topic: str, partition: int, records: bytes, acks: int = -1,
                       timeout_ms: int = 10000) -> bytes:
    body = (
        string(None)  # transactional_id
        + i16(acks)
        + i32(timeout_ms)
        + i32(1) + string(topic)
        + i32(1) + i32(partition) + nbytes(records)
    )
    return frame(header_v1(API_PRODUCE, 3, correlation_id) + body)


def fetch_v4_request(correlation_id: int, topic: str, partition: int, offset: int, max_wait_ms: int = 100,
                     min_bytes: int = 1, max_bytes: int = 4 << 20, partition_max_bytes: int = 4 << 20) -> bytes:
    body = (
        i32(-1)  # replica_id
        + i32(max_wait_ms)
        + i32(min_bytes)
        + i32(max_bytes)
        + i8(0)  # isolation_level READ_UNCOMMITTED
        + i32(1) + string(topic)
        + i32(1) + i32(partition) + i64(offset) + i32(partition_max_bytes)
    )
    return frame(header_v1(API_FETCH, 4, correlation_id) + body)


# -- reading ------------------------------------------------------------------------
class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"short read: want {n} at {self.pos}, have {len(self.data) - self.pos}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self) -> int:
        return struct.unpack(">b", self.take(1))[0]

    def i16(self) -> int:
        return struct.unpack(">h", self.take(2))[0]

    def i32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def i64(self) -> int:
        return struct.unpack(">q", self.take(8))[0]

    def uvarint(self) -> int:
        shift = 0
        value = 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 35:
                raise ValueError("uvarint too long")

    def string(self) -> Optional[str]:
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def nbytes(self) -> Optional[bytes]:
        n = self.i32()
        return None if n < 0 else self.take(n)

    def tagged_fields(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def remaining(self) -> int:
        return len(self.data) - self.pos


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def read_response(sock: socket.socket) -> Tuple[int, Reader]:
    """Read one framed response; return (correlation_id, reader positioned after a v0 response header)."""
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    if size < 4 or size > 256 << 20:
        raise ValueError(f"bad response size {size}")
    r = Reader(recv_exact(sock, size))
    return r.i32(), r


# -- responses ----------------------------------------------------------------------
@dataclass
class ApiVersionsResponse:
    error_code: int
    api_keys: Dict[int, Tuple[int, int]] = field(default_factory=dict)
    throttle_time_ms: Optional[int] = None


def parse_api_versions(r: Reader, version: int) -> ApiVersionsResponse:
    """Parse an ApiVersions response body (its header is always v0: correlation id only)."""
    out = ApiVersionsResponse(error_code=r.i16())
    if version >= 3:
        n = r.uvarint() - 1
        for _ in range(max(n, 0)):
            key, lo, hi = r.i16(), r.i16(), r.i16()
            r.tagged_fields()
            out.api_keys[key] = (lo, hi)
        out.throttle_time_ms = r.i32()
        r.tagged_fields()
    else:
        n = r.i32()
        for _ in range(max(n, 0)):
            key, lo, hi = r.i16(), r.i16(), r.i16()
            out.api_keys[key] = (lo, hi)
        if version >= 1:
            out.throttle_time_ms = r.i32()
    return out


@dataclass
class ProducePartition:
    partition: int
    error_code: int
    base_offset: int
    log_append_time_ms: int


def parse_produce_v3(r: Reader) -> Dict[Tuple[str, int], ProducePartition]:
    out = {}
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            p = ProducePartition(r.i32(), r.i16(), r.i64(), r.i64())
            out[(topic, p.partition)] = p
    r.i32()  # throttle_time_ms
    return out


@dataclass
class FetchPartition:
    partition: int
    error_code: int
    high_watermark: int
    last_stable_offset: int
    records: bytes


def parse_fetch_v4(r: Reader) -> Dict[Tuple[str, int], FetchPartition]:
    r.i32()  # throttle_time_ms
    out = {}
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            partition, err, hwm, lso = r.i32(), r.i16(), r.i64(), r.i64()
            n_aborted = r.i32()
            for _ in range(max(n_aborted, 0)):
                r.i64(), r.i64()
            records = r.nbytes() or b""
            out[(topic, partition)] = FetchPartition(partition, err, hwm, lso, records)
    return out


@dataclass
class BatchHeader:
    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    raw: bytes  # the whole batch as it came over the wire

    @property
    def codec(self) -> int:
        return self.attributes & 0x07

    @property
    def timestamp_type(self) -> int:
        return (self.attributes >> 3) & 0x01


def split_batches(records: bytes) -> List[BatchHeader]:
    """Split a Fetch `records` blob into whole RecordBatch v2 headers (a partial trailing batch is dropped)."""
    out = []
    pos = 0
    while pos + 12 <= len(records):
        base_offset, batch_length = struct.unpack_from(">qi", records, pos)
        end = pos + 12 + batch_length
        if end > len(records):
            break
        ple, magic, crc, attrs, lod = struct.unpack_from(">ibIhi", records, pos + 12)
        out.append(BatchHeader(base_offset, batch_length, ple, magic, crc, attrs, lod, records[pos:end]))
        pos = end
    return out


# -- record batches built by hand ---------------------------------------------------
_CRC32C_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def build_batch(values: List[bytes], compression: int = 0, timestamp_ms: int = 1_700_000_000_000,
                key: Optional[bytes] = None) -> bytes:
    """A RecordBatch v2 built with kafka-python's own builder (a real client's encoder)."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    b = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=0,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 22)
    for i, v in enumerate(values):
        b.append(i, timestamp=timestamp_ms + i, key=key, value=v, headers=[])
    return bytes(b.build())


def build_legacy_batch(values: List[bytes], magic: int = 1) -> bytes:
    """A message set with magic 0 or 1 (what Kafka stopped accepting on Produce v3+)."""
    from kafka.record.legacy_records import LegacyRecordBatchBuilder

    b = LegacyRecordBatchBuilder(magic=magic, compression_type=0, batch_size=1 << 22)
    for i, v in enumerate(values):
        b.append(i, timestamp=1_700_000_000_000 if magic else None, key=None, value=v)
    return bytes(b.build())


def connect(bootstrap: str, timeout: float = 10.0) -> socket.socket:
    host, port = bootstrap.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def api_versions(bootstrap: str, version: int = 3) -> ApiVersionsResponse:
    with connect(bootstrap) as s:
        s.sendall(api_versions_request(version, 7))
        corr, r = read_response(s)
        assert corr == 7
        return parse_api_versions(r, version)


# -- idempotence and transactions ---------------------------------------------------
API_FIND_COORDINATOR = 10
API_INIT_PRODUCER_ID = 22
API_ADD_PARTITIONS_TO_TXN = 24
API_END_TXN = 26

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
DUPLICATE_SEQUENCE_NUMBER = 46
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
OPERATION_NOT_ATTEMPTED = 55
INVALID_RECORD = 87
PRODUCER_FENCED = 90


def compact_array_len(n: int) -> bytes:
    return uvarint(n + 1)


def init_producer_id_request(correlation_id: int, transactional_id: Optional[str] = None,
                             transaction_timeout_ms: int = 60000, producer_id: int = -1,
                             producer_epoch: int = -1, version: int = 4) -> bytes:
    """InitProducerId v2+ (flexible from v2; producer_id/epoch from v3). Header v2."""
    assert version >= 3
    body = (compact_string(transactional_id) + i32(transaction_timeout_ms) + i64(producer_id)
            + i16(producer_epoch) + b"\x00")
    return frame(header_v2(API_INIT_PRODUCER_ID, version, correlation_id) + body)


@dataclass
class InitProducerIdResponse:
    throttle_time_ms: int
    error_code: int
    producer_id: int
    producer_epoch: int


def parse_init_producer_id(r: Reader) -> InitProducerIdResponse:
    r.tagged_fields()  # response header v1
    out = InitProducerIdResponse(r.i32(), r.i16(), r.i64(), r.i16())
    r.tagged_fields()
    return out


def init_producer_id(sock: socket.socket, correlation_id: int, transactional_id: Optional[str] = None,
                     **kwargs) -> InitProducerIdResponse:
    sock.sendall(init_producer_id_request(correlation_id, transactional_id, **kwargs))
    corr, r = read_response(sock)
    assert corr == correlation_id, (corr, correlation_id)
    return parse_init_producer_id(r)


def produce_request(correlation_id: int, topic: str, partition: int, records: bytes, acks: int = -1,
                    timeout_ms: int = 10000, transactional_id: Optional[str] = None) -> bytes:
    """Produce v3 (the lowest version Kafka 4 serves) with an optional transactional id."""
    body = (
        string(transactional_id)
        + i16(acks)
        + i32(timeout_ms)
        + i32(1) + string(topic)
        + i32(1) + i32(partition) + nbytes(records)
    )
    return frame(header_v1(API_PRODUCE, 3, correlation_id) + body)


def produce(sock: socket.socket, correlation_id: int, topic: str, partition: int, records: bytes,
            **kwargs) -> ProducePartition:
    sock.sendall(produce_request(correlation_id, topic, partition, records, **kwargs))
    corr, r = read_response(sock)
    assert corr == correlation_id, (corr, correlation_id)
    return parse_produce_v3(r)[(topic, partition)]


def build_producer_batch(values: List[bytes], producer_id: int, producer_epoch: int, base_sequence: int,
                         transactional: bool = False, timestamp_ms: int = 1_700_000_000_000,
                         key: Optional[bytes] = None) -> bytes:
    """A RecordBatch v2 carrying a producer id, epoch and base sequence (kafka-python's builder)."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=int(transactional),
                                  producer_id=producer_id, producer_epoch=producer_epoch,
                                  base_sequence=base_sequence, batch_size=1 << 22)
    for i, v in enumerate(values):
        b.append(i, timestamp=timestamp_ms + i, key=key, value=v, headers=[])
    return bytes(b.build())


def build_control_batch(producer_id: int, producer_epoch: int, commit: bool = True,
                        timestamp_ms: int = 1_700_000_000_000) -> bytes:
    """A transactional control batch (attributes: transactional | control) holding one
    COMMIT (type 1) or ABORT (type 0) marker: what only a coordinator may write."""
    key = struct.pack(">hh", 0, 1 if commit else 0)
    value = struct.pack(">hi", 0, 0)  # version 0, coordinator epoch
    # one record: attributes, timestamp delta, offset delta, key, value, no headers (varints)
    def varint(v: int) -> bytes:
        return uvarint((v << 1) ^ (v >> 63))
    rec_body = b"\x00" + varint(0) + varint(0) + varint(len(key)) + key + varint(len(value)) + value + varint(0)
    record = varint(len(rec_body)) + rec_body
    attributes = 0x10 | 0x20  # transactional, control
    after_crc = (i16(attributes) + i32(0) + i64(timestamp_ms) + i64(timestamp_ms) + i64(producer_id)
                 + i16(producer_epoch) + i32(-1) + i32(1) + record)
    crc = crc32c(after_crc)
    batch_len = 4 + 1 + 4 + len(after_crc)  # partition leader epoch, magic, crc, rest
    return i64(0) + i32(batch_len) + i32(-1) + i8(2) + struct.pack(">I", crc) + after_crc


def end_txn_request(correlation_id: int, transactional_id: str, producer_id: int, producer_epoch: int,
                    commit: bool, version: int = 3) -> bytes:
    """EndTxn v3 (flexible; header v2). v5 is KIP-890's epoch-bumping form, not used here."""
    body = compact_string(transactional_id) + i64(producer_id) + i16(producer_epoch) + i8(1 if commit else 0) + b"\x00"
    return frame(header_v2(API_END_TXN, version, correlation_id) + body)


def end_txn(sock: socket.socket, correlation_id: int, transactional_id: str, producer_id: int,
            producer_epoch: int, commit: bool) -> int:
    sock.sendall(end_txn_request(correlation_id, transactional_id, producer_id, producer_epoch, commit))
    corr, r = read_response(sock)
    assert corr == correlation_id, (corr, correlation_id)
    r.tagged_fields()
    r.i32()  # throttle_time_ms
    return r.i16()


def add_partitions_to_txn_request(correlation_id: int, transactional_id: str, producer_id: int,
                                  producer_epoch: int, topics: Dict[str, List[int]], version: int = 3) -> bytes:
    """AddPartitionsToTxn v3 (the last client version before KIP-890's batched v4; flexible)."""
    body = compact_string(transactional_id) + i64(producer_id) + i16(producer_epoch) + compact_array_len(len(topics))
    for name, parts in topics.items():
        body += compact_string(name) + compact_array_len(len(parts)) + b"".join(i32(p) for p in parts) + b"\x00"
    body += b"\x00"
    return frame(header_v2(API_ADD_PARTITIONS_TO_TXN, version, correlation_id) + body)


def add_partitions_to_txn(sock: socket.socket, correlation_id: int, transactional_id: str, producer_id: int,
                          producer_epoch: int, topics: Dict[str, List[int]]) -> Dict[Tuple[str, int], int]:
    sock.sendall(add_partitions_to_txn_request(correlation_id, transactional_id, producer_id, producer_epoch, topics))
    corr, r = read_response(sock)
    assert corr == correlation_id, (corr, correlation_id)
    r.tagged_fields()
    r.i32()  # throttle_time_ms
    out = {}
    for _ in range(r.uvarint() - 1):
        name = r.take(r.uvarint() - 1).decode()
        for _ in range(r.uvarint() - 1):
            partition = r.i32()
            out[(name, partition)] = r.i16()
            r.tagged_fields()
        r.tagged_fields()
    r.tagged_fields()
    return out


def fetch(sock: socket.socket, correlation_id: int, topic: str, partition: int, offset: int = 0,
          **kwargs) -> FetchPartition:
    sock.sendall(fetch_v4_request(correlation_id, topic, partition, offset, **kwargs))
    corr, r = read_response(sock)
    assert corr == correlation_id, (corr, correlation_id)
    return parse_fetch_v4(r)[(topic, partition)]


def batch_producer_fields(b: BatchHeader) -> Tuple[int, int, int, int]:
    """(producer_id, producer_epoch, base_sequence, record_count) of a fetched RecordBatch v2."""
    # after last_offset_delta: first_timestamp(8) max_timestamp(8) producer_id(8) epoch(2) base_seq(4) count(4)
    pid, epoch, seq, count = struct.unpack_from(">qhii", b.raw, 12 + 4 + 1 + 4 + 2 + 4 + 8 + 8)
    return pid, epoch, seq, count


def fetch_all_batches(bootstrap: str, topic: str, partition: int) -> List[BatchHeader]:
    """Every batch of a partition from offset 0 to the high watermark (read_uncommitted, Fetch v4)."""
    out: List[BatchHeader] = []
    with connect(bootstrap) as s:
        offset, corr = 0, 100
        while True:
            corr += 1
            fp = fetch(s, corr, topic, partition, offset)
            assert fp.error_code == 0, fp.error_code
            batches = [b for b in split_batches(fp.records) if b.base_offset + b.last_offset_delta >= offset]
            out += batches
            if batches:
                offset = batches[-1].base_offset + batches[-1].last_offset_delta + 1
            if offset >= fp.high_watermark or not batches:
                return out


def assert_idempotent_batches(bootstrap: str, topic: str, partition: int, expect_records: int) -> int:
    """The stored batches carry one producer id (>= 0) and sequences that run 0, 1, 2, ...
    without gaps or repeats across batches; returns the producer id."""
    batches = fetch_all_batches(bootstrap, topic, partition)
    assert batches, f"no batches in {topic}-{partition}"
    pids = set()
    next_seq = 0
    for b in batches:
        pid, epoch, seq, count = batch_producer_fields(b)
        pids.add((pid, epoch))
        assert seq == next_seq, f"batch at offset {b.base_offset}: base sequence {seq}, expected {next_seq}"
        next_seq += count
    assert len(pids) == 1, f"several producer ids/epochs in one partition: {pids}"
    (pid, epoch), = pids
    assert pid >= 0 and epoch >= 0, f"batches written without a producer id: pid={pid} epoch={epoch}"
    assert next_seq == expect_records
    return pid
