#!/usr/bin/env bash
# make lint: the proxy's squid.conf, rendered by the entrypoint exactly as it runs, must parse
# (`squid -k parse`), with the internal list the helper generates. Nothing is started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The workspace's binaries, as `make test` builds them: one feature set, so nothing is built twice.
cargo build -q --workspace --bins
run_dir="$(mktemp -d)"
trap 'rm -rf "$run_dir"' EXIT
EGRESS_GATEWAY_URL="http://127.0.0.1:9" AWS_REGION=us-east-1 EGRESS_KILL_SWITCH_PARAMETER=/lint/kill-switch \
    EGRESS_PROXY_RUN_DIR="$run_dir" EGRESS_PROXY_HELPER="$root/target/debug/egress-squid-helper" \
    bash "$root/infra/proxy/entrypoint.sh" --check
# Squid parses with warnings it then acts on (a dst entry inside another drops the larger one): none,
# but the one `via off` (hardening, DESIGN §12) always gives.
if grep -E "WARNING|ERROR|FATAL" "$run_dir/parse.log" | grep -v "HTTP requires the use of Via"; then
    echo "squid -k parse warned about the rendered squid.conf (above)" >&2
    exit 1
fi
