#!/usr/bin/env bash
# Run every perf script against a fresh Strata (each script starts its own, release
# binary, default durable settings) and, when TANSU_CMD is set, against that broker too,
# then print one markdown table. Timings are reported, never judged.
#
#   compat-tests/perf/run_all.sh [--quick]
#   TANSU_CMD="tansu broker --listener-url tcp://127.0.0.1:19092 \
#       --advertised-listener-url tcp://127.0.0.1:19092 --storage-engine memory://tansu/" \
#       compat-tests/perf/run_all.sh
#
# TANSU_BOOTSTRAP (default 127.0.0.1:19092) is where TANSU_CMD listens.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$here/../.venv/bin/python"
[[ -x "$py" ]] || { echo "run compat-tests/run.sh --collect-only once to create the venv" >&2; exit 2; }
out="${PERF_OUT:-$(mktemp -t strata-perf-XXXXXX.jsonl)}"
: > "$out"
compare=()
if [[ -n "${TANSU_CMD:-}" ]]; then
    compare=(--compare-cmd "$TANSU_CMD" --compare-bootstrap "${TANSU_BOOTSTRAP:-127.0.0.1:19092}" --compare-label tansu)
fi
cd "$here"
for script in produce_throughput.py consume_throughput.py latency.py cpu_per_gb.py rss.py kcat_throughput.py commit_throughput.py rebalance_time.py; do
    echo "## $script"
    timeout "${PERF_SCRIPT_TIMEOUT:-900}" "$py" "$script" --json "$out" "${compare[@]}" "$@" || echo "($script exited $?)"
    echo
done
# Strata-only scripts (no second broker to compare): Schema Registry request rates (needs
# `wrk`: apt-get install wrk), schema validation CPU, tiered storage against moto_server,
# idempotence and transaction costs.
for script in schema_registry_throughput.py validation_cpu.py tier_consume.py idempotence_txn.py; do
    echo "## $script"
    timeout "${PERF_SCRIPT_TIMEOUT:-900}" "$py" "$script" --json "$out" "$@" || echo "($script exited $?)"
    echo
done
echo "## summary ($out)"
"$py" report.py "$out"
