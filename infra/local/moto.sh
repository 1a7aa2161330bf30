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
        start_bg moto "$LOG_DIR/moto.log" "$VENV/bin/python" "$LOCAL_SCRIPTS_DIR/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT"
        wait_http "moto" "http://127.0.0.1:$MOTO_PORT/moto-api/" 60 "$RUN_DIR/moto.pid"
        "$VENV/bin/python" "$LOCAL_SCRIPTS_DIR/bootstrap.py"
        ;;
    *)
        echo "usage: $0 stop|start" >&2
        exit 2
        ;;
esac
