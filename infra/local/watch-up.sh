#!/usr/bin/env bash
# make watch-up: `cargo lambda watch` in the background (pid file + .local/logs/watch.log) on
# LAMBDA_PORT, after building the functions so that no invocation waits for a compile; waits until
# it answers and invokes each function once. Needs `make local-up` first (for .local/run/watch.env).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

WATCH_START_TIMEOUT="${WATCH_START_TIMEOUT:-120}"
WATCH_WARM_TIMEOUT="${WATCH_WARM_TIMEOUT:-120}"

if pid_alive "$RUN_DIR/watch.pid"; then
    log "cargo lambda watch already running (pid $(cat "$RUN_DIR/watch.pid"))"
    exit 0
fi
if pid_alive "$RUN_DIR/dev-watch.pid"; then
    log "make dev's cargo lambda watch is running (pid $(cat "$RUN_DIR/dev-watch.pid")); using it"
    exit 0
fi
if port_in_use "$LAMBDA_PORT"; then
    log "port $LAMBDA_PORT is already in use by another process; set LAMBDA_PORT=<free port>"
    exit 1
fi
[[ -f "$RUN_DIR/watch.env" ]] || { log "no .local/run/watch.env: run make local-up first"; exit 1; }

log "building the functions"
cargo build --workspace --bins

# --ignore-changes: the tests must not race a rebuild. No --timeout: in cargo-lambda 1.9 it also
# ends idle functions' long poll for the next event and lambda_runtime then panics.
start_bg watch "$LOG_DIR/watch.log" \
    cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
    --env-file "$RUN_DIR/watch.env" --ignore-changes
base="http://127.0.0.1:$LAMBDA_PORT"
wait_http "cargo lambda watch" "$base/" "$WATCH_START_TIMEOUT" "$RUN_DIR/watch.pid"

warm() {
    local what="$1" code
    shift
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time "$WATCH_WARM_TIMEOUT" "$@" || true)"
    log "warm-up: $what answered HTTP $code"
}
warm "create-request (POST /v1/egress/requests, no principal)" \
    -X POST -H 'Content-Type: application/json' -d '{}' "$base/v1/egress/requests"
warm "list-requests (GET /v1/egress/requests, no principal)" "$base/v1/egress/requests"
warm "publish-events (Invoke, no records)" \
    -H 'Content-Type: application/json' -d '{"Records":[]}' "$base/2015-03-31/functions/publish-events/invocations"
warm "approvals (GET /v1/egress/approvals, no principal)" "$base/v1/egress/approvals"
warm "proxy-tokens (GET /v1/egress/proxy-keys, no principal)" "$base/v1/egress/proxy-keys"
