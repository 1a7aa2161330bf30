#!/usr/bin/env bash
# with-stack.sh [--watch] CMD...: start the local stack (and cargo lambda watch with --watch), run CMD
# with .local/run/stack.env exported, then stop what this run started -- also when a step fails or the
# run is interrupted (what was already running is left alone). Exits with the first failing status.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT" || exit 1

with_watch=0
if [[ "${1:-}" == "--watch" ]]; then
    with_watch=1
    shift
fi
[[ $# -gt 0 ]] || { echo "usage: $0 [--watch] CMD..." >&2; exit 2; }

# Stop only what this run started (the proxy too: the README starts it with `make proxy-up`): a stack
# (or watch, or proxy) that was already up stays up.
started=()
for name in proxy poller watch moto dynamodb; do
    pid_alive "$RUN_DIR/$name.pid" || started+=("$name")
done
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [[ ${#started[@]} -gt 0 ]]; then
        bash "$LOCAL_SCRIPTS_DIR/down.sh" "${started[@]}" || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

status=0
bash "$LOCAL_SCRIPTS_DIR/up.sh" || status=$?
if [[ $status -eq 0 && $with_watch -eq 1 ]]; then
    bash "$LOCAL_SCRIPTS_DIR/watch-up.sh" || status=$?
fi
if [[ $status -eq 0 ]]; then
    (
        set -a
        # shellcheck disable=SC1091 # written by bootstrap.py at run time
        . "$RUN_DIR/stack.env"
        set +a
        exec "$@"
    ) || status=$?
fi
if [[ $status -ne 0 ]]; then
    for f in "$LOG_DIR"/*.log; do
        [[ -f "$f" ]] || continue
        echo "--- last lines of ${f#"$ROOT"/}" >&2
        tail -n 40 "$f" >&2
    done
    echo "run failed (exit $status); full logs in .local/logs/" >&2
fi
exit "$status"
