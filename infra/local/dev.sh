#!/usr/bin/env bash
# make dev: the local stack (up.sh), then `cargo lambda watch` in the foreground with reload on change.
# Its pid is recorded so local-down can stop it too.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
bash "$LOCAL_SCRIPTS_DIR/up.sh"
cargo build --workspace --bins
log "API: curl -H 'X-Egress-Principal: alice' http://127.0.0.1:$LAMBDA_PORT/v1/egress/requests"
echo $$ > "$RUN_DIR/dev-watch.pid"
exec cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" --env-file "$RUN_DIR/watch.env"
