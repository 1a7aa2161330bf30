#!/usr/bin/env bash
# make load: local stack + cargo lambda watch, then the write-path load test (tests/src/bin/load.rs:
# 2,000 POSTs at concurrency 50, a fifth of them idempotent replays; checks rows, events, 5xx and
# duplicates, prints a one-line summary and exits 1 when a check fails); stops what it started
# (with-stack.sh). Arguments go to the load binary: --total N --concurrency N --replays F ...
set -uo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
start=$SECONDS
bash "$here/with-stack.sh" --watch cargo run --quiet -p egress-e2e --bin load -- "$@"
status=$?
printf '[local] make load: %d s in all (stack start, build, load, checks, stop), exit %d\n' \
    "$((SECONDS - start))" "$status" >&2
exit "$status"
