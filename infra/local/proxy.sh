#!/usr/bin/env bash
# make proxy: the enforcing proxy against the local stack, in the foreground (Ctrl-C stops it): Squid from
# the Debian package on 127.0.0.1:$PROXY_PORT, started by infra/proxy/entrypoint.sh (the same script
# and squid.conf as the container image and the end-to-end tests), asking `cargo lambda watch` as the
# example policy's enforcer. `make proxy-up` starts it in the background (make local-down stops it).
# Needs the local stack and watch (make dev in another terminal, or make watch-up); run as root (Squid
# drops to its own user).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
[[ -f "$RUN_DIR/stack.env" ]] || { log "no local stack: make local-up watch-up (or make dev) first"; exit 1; }
set -a
# shellcheck disable=SC1091 # written by bootstrap.py at run time
. "$RUN_DIR/stack.env"
set +a
# The workspace's binaries, as make dev and make test build them (one feature set: no second build).
cargo build -q --workspace --bins
export EGRESS_GATEWAY_URL="$EGRESS_LAMBDA_URL"
export EGRESS_GATEWAY_DEV_PRINCIPAL="arn:aws:iam::000000000000:role/egress-proxy"
export EGRESS_PROXY_LISTEN="127.0.0.1:${PROXY_PORT}"
export EGRESS_PROXY_RUN_DIR="$LOCAL_DIR/proxy"
export EGRESS_PROXY_HELPER="$ROOT/target/debug/egress-squid-helper"
# Squid writes its logs as its own user: they live in the run directory the entrypoint gives it.
export EGRESS_PROXY_ACCESS_LOG="stdio:$EGRESS_PROXY_RUN_DIR/access.log"
export EGRESS_PROXY_CACHE_LOG="$EGRESS_PROXY_RUN_DIR/cache.log"
mkdir -p "$LOG_DIR"
# A ready file from an earlier run must not answer for this one.
rm -f "$EGRESS_PROXY_RUN_DIR/ready"
if [[ "${1:-}" == "--background" ]]; then
    start_bg proxy "$LOG_DIR/proxy.log" bash infra/proxy/entrypoint.sh
    for _ in $(seq 300); do
        if [[ -f "$EGRESS_PROXY_RUN_DIR/ready" ]]; then
            log "proxy: http://127.0.0.1:$PROXY_PORT (access log: .local/proxy/access.log)"
            exit 0
        fi
        sleep 0.1
    done
    log "the proxy did not start; see .local/logs/proxy.log"
    tail -n 20 "$LOG_DIR/proxy.log" >&2
    exit 1
fi
log "proxy: http://127.0.0.1:$PROXY_PORT (access log: .local/proxy/access.log)"
exec bash infra/proxy/entrypoint.sh
