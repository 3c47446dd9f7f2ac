"""Sampling a broker with Linux `perf` to tell what share of its CPU a part of the code takes:
a figure that a busy machine does not distort, unlike an A/B timing."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Iterable


def start_sampling(pid: int, out: Path) -> subprocess.Popen:
    sampler = subprocess.Popen(["perf", "record", "-F", "1999", "-o", str(out), "-p", str(pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return sampler


def stop_sampling(sampler: subprocess.Popen, out: Path, needles: Iterable[str]) -> float:
    """The share of the broker's samples whose symbol contains any of `needles`."""
    sampler.send_signal(signal.SIGINT)
    sampler.wait(timeout=60)
    listing = subprocess.run(["perf", "report", "-i", str(out), "--no-children", "--sort", "symbol",
                             "-g", "none", "--percent-limit", "0"],
                            capture_output=True, text=True, timeout=120).stdout
    needles = list(needles)
    share = 0.0
    for line in listing.splitlines():
        if not line.lstrip().startswith("#") and "%" in line and any(n in line for n in needles):
            share += float(line.split("%")[0].strip()) / 100
    return share
