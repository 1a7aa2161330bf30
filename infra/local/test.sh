#!/usr/bin/env bash
# make test: local stack + cargo lambda watch, then `cargo test --workspace --no-fail-fast` (or
# `cargo test <arguments>` when arguments are given); stops what it started (with-stack.sh).
set -uo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
if [[ $# -gt 0 ]]; then
    exec bash "$here/with-stack.sh" --watch cargo test "$@"
fi
# --no-fail-fast: one failing test binary must not hide the others' results
exec bash "$here/with-stack.sh" --watch cargo test --workspace --no-fail-fast
