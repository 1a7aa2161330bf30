#!/usr/bin/env bash
# make local-down: stop exactly what up.sh, `make watch-up` and `make dev` started (by their pid
# files; each was started as its own process group). Idempotent. With arguments, stops only those
# components (proxy, poller, watch, dev-watch, moto, dynamodb).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    names=(proxy poller watch dev-watch moto dynamodb)
fi
for name in "${names[@]}"; do
    stop_bg "$name"
done
log "stopped: ${names[*]}"
