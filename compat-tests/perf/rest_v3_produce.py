#!/usr/bin/env python3
"""REST Proxy v3 streamed produce throughput: records/s on one connection.

One HTTP/1.1 connection, one chunked POST /v3/clusters/{c}/topics/{t}/records
carrying N small JSON records as concatenated JSON, written by one thread
while the main thread reads the streamed results (one JSON line per record)
as they come. Every result must be error_code 200; the figure is N divided
by the time from the first byte sent to the last result read. The broker runs
with its default durable settings (acks=all answers after fsync).

  rest_v3_produce.py                      start a fresh Strata (STRATA_BIN or the release build)
  rest_v3_produce.py --rest-url URL --bootstrap HOST:PORT   use a running one
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def record_json(i: int, keyed: bool) -> bytes:
    r = {"value": {"type": "JSON", "data": {"n": i, "name": "user-%d" % (i % 1000), "ok": True}}}
    if keyed:
        r["key"] = {"type": "STRING", "data": "k%d" % (i % 1000)}
    return json.dumps(r, separators=(",", ":")).encode()


def chunks(n: int, per_chunk: int, keyed: bool):
    for start in range(0, n, per_chunk):
        yield b"".join(record_json(i, keyed) for i in range(start, min(n, start + per_chunk)))


class ChunkedReader:
    """Reads an HTTP/1.1 response with a chunked body from a socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""

    def _fill(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def head(self):
        status = self.line()
        headers = {}
        while True:
            l = self.line()
            if not l:
                break
            k, v = l.split(b":", 1)
            headers[k.strip().lower().decode()] = v.strip().decode()
        return status.decode(), headers

    def chunk(self) -> bytes:
        size = int(self.line().split(b";")[0], 16)
        while len(self.buf) < size + 2:
            self._fill()
        data, self.buf = self.buf[:size], self.buf[size + 2:]
        return data


def run_once(rest_url: str, cluster: str, topic: str, n: int, per_chunk: int, keyed: bool) -> float:
    u = urlparse(rest_url)
    sock = socket.create_connection((u.hostname, u.port), timeout=120)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head = (f"POST /v3/clusters/{cluster}/topics/{topic}/records HTTP/1.1\r\n"
            f"Host: {u.hostname}:{u.port}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    payload = list(chunks(n, per_chunk, keyed))
    errors = []

    def write():
        try:
            for c in payload:
                sock.sendall(b"%x\r\n%s\r\n" % (len(c), c))
            sock.sendall(b"0\r\n\r\n")
        except OSError as e:  # the reader reports the shortfall
            errors.append(e)

    start = time.perf_counter()
    sock.sendall(head)
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    reader = ChunkedReader(sock)
    status, headers = reader.head()
    if " 200 " not in status + " ":
        raise SystemExit(f"produce answered {status}: {reader.buf[:500]!r}")
    done = 0
    pending = b""
    failures = 0
    while done < n:
        data = reader.chunk()
        if not data:
            break
        pending += data
        *lines, pending = pending.split(b"\n")
        for l in lines:
            if not l:
                continue
            if b'"error_code":200' not in l:
                failures += 1
                if failures <= 3:
                    print("failed record:", l[:300].decode(errors="replace"), file=sys.stderr)
            done += 1
    elapsed = time.perf_counter() - start
    writer.join(timeout=10)
    sock.close()
    if done != n or failures or errors:
        raise SystemExit(f"{done} results of {n}, {failures} failures, writer errors {errors}")
    return n / elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rest-url", help="a running REST Proxy (with --bootstrap)")
    p.add_argument("--bootstrap", help="its Kafka listener, to create the topic")
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--per-chunk", type=int, default=200, help="records per HTTP chunk")
    p.add_argument("--partitions", type=int, default=1)
    p.add_argument("--keyed", action="store_true", help="STRING keys (murmur2 partitioning)")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()

    broker = None
    if args.rest_url:
        rest_url, bootstrap = args.rest_url, args.bootstrap
    else:
        from strata_harness import Broker
        broker = Broker(workdir=Path(tempfile.mkdtemp(prefix="rest-v3-perf-")), name="strata-rest-v3-perf")
        broker.start()
        rest_url, bootstrap = broker.rest_proxy_url, broker.bootstrap
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        cluster = admin.describe_cluster().result(timeout=10).cluster_id
        rates = []
        for i in range(args.runs):
            topic = f"rest-v3-perf-{uuid.uuid4().hex[:8]}"
            admin.create_topics([NewTopic(topic, args.partitions, 1)])[topic].result(timeout=10)
            time.sleep(0.5)
            rate = run_once(rest_url, cluster, topic, args.records, args.per_chunk, args.keyed)
            rates.append(rate)
            print(f"run {i + 1}: {args.records} records, {args.partitions} partition(s): {rate:,.0f} records/s")
        print(f"best {max(rates):,.0f} records/s, median {sorted(rates)[len(rates) // 2]:,.0f} records/s")
    finally:
        if broker is not None:
            broker.cleanup()


if __name__ == "__main__":
    main()
