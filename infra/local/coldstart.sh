#!/usr/bin/env bash
# make coldstart: exec-to-first-event of each function under cargo-lambda's runtime emulator
# (benches/src/bin/coldstart.rs). Builds the release binaries (the shipping profile, for this machine's
# architecture), starts `cargo lambda watch --only-lambda-apis` on COLDSTART_PORT, runs the harness and
# stops the emulator. Needs no other service. Arguments go to the harness: --runs N.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

COLDSTART_PORT="${COLDSTART_PORT:-9300}"
if port_in_use "$COLDSTART_PORT"; then
    log "port $COLDSTART_PORT is already in use; set COLDSTART_PORT=<free port>"
    exit 1
fi
bash "$LOCAL_SCRIPTS_DIR/install.sh"

log "building the release binaries (fat LTO: several minutes from cold)"
cargo build --release --bin create-request --bin list-requests --bin publish-events --bin noop-function \
    --bin coldstart
bin_dir="${CARGO_TARGET_DIR:-$ROOT/target}/release"

mkdir -p "$RUN_DIR" "$LOG_DIR"
setsid cargo lambda watch --only-lambda-apis --invoke-address 127.0.0.1 --invoke-port "$COLDSTART_PORT" \
    >"$LOG_DIR/coldstart-emulator.log" 2>&1 </dev/null &
emulator=$!
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { kill -- "-$emulator" 2>/dev/null || kill "$emulator" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 150); do
    port_in_use "$COLDSTART_PORT" && break
    kill -0 "$emulator" 2>/dev/null || { log "the emulator exited; see .local/logs/coldstart-emulator.log"; exit 1; }
    sleep 0.2
done
"$bin_dir/coldstart" --emulator "127.0.0.1:$COLDSTART_PORT" --bin-dir "$bin_dir" "$@"
