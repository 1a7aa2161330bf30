#!/usr/bin/env bash
# make local-down: stop exactly what up.sh, `make watch-up` and `make dev` started (by their pid
# files; each was started as its own process group). Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

for name in poller watch dev-watch moto dynamodb; do
    stop_bg "$name"
done
log "local stack down"
