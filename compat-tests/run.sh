#!/usr/bin/env bash
# Run the compatibility suites against the release binary.
#
#   cargo build --release -p strata-broker && compat-tests/run.sh [pytest args...]
#
# STRATA_BIN picks another binary (default: <repo>/target/release/strata).
# kcat comes from Debian's `kcat` package (apt-get install kcat). On the
# development machine it is kcat 1.7.1 linked against Debian's librdkafka1
# 2.0.2 (`ldd $(which kcat) | grep rdkafka`), while confluent-kafka's wheel
# bundles librdkafka 2.16: the suites exercise both.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" ]]; then
    timeout 300 python3 -m venv "$venv"
fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    timeout 600 "$venv/bin/pip" install --disable-pip-version-check -q -r "$here/requirements.txt"
    echo "$want" > "$stamp"
fi
bin="${STRATA_BIN:-$here/../target/release/strata}"
if [[ ! -x "$bin" ]]; then
    echo "strata binary not found at $bin: run 'cargo build --release -p strata-broker' first" >&2
    exit 2
fi
# KafkaJS (compat-tests/js, test_kafkajs.py): `npm ci` from the lock when node_modules is
# missing or the lock changed since the last install.
js="$here/js"
js_stamp="$js/node_modules/.package-lock.sha256"
if command -v npm >/dev/null && command -v node >/dev/null; then
    js_want="$(sha256sum "$js/package-lock.json" | cut -d' ' -f1)"
    if [[ ! -f "$js_stamp" || "$(cat "$js_stamp")" != "$js_want" ]]; then
        (cd "$js" && timeout 300 npm ci --no-audit --no-fund --loglevel=error)
        echo "$js_want" > "$js_stamp"
    fi
else
    echo "warning: node/npm not on PATH (apt-get install nodejs npm); the KafkaJS tests will be skipped" >&2
fi
if ! command -v kcat >/dev/null; then
    echo "warning: kcat not on PATH (apt-get install kcat); the kcat tests will be skipped" >&2
fi
cd "$here"
# A global bound on the whole run on top of pytest-timeout's per-test bound.
exec timeout "${COMPAT_TIMEOUT:-1200}" "$venv/bin/python" -m pytest -p no:cacheprovider --timeout="${COMPAT_TEST_TIMEOUT:-120}" "$@"
