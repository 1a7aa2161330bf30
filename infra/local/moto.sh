#!/usr/bin/env bash
# moto.sh stop|start: take the local EventBridge/SQS/SSM (moto) down and bring it back, for the
# outage tests. moto keeps its state in memory, so start re-creates the bus, rules, queues and
# parameters from template.yaml (bootstrap.py is idempotent and leaves DynamoDB as it is).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
    stop)
        stop_bg moto
        ;;
    start)
        # A fresh moto has the bus a moment before its rules: an event published in between is accepted
        # and matched by nothing, a loss AWS (whose rules persist) never has. Hold the stream poller while
        # moto and its resources come back; let an invocation already under way fail first.
        poller=""
        if pid_alive "$RUN_DIR/poller.pid"; then
            poller="$(cat "$RUN_DIR/poller.pid")"
            kill -STOP "$poller"
            trap 'kill -CONT "$poller" 2>/dev/null || true' EXIT
            sleep 2
        fi
        start_bg moto "$LOG_DIR/moto.log" "$VENV/bin/python" "$LOCAL_SCRIPTS_DIR/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT"
        wait_http "moto" "http://127.0.0.1:$MOTO_PORT/moto-api/" 60 "$RUN_DIR/moto.pid"
        "$VENV/bin/python" "$LOCAL_SCRIPTS_DIR/bootstrap.py"
        if [[ -n "$poller" ]]; then
            kill -CONT "$poller" 2>/dev/null || true
        fi
        ;;
    *)
        echo "usage: $0 stop|start" >&2
        exit 2
        ;;
esac
