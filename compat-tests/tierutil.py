"""Helpers shared by the tests that run a broker against moto_server (tiering, disaster recovery,
restore readiness): starting a broker on a tier prefix, topic ids as the bucket spells them, one
metric of /metrics. The `moto` fixture itself is in conftest.py.
"""

from __future__ import annotations

import uuid
from typing import Dict, Iterable, Optional, Sequence

from confluent_kafka import TopicCollection

from kafkautil import REQUEST_TIMEOUT, admin, result
from moto import MotoServer


def start_tiered(broker_factory, moto: MotoServer, prefix: str, overrides: dict,
                 extra_args: Sequence[str] = (), **kwargs):
    """A broker with `--tier-url s3://<bucket>/<prefix>`, the AWS_* variables of `moto`, and
    `overrides` as `--override` settings."""
    return broker_factory(dict(overrides), extra_args=["--tier-url", moto.tier_url(prefix), *extra_args],
                          env=moto.env(), **kwargs)


def topic_ids(bootstrap: str, topics: Iterable[str]) -> Dict[str, str]:
    """{topic: topic id}, through DescribeTopics, spelt as a UUID as the bucket's object paths spell it
    (confluent-kafka's own str() is Kafka's base64 form)."""
    fs = admin(bootstrap).describe_topics(TopicCollection(list(topics)), request_timeout=REQUEST_TIMEOUT)
    mask = (1 << 64) - 1
    out = {}
    for t, f in fs.items():
        tid = result(f).topic_id
        out[t] = str(uuid.UUID(int=((tid.get_most_significant_bits() & mask) << 64)
                               | (tid.get_least_significant_bits() & mask)))
    return out


def metric(text: str, name: str, default: Optional[float] = None) -> float:
    """The value of an unlabelled sample `name` in Prometheus text."""
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        if head == name:
            return float(value)
    assert default is not None, f"{name} not in /metrics"
    return default
