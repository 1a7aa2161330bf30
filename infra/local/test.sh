#!/usr/bin/env bash
# make test: the local stack's own unit tests (infra/local/tests: no services), then local stack +
# cargo lambda watch, `cargo test --workspace --no-fail-fast` and the API contract test (contract.sh:
# Schemathesis against infra/openapi.yaml) on the same stack; stops what it started (with-stack.sh).
# With arguments, only `cargo test <arguments>`.
# Exit status: the cargo tests' when they fail, otherwise the contract test's when it fails,
# otherwise the unit tests'. Every step runs even when an earlier one failed, so one run reports all.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -gt 0 ]]; then
    exec bash "$here/with-stack.sh" --watch cargo test "$@"
fi
source "$here/common.sh"

# the unit tests need the venv, which up.sh would install only later
bash "$here/install.sh" || exit
log "infra/local unit tests"
"$VENV/bin/python" -m unittest discover -s "$here/tests" -t "$here"
unit=$?

# --no-fail-fast: one failing test binary must not hide the others' results. The cargo output is kept
# in .local/logs/cargo-test.log so that the verdict printed last (after with-stack.sh's log tails, which
# is what a CI log's tail shows) can name the failing tests.
cargo_log="$LOG_DIR/cargo-test.log"
mkdir -p "$LOG_DIR"
: > "$cargo_log"
# shellcheck disable=SC2016 # expanded by the inner shell
bash "$here/with-stack.sh" --watch bash -c '
    cargo test --workspace --no-fail-fast 2>&1 | tee "$3"
    tests=${PIPESTATUS[0]}
    bash "$1" 2>&1 | tee -a "$3"
    contract=${PIPESTATUS[0]}
    echo "make test: cargo test exit $tests, contract test exit $contract, infra/local unit tests exit $2" \
        | tee -a "$3" >&2
    for status in "$tests" "$contract" "$2"; do
        [[ $status -ne 0 ]] && exit "$status"
    done
    exit 0
' test.sh "$here/contract.sh" "$unit" "$cargo_log"
status=$?
if [[ $status -ne 0 ]]; then
    {
        echo "=== make test failed (exit $status); the failing tests (full output: ${cargo_log#"$ROOT"/}):"
        grep -E -A 3 -e "panicked at" "$cargo_log" | tail -n 80 || true
        grep -E -e "^test .* FAILED$" -e "^error: [0-9]+ targets? failed" -e "^    \`-p " "$cargo_log" || true
        # Schemathesis heads each failure or error with "___ METHOD /path ___" and the kind on the next lines.
        grep -E -A 3 "^_{3,} [A-Z]+ /.* _{3,}$" "$cargo_log" | cut -c1-300 | tail -n 40 || true
        grep -E "^(contract|make test): " "$cargo_log" || true
    } >&2
fi
exit "$status"
