#!/usr/bin/env bash
# Runs every test: formatting and lints, unit and integration tests, a bounded
# fuzz pass over frame and request decoding, then compat-tests/ with real
# clients against the release binary. One profile (release) serves all of it,
# so the workspace compiles once.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

# kcat comes from Debian: 1.7.1 linking librdkafka 2.0.2, the "old client" the
# compat suite must serve alongside confluent-kafka's bundled librdkafka 2.16.
if ! command -v kcat >/dev/null 2>&1; then
  step "installing kcat"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq kcat >/dev/null
fi

# Node and npm run KafkaJS (compat-tests/js, pinned in its package-lock.json) in compat-tests.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  step "installing nodejs and npm"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

# Headless Chromium and its WebDriver drive the web console in compat-tests/test_console.py.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  step "installing chromium and chromium-driver"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --release -- -D warnings

step "unit and integration tests"
cargo test --workspace --release

step "build the strata binary"
cargo build --release -p strata-broker

if [ -x fuzz/run.sh ]; then
  step "fuzz frame and request decoding (bounded)"
  fuzz/run.sh
fi

step "compat-tests with real clients"
STRATA_BIN="$PWD/target/release/strata" compat-tests/run.sh
