#!/usr/bin/env bash
# Fuzzes strata-wire's decoders and strata-governance's SASL exchanges and
# client-certificate principals (tls_principal) for a bounded time; exits
# non-zero on a crash.
#
#   fuzz/run.sh                      # every target, 30 s each
#   FUZZ_SECONDS=300 fuzz/run.sh     # longer
#   fuzz/run.sh record_batches       # one target
#   FUZZ_ARGS="-fork=1 -ignore_crashes=1 -ignore_ooms=1" fuzz/run.sh
#                                    # keep going past known crashes
#
# Works on the stable toolchain: cargo-fuzz passes nightly-only flags
# (-Zsanitizer, -Cpasses=sancov-module, ...), which RUSTC_BOOTSTRAP=1 lets
# stable rustc accept. FUZZ_SANITIZER picks the sanitizer (default address;
# "none" builds faster and runs ~2x quicker, and wire/ has no unsafe code).
#
# Crashes land in fuzz/artifacts/<target>/; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> -O -a fuzz/artifacts/<target>/crash-...
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$FUZZ_DIR"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"
SANITIZER="${FUZZ_SANITIZER:-address}"
BUILD_TIMEOUT="${FUZZ_BUILD_TIMEOUT:-1200}"
# Extra libFuzzer flags, split on spaces.
read -r -a EXTRA_ARGS <<<"${FUZZ_ARGS:-}"
ALL_TARGETS=(frame_and_request record_batches records sasl tls_principal)
if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=("${ALL_TARGETS[@]}")
fi

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$FUZZ_DIR/target"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    timeout 900 cargo install cargo-fuzz --locked
fi

# -O: optimised; -a: debug assertions and overflow checks on, so arithmetic
# overflow on hostile input is a crash here even though release builds wrap
# (FUZZ_DEBUG_ASSERTIONS=0 turns that off).
FLAGS=(-O --sanitizer "$SANITIZER")
if [ "${FUZZ_DEBUG_ASSERTIONS:-1}" != 0 ]; then
    FLAGS+=(-a)
fi

echo "run.sh: building ${TARGETS[*]} (sanitizer $SANITIZER)" >&2
for target in "${TARGETS[@]}"; do
    timeout "$BUILD_TIMEOUT" cargo fuzz build "${FLAGS[@]}" "$target"
done

failed=()
for target in "${TARGETS[@]}"; do
    corpus="$FUZZ_DIR/corpus/$target"
    mkdir -p "$corpus" "$FUZZ_DIR/artifacts/$target"
    seed_dir="$FUZZ_DIR/seeds/$target"
    if [ "$target" = records ]; then
        seed_dir="$FUZZ_DIR/seeds/record_batches"
    fi
    cp -n "$seed_dir"/*.bin "$corpus"/ 2>/dev/null || true
    echo "run.sh: fuzzing $target for ${SECONDS_PER_TARGET}s" >&2
    # The libFuzzer bound is the real one; timeout only catches a hang in
    # libFuzzer itself (it exits 124 and counts as a failure).
    if ! timeout "$((SECONDS_PER_TARGET + 120))" \
        cargo fuzz run "${FLAGS[@]}" "$target" "$corpus" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 "${EXTRA_ARGS[@]}"; then
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "run.sh: crash or failure in: ${failed[*]} (see fuzz/artifacts/)" >&2
    exit 1
fi
echo "run.sh: no crash in ${TARGETS[*]} (${SECONDS_PER_TARGET}s each)" >&2
