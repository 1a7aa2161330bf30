#!/usr/bin/env bash
# make contract: the API contract test. Schemathesis generates requests from infra/openapi.yaml
# (examples, coverage, fuzzing and stateful phases; valid and invalid inputs) for every route, sends
# them to the local stack (cargo lambda watch, the real paths) and checks every answer against the
# spec: no 5xx, documented status codes, content types, headers and response schemas.
#
# Without EGRESS_API_URL in the environment it starts what it needs like `make test` and stops what
# it started (with-stack.sh --watch); with it (inside with-stack.sh, as test.sh runs it) it uses
# that stack. Prints one summary line (requests sent, by status) and exits non-zero on any failure.
#
# Settings (environment): CONTRACT_MAX_EXAMPLES (per operation and phase, default 1000: about
# 3,000 requests in about a minute),
# CONTRACT_SEED (default 20261127: the same requests every run), CONTRACT_WORKERS (default 1: with
# two, Hypothesis's worker threads can call ast.parse at once, which on CPython 3.11 -- the machine's
# Python -- now and then fails the whole phase with "SystemError: AST constructor recursion depth
# mismatch", CPython issue 106905; the stack behind is one process anyway),
# CONTRACT_MIN_REQUESTS (default 1000: fewer requests sent is a failure too).
# Arguments are passed on to `schemathesis run`.
#
# Principals: POST and GET by id run as a fresh principal (--header X-Egress-Principal), the list
# as another fresh one seeded below with a dozen varied requests; schemathesis.toml says why.
# contract_hooks.py documents the generated cases that are not sent and counts the requests.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "${EGRESS_API_URL:-}" ]]; then
    exec bash "$here/with-stack.sh" --watch bash "$here/contract.sh" "$@"
fi
source "$here/common.sh"

MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-1000}"
SEED="${CONTRACT_SEED:-20261127}"
WORKERS="${CONTRACT_WORKERS:-1}"
MIN_REQUESTS="${CONTRACT_MIN_REQUESTS:-1000}"
base="${EGRESS_API_URL%/}"
work="$LOCAL_DIR/contract"
mkdir -p "$work"
run_id="$(date -u +%Y%m%dT%H%M%S)-$$"
export CONTRACT_WRITER="contract-writer-$run_id"
export CONTRACT_READER="contract-reader-$run_id"
export CONTRACT_STATS="$work/stats.json"
junit="$work/junit.xml"
rm -f "$CONTRACT_STATS" "$junit"
export SCHEMATHESIS_HOOKS="$here/contract_hooks.py"
start=$SECONDS
bash "$here/install.sh" || exit 1 # a no-op when everything is there (schemathesis comes from requirements.txt)

# --- the document itself: valid OpenAPI 3.1, and every example matches its schema --------------
if ! "$VENV/bin/python" "$here/openapi_check.py" "$ROOT/infra/openapi.yaml"; then
    echo "contract: FAIL: infra/openapi.yaml does not pass openapi_check.py"
    exit 1
fi

# --- the reader's requests: every decision and reason the default policy can give this principal,
# IPv4, IPv6 and IDN hosts, ports, a purpose with a newline, a path that needs percent-encoding.
seed_bodies=(
    '{"url": "https://api.github.com/repos/rust-lang/rust?token=dropped#frag", "zone": "default", "purpose": "read release notes"}'
    '{"domain": "pastebin.com", "zone": "default", "purpose": "line one\nline two"}'
    '{"url": "http://0xa9fea9fe/latest/meta-data/", "zone": "default"}'
    '{"url": "http://[::ffff:127.0.0.1]:8080/admin", "zone": "default"}'
    '{"domain": "bücher.de", "zone": "default"}'
    '{"url": "https://tunnel.ngrok.io/", "zone": "default"}'
    '{"url": "https://arxiv.org/abs/1234.5678", "zone": "research"}'
    '{"domain": "example.com", "zone": "no-such-zone"}'
    '{"url": "HTTPS://PyPI.org:443/simple/requests/", "zone": "default"}'
    '{"url": "http://example.com:8080/a/../b/ü%20x", "zone": "default"}'
    '{"domain": "_service.example.com", "zone": "default", "purpose": ""}'
    '{"url": "https://gist.github.com/x", "zone": "default"}'
)
# The approval the approval routes are tested on: opened by the reader, decided by an approver.
approval_body='{"domain": "contract.pastebin.com", "zone": "default"}'
answer="$(curl -s --max-time 30 -X POST "$base/v1/egress/requests" -H 'Content-Type: application/json' \
    -H "X-Egress-Principal: $CONTRACT_READER" --data-binary "$approval_body" || true)"
CONTRACT_APPROVAL="$("$VENV/bin/python" -c 'import json, sys; print(json.loads(sys.argv[1])["approval_id"])' "$answer" 2>/dev/null || true)"
if [[ -z "$CONTRACT_APPROVAL" ]]; then
    log "contract: seeding the approval failed: $answer"
    exit 1
fi
export CONTRACT_APPROVAL
for body in "${seed_bodies[@]}"; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST "$base/v1/egress/requests" \
        -H 'Content-Type: application/json' -H "X-Egress-Principal: $CONTRACT_READER" --data-binary "$body" || true)"
    if [[ "$code" != 201 ]]; then
        log "contract: seeding the reader's requests failed (HTTP $code for $body)"
        exit 1
    fi
done

# --- schemathesis ---------------------------------------------------------------------------
# Checks left out, and why: positive_data_acceptance (a schema-valid url can still be refused, e.g. an
# invalid host: the spec cannot express URL normalization), ignored_auth (locally any
# X-Egress-Principal is a principal and there is no authorizer to reject a bad Authorization),
# unsupported_method and allow_header_conformance (unrouted methods get 404 from API Gateway and
# from watch before the functions, whose 405 is only reachable by direct invocation),
# missing_required_header (no required headers), use_after_free (no DELETE).
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance
checks+=,response_schema_conformance,negative_data_rejection,ensure_resource_availability
status=0
(
    cd "$work" || exit 1
    "$VENV/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$ROOT/infra/openapi.yaml" \
        --url "$base" \
        --header "X-Egress-Principal: $CONTRACT_WRITER" \
        --checks "$checks" \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --generation-database none \
        --workers "$WORKERS" \
        --request-timeout 20 \
        --no-color --output-truncate true \
        --report junit --report-junit-path "$junit" \
        "$@"
) || status=$?

elapsed=$((SECONDS - start))
sent=0
if [[ -f "$CONTRACT_STATS" ]]; then
    sent="$("$VENV/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["requests"])' "$CONTRACT_STATS")"
    summary="$("$VENV/bin/python" - "$CONTRACT_STATS" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
documented = {"POST /v1/egress/requests": "POST", "GET /v1/egress/requests": "GET list",
              "GET /v1/egress/requests/{request_id}": "GET by id",
              "GET /v1/egress/approvals": "GET approvals",
              "GET /v1/egress/approvals/{approval_id}": "GET approval",
              "POST /v1/egress/approvals/{approval_id}/decision": "POST decision"}
ops = [f"{label} {s['by_operation'].get(key, 0)}" for key, label in documented.items()]
other = sum(v for k, v in s["by_operation"].items() if k not in documented)
if other:
    ops.append(f"other methods {other}")
by = ", ".join(f"{k}: {v}" for k, v in s["by_status"].items())
print(f"{s['requests']} requests ({', '.join(ops)}; status {by}), {s['server_errors']} server errors, "
      f"{s['network_errors']} network errors")
EOF
)"
else
    summary="no request statistics (schemathesis did not start?)"
fi
verdict="schemathesis exit $status"
if [[ $status -eq 0 && $sent -lt $MIN_REQUESTS ]]; then
    verdict="only $sent requests sent, fewer than CONTRACT_MIN_REQUESTS=$MIN_REQUESTS"
    status=1
fi
settings="seed $SEED, max-examples $MAX_EXAMPLES, ${elapsed} s"
if [[ $status -eq 0 ]]; then
    echo "contract: PASS: $summary, 0 failures; $settings"
else
    echo "contract: FAIL ($verdict): $summary; $settings; details above and in ${junit#"$ROOT"/}"
fi
exit "$status"
