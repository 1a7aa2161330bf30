#!/usr/bin/env bash
# The enforcing proxy's entrypoint (DESIGN §12): the container image, `make proxy` and the end-to-end
# tests all start Squid through this script, with infra/proxy/squid.conf. It renders the configuration
# into a run directory, generates the internal address list from the helper (the library's special
# ranges), starts the kill-switch watch, then runs Squid in the foreground and stops the watch with it.
#
# Environment (required): EGRESS_GATEWAY_URL, AWS_REGION, EGRESS_KILL_SWITCH_PARAMETER, and AWS
# credentials for the proxy's role (the task role in AWS).
# Optional: EGRESS_PROXY_LISTEN (default 0.0.0.0:3128), EGRESS_PROXY_RUN_DIR (/run/egress-proxy),
# EGRESS_PROXY_HELPER (the egress-squid-helper binary; default: on PATH), EGRESS_PROXY_DNS (nameservers
# the DNS filter asks instead of /etc/resolv.conf's), EGRESS_PROXY_DNS_LISTEN (127.0.0.2, the filter's
# loopback address that Squid asks), EGRESS_PROXY_ACCESS_LOG (default stdio:/dev/stdout),
# EGRESS_PROXY_CACHE_LOG (default stderr), EGRESS_PROXY_CUT_TUNNELS (1: the kill switch also closes
# open tunnels with ss -K; restart: it stops the proxy; 0 or unset: neither), EGRESS_PROXY_ACL_CHILDREN
# (4), EGRESS_PROXY_ACL_QUEUE (200), EGRESS_PROXY_TUNNEL_PORT (3129, the loopback port of the tunnel
# leg), EGRESS_PROXY_GATEWAY_HOSTS (the host names of the gateway's own API, reached without a token),
# EGRESS_GATEWAY_DEV_PRINCIPAL (local stack only). Test only: EGRESS_PROXY_RANGES_EXCLUDE, CIDRs taken
# out of the internal list (the local tests' origin lives in 198.18.0.0/15); it is printed loudly, and
# never set in the image.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf_template="$here/squid.conf"
errors_src="$here/errors"

run_dir="${EGRESS_PROXY_RUN_DIR:-/run/egress-proxy}"
listen="${EGRESS_PROXY_LISTEN:-0.0.0.0:3128}"
tunnel_port="${EGRESS_PROXY_TUNNEL_PORT:-3129}"
# The DNS filter Squid asks (port 53 on a loopback address: dns_nameservers takes addresses only).
dns_filter="${EGRESS_PROXY_DNS_LISTEN:-127.0.0.2}"
# The key that proves a CONNECT on the tunnel leg came from the agents' leg (DESIGN §12): new at each
# start, in the rendered configuration (readable by Squid's user only) and Squid's environment.
tunnel_key="$(openssl rand -hex 32)"
helper="${EGRESS_PROXY_HELPER:-$(command -v egress-squid-helper || true)}"
[[ -x "$helper" ]] || { echo "entrypoint: egress-squid-helper not found (EGRESS_PROXY_HELPER)" >&2; exit 1; }
: "${EGRESS_GATEWAY_URL:?}" "${AWS_REGION:?}" "${EGRESS_KILL_SWITCH_PARAMETER:?}"
squid_user="$(id -un proxy 2>/dev/null || echo nobody)"

mkdir -p "$run_dir/state"
rm -f "$run_dir/ready"
# Squid's helpers run as its unprivileged user: the helper, the lists and the templates must be theirs
# to read, and the state directory theirs to read only (watch, running as root, writes it).
install -m 0755 "$helper" "$run_dir/egress-squid-helper"
rm -rf "$run_dir/errors"
cp -r /usr/share/squid/errors/templates "$run_dir/errors"
cp "$errors_src"/ERR_* "$run_dir/errors/"

"$helper" ranges > "$run_dir/internal-ranges.txt.all"
if [[ -n "${EGRESS_PROXY_RANGES_EXCLUDE:-}" ]]; then
    echo "entrypoint: TEST OVERRIDE: taken out of the internal list: $EGRESS_PROXY_RANGES_EXCLUDE" >&2
    # shellcheck disable=SC2020 # each of space and comma becomes a newline, as meant
    grep -v -x -F -f <(tr ' ,' '\n\n' <<<"$EGRESS_PROXY_RANGES_EXCLUDE" | sed '/^$/d') \
        "$run_dir/internal-ranges.txt.all" > "$run_dir/internal-ranges.txt" || true
else
    cp "$run_dir/internal-ranges.txt.all" "$run_dir/internal-ranges.txt"
fi
rm -f "$run_dir/internal-ranges.txt.all"

# The proxy's one exception (squid.conf): CONNECT to the gateway's own API on 443 needs no token, since
# agents mint theirs there. Its hosts are EGRESS_PROXY_GATEWAY_HOSTS exactly (comma or space separated;
# the template sets the API's host, and the function URL hosts for callers in other accounts): unset, the
# exception is closed. Host names only: an address here would be a door to whatever answers on it.
# Split on blanks and commas, with no pathname expansion (read, not an unquoted expansion); the empty
# fields ", ," leaves are skipped below.
IFS=$' \t,' read -r -a gateway_hosts <<<"${EGRESS_PROXY_GATEWAY_HOSTS:-}"
: > "$run_dir/gateway-hosts.txt"
for host in "${gateway_hosts[@]}"; do
    [[ -n "$host" ]] || continue
    host="${host,,}"
    if ! [[ "$host" =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ ]]; then
        echo "entrypoint: not a host name, in the gateway's hosts: $host" >&2
        exit 1
    fi
    echo "$host" >> "$run_dir/gateway-hosts.txt"
done
# None: a name that never resolves (RFC 6761 .invalid), since Squid warns about an empty list.
[[ -s "$run_dir/gateway-hosts.txt" ]] || echo "no-gateway-host.invalid" > "$run_dir/gateway-hosts.txt"

# The tunnel leg's certificate (squid.conf): self-signed, made fresh at each start, trusted by nobody.
# Squid requires one on a port that peeks; peek and splice never present it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=egress-proxy tunnel leg" \
    -keyout "$run_dir/tunnel-leg.pem" -out "$run_dir/tunnel-leg.crt" 2>/dev/null
cat "$run_dir/tunnel-leg.crt" >> "$run_dir/tunnel-leg.pem"
rm -f "$run_dir/tunnel-leg.crt"
chmod 0600 "$run_dir/tunnel-leg.pem"

sed -e "s|@LISTEN@|$listen|g" \
    -e "s|@RUN_DIR@|$run_dir|g" \
    -e "s|@CACHE_LOG@|${EGRESS_PROXY_CACHE_LOG:-stdio:/dev/stderr}|g" \
    -e "s|@ACCESS_LOG@|${EGRESS_PROXY_ACCESS_LOG:-stdio:/dev/stdout}|g" \
    -e "s|@DNS_FILTER@|$dns_filter|g" \
    -e "s|@ACL_CHILDREN@|${EGRESS_PROXY_ACL_CHILDREN:-4}|g" \
    -e "s|@ACL_QUEUE@|${EGRESS_PROXY_ACL_QUEUE:-200}|g" \
    -e "s|@TUNNEL_PORT@|$tunnel_port|g" \
    -e "s|@TUNNEL_KEY@|$tunnel_key|g" \
    "$conf_template" > "$run_dir/squid.conf"
if grep -q "@[A-Z_]*@" "$run_dir/squid.conf"; then
    echo "entrypoint: unfilled placeholders in squid.conf" >&2
    exit 1
fi
chown -R "$squid_user" "$run_dir"
chmod 0600 "$run_dir/squid.conf"
chown root "$run_dir/state"
chmod 0755 "$run_dir/state"

export EGRESS_PROXY_STATE_DIR="$run_dir/state"
export EGRESS_PROXY_PORT="${listen##*:}"
squid -k parse -f "$run_dir/squid.conf" 2> "$run_dir/parse.log" || { cat "$run_dir/parse.log" >&2; exit 1; }
[[ "${1:-}" == "--check" ]] && { echo "entrypoint: $run_dir/squid.conf parses"; exit 0; }

watch_pid="" dns_pid="" squid_pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
stop() {
    # Every step may find its process gone already; none may stop the others (set -e).
    for pid in "$squid_pid" "$watch_pid" "$dns_pid"; do
        if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
    done
    wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 143' TERM INT

"$run_dir/egress-squid-helper" watch &
watch_pid=$!
# The DNS filter runs as root (port 53) and reads the list Squid enforces. It asks EGRESS_PROXY_DNS, or
# the nameservers of /etc/resolv.conf.
EGRESS_PROXY_DNS_LISTEN="$dns_filter" EGRESS_PROXY_RANGES_FILE="$run_dir/internal-ranges.txt" \
    "$run_dir/egress-squid-helper" dns &
dns_pid=$!
# The first state before the first connection: without it every decision is refused. The filter
# listening before Squid's first lookup: without it every lookup fails (a refusal, but a useless proxy).
for _ in $(seq 50); do
    [[ -s "$run_dir/state/kill-switch" ]] && ss -Hlun "src $dns_filter:53" | grep -q . && break
    sleep 0.1
done
kill -0 "$dns_pid" 2>/dev/null || { echo "entrypoint: the DNS filter did not start" >&2; exit 1; }
# Squid and its helpers (admit) get the tunnel key from the environment as well as the configuration.
EGRESS_PROXY_TUNNEL_KEY="$tunnel_key" squid -N -f "$run_dir/squid.conf" &
squid_pid=$!
echo "$$" > "$run_dir/entrypoint.pid"

# Ready when the agents' leg sees the tunnel leg up. Squid probes a peer once when it configures it,
# which can be before the tunnel leg listens; until a later probe succeeds every CONNECT is refused
# (500, no path). Asking for the peer list makes Squid probe again; this waits for "Up" and then writes
# `ready` (the container's health check). Not up within 30 s: stop, so the orchestrator replaces us.
peer_status() {
    local reply
    exec 3<>"/dev/tcp/127.0.0.1/$tunnel_port" || return 1
    printf 'GET /squid-internal-mgr/server_list HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$tunnel_port" >&3
    reply="$(timeout 2 cat <&3 || true)"
    exec 3<&-
    grep -q "^Status *: Up" <<<"$reply"
}
deadline=$((SECONDS + 30))
while (( SECONDS < deadline )); do
    if peer_status 2>/dev/null; then
        touch "$run_dir/ready"
        echo "entrypoint: ready (the tunnel leg is up)" >&2
        break
    fi
    kill -0 "$squid_pid" 2>/dev/null || break
    sleep 0.2
done
[[ -f "$run_dir/ready" ]] || { echo "entrypoint: the tunnel leg never came up" >&2; exit 1; }
# Squid, watch and the DNS filter live and die together: when any one ends, the others are stopped
# (trap) and the entrypoint exits with its status, so the orchestrator replaces the whole proxy.
set +e
wait -n "$squid_pid" "$watch_pid" "$dns_pid"
status=$?
echo "entrypoint: a process of the proxy ended (status $status): stopping" >&2
rm -f "$run_dir/ready"
exit "$status"
