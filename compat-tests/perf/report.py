#!/usr/bin/env python3
"""Side-by-side markdown table from the JSON lines the perf scripts append (--json FILE).

For every measurement it shows each target's figure and, with two targets,
their ratio (first / second). Usage: report.py results.jsonl [--primary strata] [--other tansu]
"""

from __future__ import annotations

import argparse
import json
from collections import OrderedDict

from common import fmt

HEADLINE = {
    "produce": "MB/s",
    "consume": "MB/s",
    "e2e latency": "p50_ms",
    "produce ack latency": "p50_ms",
    "cpu/GB": "cpu_s_per_GB",
    "rss": "idle_MiB",
    "kcat produce": "MB/s",
    "kcat consume": "MB/s",
    "offset commit": "commits/s",
    "rebalance 10 (cold)": "s_after_last_join",
    "rebalance 10 (10th joins)": "s_after_last_join",
}
EXTRA = {
    "e2e latency": ["p99_ms", "p99.9_ms"],
    "produce ack latency": ["p99_ms", "p99.9_ms"],
    "rss": ["with_conns_MiB"],
    "produce": ["records/s"],
    "consume": ["records/s"],
    "rebalance 10 (cold)": ["s_beyond_delay"],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--primary", default="strata")
    ap.add_argument("--other", default="tansu")
    a = ap.parse_args()
    rows = OrderedDict()
    with open(a.file) as f:
        for line in f:
            r = json.loads(line)
            params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
            metrics = [HEADLINE.get(r["bench"])] + EXTRA.get(r["bench"], [])
            for m in metrics:
                if m is None:
                    continue
                key = (r["bench"], params, m)
                rows.setdefault(key, {})[r["target"]] = (r["metrics"].get(m), r.get("notes", ""))
    two = any(a.other in v for v in rows.values())
    head = ["measurement", "params", "metric", a.primary] + ([a.other, "ratio"] if two else []) + ["notes"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for (bench, params, metric), by in rows.items():
        pv, pn = by.get(a.primary, (None, ""))
        row = [bench, params, metric, fmt(pv)]
        notes = pn
        if two:
            ov, on = by.get(a.other, (None, ""))
            ratio = pv / ov if isinstance(pv, (int, float)) and isinstance(ov, (int, float)) and ov else None
            row += [fmt(ov), f"{ratio:.2f}x" if ratio is not None else ""]
            notes = "; ".join(n for n in (pn, on and f"{a.other}: {on}") if n)
        print("| " + " | ".join(row + [notes]) + " |")


if __name__ == "__main__":
    main()
