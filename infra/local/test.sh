#!/usr/bin/env bash
# make test: local stack + cargo lambda watch, then `cargo test --workspace --no-fail-fast` and the
# API contract test (contract.sh: Schemathesis against infra/openapi.yaml) on the same stack; stops
# what it started (with-stack.sh). With arguments, only `cargo test <arguments>`.
# Exit status: the tests' when they fail, otherwise the contract test's. The contract test runs
# even when a test failed, so one run reports both.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -gt 0 ]]; then
    exec bash "$here/with-stack.sh" --watch cargo test "$@"
fi
# --no-fail-fast: one failing test binary must not hide the others' results
# shellcheck disable=SC2016 # expanded by the inner shell
exec bash "$here/with-stack.sh" --watch bash -c '
    cargo test --workspace --no-fail-fast
    tests=$?
    bash "$1"
    contract=$?
    if [[ $tests -ne 0 ]]; then
        echo "make test: cargo test failed (exit $tests); contract test exit $contract" >&2
        exit "$tests"
    fi
    exit "$contract"
' test.sh "$here/contract.sh"
