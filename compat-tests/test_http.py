"""The admin HTTP surface the harness and operators rely on: /health and /metrics."""

from __future__ import annotations

import requests

from kafkautil import create_topic, produce_ok, producer


def test_health(broker):
    r = requests.get(f"{broker.admin_url}/health", timeout=5)
    assert r.status_code == 200


def test_metrics_prometheus_text(broker, topic):
    create_topic(broker.bootstrap, topic)
    produce_ok(producer(broker.bootstrap), topic, [{"value": b"m"}])
    r = requests.get(f"{broker.admin_url}/metrics", timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert any(line.startswith("# TYPE ") for line in lines)
    samples = [line for line in lines if line and not line.startswith("#")]
    assert samples, "no samples"
    assert any(line.startswith("strata_") for line in samples)
    for line in samples:
        name_and_labels, _, value = line.rpartition(" ")
        float(value)  # every sample ends in a number


def test_unknown_admin_path_is_not_success(broker):
    r = requests.get(f"{broker.admin_url}/no-such-page", timeout=5)
    assert r.status_code == 404
