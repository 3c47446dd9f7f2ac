"""Start and stop the real `strata` binary on free loopback ports.

Used by the pytest suites (through conftest.py) and by the scripts under perf/.
Nothing here mocks the broker: every Broker is a child process running the
release binary, with its own temporary data directory and its stderr captured
to a log file so a failing test can show what the broker said.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BIN = REPO_ROOT / "target" / "release" / "strata"

# Every broker started by this process, so that none outlives it.
_LIVE: "set[Broker]" = set()


def strata_bin() -> Path:
    return Path(os.environ.get("STRATA_BIN", str(DEFAULT_BIN)))


def free_ports(n: int) -> List[int]:
    """Return n distinct free TCP ports on 127.0.0.1 (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent() -> None:
    """preexec_fn: the broker gets SIGKILL if the Python process that started it dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


class BrokerStartError(RuntimeError):
    pass


class Broker:
    """One `strata` process on free loopback ports.

    bootstrap   "127.0.0.1:PORT" of the Kafka listener
    admin_url   "http://127.0.0.1:PORT" of the admin HTTP surface (/health, /metrics)
    data_dir    the --data-dir, kept across restart()
    pid         the current process id
    """

    def __init__(
        self,
        overrides: Optional[Dict[str, object]] = None,
        config_toml: Optional[str] = None,
        extra_args: Optional[List[str]] = None,
        workdir: Optional[Path] = None,
        binary: Optional[Path] = None,
        name: str = "strata",
        start_timeout: float = 30.0,
        env: Optional[Dict[str, str]] = None,
    ) -> None:
        self.binary = Path(binary) if binary else strata_bin()
        self.overrides = dict(overrides or {})
        self.extra_args = list(extra_args or [])
        self.name = name
        self.start_timeout = start_timeout
        self.env = dict(env or {})
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "broker.log"
        self.config_path: Optional[Path] = None
        if config_toml is not None:
            self.config_path = self.workdir / "strata.toml"
            self.config_path.write_text(config_toml)
        kafka, admin, sr, rest = free_ports(4)
        self.kafka_port, self.admin_port = kafka, admin
        self.schema_registry_port, self.rest_proxy_port = sr, rest
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0

    # -- addresses -----------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def schema_registry_url(self) -> str:
        return f"http://127.0.0.1:{self.schema_registry_port}"

    @property
    def rest_proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_proxy_port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "broker not started"
        return self.proc.pid

    def command(self) -> List[str]:
        cmd = [
            str(self.binary),
            "--data-dir", str(self.data_dir),
            "--kafka-addr", self.bootstrap,
            "--admin-addr", f"127.0.0.1:{self.admin_port}",
            "--schema-registry-addr", f"127.0.0.1:{self.schema_registry_port}",
            "--rest-proxy-addr", f"127.0.0.1:{self.rest_proxy_port}",
        ]
        if self.config_path is not None:
            cmd += ["--config", str(self.config_path)]
        for key, value in self.overrides.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            cmd += ["--override", f"{key}={value}"]
        return cmd + self.extra_args

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> "Broker":
        if not self.binary.exists():
            raise BrokerStartError(
                f"strata binary not found at {self.binary}: run `cargo build --release -p strata-broker` "
                "or set STRATA_BIN"
            )
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
        log.flush()
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        env.setdefault("NO_COLOR", "1")
        env.update(self.env)
        try:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=str(self.workdir),
                env=env,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        _LIVE.add(self)
        try:
            self.wait_healthy(self.start_timeout)
        except BaseException:
            self.kill9()
            raise
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                rc = None if self.proc is None else self.proc.returncode
                raise BrokerStartError(
                    f"{self.name} exited during start-up with code {rc}\n--- log tail ---\n{self.log_tail()}"
                )
            try:
                r = requests.get(f"{self.admin_url}/health", timeout=1)
                if r.status_code == 200 and self._kafka_accepts():
                    return
                last = f"/health answered {r.status_code}"
            except requests.RequestException as e:
                last = f"/health: {type(e).__name__}"
            time.sleep(0.05)
        raise BrokerStartError(
            f"{self.name} not healthy after {timeout}s ({last})\n--- log tail ---\n{self.log_tail()}"
        )

    def _kafka_accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.kafka_port), timeout=1):
                return True
        except OSError:
            return False

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> Optional[int]:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        _LIVE.discard(self)
        return self.proc.returncode

    def kill9(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        _LIVE.discard(self)

    def restart(self, graceful: bool = True) -> "Broker":
        """Stop (SIGTERM, or SIGKILL when graceful=False) and start again on the same ports and data dir."""
        if graceful:
            self.stop()
        else:
            self.kill9()
        return self.start()

    def cleanup(self) -> None:
        """Stop the process (if running) and remove a temporary work dir we created."""
        try:
            self.stop(timeout=10)
        except Exception:
            self.kill9()
        if self._own_workdir and not os.environ.get("STRATA_KEEP_DATA"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- introspection -------------------------------------------------------------
    def log_tail(self, lines: int = 60) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def log_since(self, offset: int, lines: int = 80) -> str:
        """The log written after byte `offset`, at most the last `lines` lines of it."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            return "(no log)"
        out = data.decode("utf-8", "replace").splitlines()
        if len(out) > lines:
            out = [f"... ({len(out) - lines} earlier lines)"] + out[-lines:]
        return "\n".join(out)

    def rss_bytes(self) -> int:
        """Resident set size of the broker process, from /proc/PID/status."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("VmRSS not found")

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def metrics(self) -> str:
        return requests.get(f"{self.admin_url}/metrics", timeout=5).text

    def __enter__(self) -> "Broker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"<Broker {self.name} kafka={self.bootstrap} admin={self.admin_url} data={self.data_dir}>"


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        raw = f.read()
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def proc_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found")


@atexit.register
def _stop_everything() -> None:
    for b in list(_LIVE):
        try:
            b.kill9()
        except Exception:
            pass
