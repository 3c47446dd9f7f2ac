"""Fixtures: the real `strata` binary on free loopback ports.

broker          session-scoped, shared by most tests (default configuration)
fresh_broker    function-scoped, for restart / kill -9 tests
moto            function-scoped moto_server with bucket `strata` (moto.py), for tiering tests
broker_factory  function-scoped, starts brokers with --override settings
topic           a unique topic name per test (not created)

Every broker started is stopped at the end, whatever happened, and the tail of
its log is attached to the report of a failing test.
"""

from __future__ import annotations

import re
import uuid

import pytest

from kafkautil import forget
from strata_harness import Broker

_BROKERS_OF_ITEM = "_strata_brokers"


def _remember(request, broker: Broker) -> None:
    """Note that this test used `broker`, and where its log stood when the test began."""
    node = request.node
    brokers = getattr(node, _BROKERS_OF_ITEM, None)
    if brokers is None:
        brokers = []
        setattr(node, _BROKERS_OF_ITEM, brokers)
    try:
        start = broker.log_path.stat().st_size
    except OSError:
        start = 0
    brokers.append((broker, start))


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    b = Broker(workdir=tmp_path_factory.mktemp("session-broker"), name="strata-session")
    try:
        b.start()
        yield b
    finally:
        forget(b.bootstrap)
        b.cleanup()


@pytest.fixture(autouse=True)
def _attach_session_broker(request):
    # Record which brokers a test used, so a failure report can show their logs.
    # If the shared broker dies during a test, that test errors with the log tail and the
    # broker is started again (same ports, same data dir) so that one crash does not
    # cascade into every later test.
    if "broker" not in request.fixturenames:
        yield
        return
    b = request.getfixturevalue("broker")
    _remember(request, b)
    if not b.is_running():
        b.start()
    yield
    if not b.is_running():
        rc = b.proc.returncode if b.proc else None
        tail = b.log_tail(80)
        b.start()
        pytest.fail(f"the shared broker died during this test (exit code {rc}); restarted it\n"
                    f"--- log tail ---\n{tail}")


@pytest.fixture
def broker_factory(request, tmp_path):
    started = []

    def make(overrides=None, **kwargs) -> Broker:
        workdir = tmp_path / f"broker{len(started)}"
        b = Broker(overrides=overrides, workdir=workdir, name=f"strata-{request.node.name}-{len(started)}", **kwargs)
        started.append(b)
        _remember(request, b)
        return b.start()

    try:
        yield make
    finally:
        for b in started:
            forget(b.bootstrap)
            b.cleanup()


@pytest.fixture
def fresh_broker(broker_factory):
    return broker_factory()


@pytest.fixture
def moto(tmp_path):
    """A moto_server with bucket `strata`, stopped at the end (resumed first if paused)."""
    from moto import MotoServer  # boto3 is imported only by the tests that use the store

    m = MotoServer(workdir=tmp_path / "moto")
    try:
        m.start()
        yield m
    finally:
        m.cleanup()


@pytest.fixture
def topic(request):
    base = re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name)[:80]
    return f"{base}-{uuid.uuid4().hex[:8]}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for b, start in getattr(item, _BROKERS_OF_ITEM, []):
            rep.sections.append((f"{b.name} log during this test ({b.log_path})", b.log_since(start, 80)))
