"""A real S3-protocol server for the tiered-storage tests: `moto_server` from the venv.

`MotoServer` runs `<venv>/bin/moto_server -H 127.0.0.1 -p PORT` as a child process on a
free loopback port, waits until it answers, and creates one bucket with boto3. Nothing
here fakes the S3 API in-process: the broker talks HTTP to a separate server, signs its
requests, and sees real S3 responses and errors.

Outages. moto keeps every object in memory, so `stop()` followed by `start()` (same port)
comes back with an EMPTY store: that is "the bucket was lost", not "the store was down".
An outage that keeps the data is `pause()` / `resume()`: SIGSTOP / SIGCONT of the server.
While it is stopped the kernel still completes TCP handshakes into the listen backlog
(until the backlog is full) and requests already sent get no answer, so a client sees
requests that hang until its own timeouts fire, never a quick "connection refused". That
is the outage a black-holed network path or a wedged server gives, and the harder case
for a broker: it proves it bounds every object-store call with a timeout and never waits
for the store on the produce or local-fetch path. (A refused connection fails fast and
would test less.) Do not call the store from the test while paused: such calls hang too.

Teardown always resumes a paused server before stopping it (a stopped process does not
act on SIGTERM), and `stop()` ends with SIGKILL if SIGTERM was not enough. Every wait is
bounded. The server also gets PR_SET_PDEATHSIG, as the brokers do, so it never outlives
the Python process that started it.

The module is named `moto` as the issue asks; it shadows the PyPI `moto` package for code
that runs with compat-tests/ on sys.path. Nothing here imports that package: the server
runs as its own executable, with its own sys.path.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import boto3
import requests
from botocore.config import Config

from strata_harness import _die_with_parent, free_ports

REGION = "us-east-1"
ACCESS_KEY = "test"
SECRET_KEY = "test"
DEFAULT_BUCKET = "strata"

_LIVE: "set[MotoServer]" = set()


def moto_server_bin() -> Path:
    """`moto_server` beside the running interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "moto_server"
    if beside.exists():
        return beside
    found = shutil.which("moto_server")
    if found:
        return Path(found)
    raise FileNotFoundError(
        f"moto_server not found beside {sys.executable} nor on PATH: install requirements.txt (moto[server])"
    )


class MotoServer:
    """One `moto_server` process on a fixed loopback port, with one bucket.

    url         "http://127.0.0.1:PORT"
    bucket      the bucket created at each start()
    env()       the AWS_* variables a broker needs to reach it
    """

    def __init__(self, bucket: str = DEFAULT_BUCKET, port: Optional[int] = None,
                 workdir: Optional[Path] = None, start_timeout: float = 30.0) -> None:
        self.bucket = bucket
        self.port = port if port is not None else free_ports(1)[0]
        self.start_timeout = start_timeout
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="moto-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "moto_server.log"
        self.proc: Optional[subprocess.Popen] = None
        self.paused = False
        self.starts = 0
        self._client = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> Dict[str, str]:
        """The environment a broker (object_store's AmazonS3Builder::from_env) needs."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ALLOW_HTTP": "true",
        }

    def tier_url(self, prefix: str = "cluster") -> str:
        return f"s3://{self.bucket}/{prefix}"

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> "MotoServer":
        """Start the server on self.port (the same port after a stop) and create the bucket."""
        if self.is_running():
            raise RuntimeError(f"moto_server already running on {self.port}")
        self.starts += 1
        log = open(self.log_path, "ab")
        cmd = [str(moto_server_bin()), "-H", "127.0.0.1", "-p", str(self.port)]
        log.write(f"\n===== start #{self.starts}: {' '.join(cmd)}\n".encode())
        log.flush()
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         cwd=str(self.workdir), preexec_fn=_die_with_parent)
        finally:
            log.close()
        self.paused = False
        _LIVE.add(self)
        try:
            self._wait_ready(self.start_timeout)
            self.client().create_bucket(Bucket=self.bucket)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                rc = None if self.proc is None else self.proc.returncode
                raise RuntimeError(f"moto_server exited during start-up with code {rc}\n{self.log_tail()}")
            try:
                r = requests.get(f"{self.url}/moto-api/", timeout=1)
                if r.status_code == 200:
                    return
                last = f"answered {r.status_code}"
            except requests.RequestException as e:
                last = type(e).__name__
            time.sleep(0.05)
        raise RuntimeError(f"moto_server not ready on {self.url} after {timeout}s ({last})\n{self.log_tail()}")

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """End the process (its objects are gone). The port stays ours for start()."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                if self.paused:
                    proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.paused = False
        self._client = None
        _LIVE.discard(self)

    def pause(self) -> None:
        """SIGSTOP: the store stops answering but keeps its objects (see the module doc)."""
        assert self.is_running(), "moto_server is not running"
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """SIGCONT: answers again, with every object it had."""
        if self.proc is not None and self.proc.poll() is None and self.paused:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def cleanup(self) -> None:
        try:
            self.resume()
        finally:
            self.stop()
        if self._own_workdir and not os.environ.get("STRATA_KEEP_DATA"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"<MotoServer {self.url} bucket={self.bucket} paused={self.paused}>"

    # -- the bucket, through boto3 ---------------------------------------------------
    def client(self):
        """A boto3 S3 client for this server: bounded timeouts, few retries."""
        if self._client is None:
            self._client = boto3.client(
                "s3",
                endpoint_url=self.url,
                region_name=REGION,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
                config=Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"},
                              s3={"addressing_style": "path"}),
            )
        return self._client

    def objects(self, prefix: str = "") -> Dict[str, int]:
        """{key: size} of every object under prefix."""
        assert not self.paused, "the store is paused: listing it would hang"
        out: Dict[str, int] = {}
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                out[o["Key"]] = o["Size"]
        return out

    def keys(self, prefix: str = "") -> List[str]:
        return sorted(self.objects(prefix))

    def get(self, key: str) -> bytes:
        assert not self.paused, "the store is paused: a get would hang"
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=self.bucket, Key=key, Body=data)

    def log_tail(self, lines: int = 30) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no moto_server log)"
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


@atexit.register
def _stop_everything() -> None:
    for m in list(_LIVE):
        try:
            m.resume()
            m.stop(timeout=5)
        except Exception:
            pass
