# shellcheck shell=bash
# Shared settings for the local stack scripts. Source it; do not run it.
LOCAL_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$LOCAL_SCRIPTS_DIR/../.." && pwd)"
LOCAL_DIR="$ROOT/.local"
VENV="$LOCAL_DIR/venv"
# shellcheck disable=SC2034 # used by the scripts that source this file
NODE_PREFIX="$LOCAL_DIR/node"
RUN_DIR="$LOCAL_DIR/run"
LOG_DIR="$LOCAL_DIR/logs"

# Ports, region, dummy credentials, cursor key: infra/local/local.env, unless the environment sets them.
while IFS='=' read -r key value; do
    [[ "$key" =~ ^[A-Z][A-Z0-9_]*$ ]] || continue
    [[ -n "${!key:-}" ]] || export "$key=$value"
done < "$LOCAL_SCRIPTS_DIR/local.env"

export PATH="$VENV/bin:$PATH"

log() { printf '[local] %s\n' "$*" >&2; }

# pid_alive FILE: true when FILE names a live process.
pid_alive() {
    local f="$1" pid
    [[ -s "$f" ]] || return 1
    pid="$(cat "$f")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null
}

# start_bg NAME LOGFILE CMD...: start CMD in its own session (so it leads a process group
# that stop_bg can kill as a whole) unless NAME's pid file names a live process.
start_bg() {
    local name="$1" logfile="$2"; shift 2
    local pidfile="$RUN_DIR/$name.pid"
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    if pid_alive "$pidfile"; then
        log "$name already running (pid $(cat "$pidfile"))"
        return 0
    fi
    log "starting $name (log: ${logfile#"$ROOT"/})"
    setsid "$@" >>"$logfile" 2>&1 < /dev/null &
    echo $! > "$pidfile"
}

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# descendants PID: every descendant process id of PID (children first level, then theirs).
descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

# any_alive PID...: true while one of the PIDs still runs (zombies count as gone).
any_alive() {
    local p state
    for p in "$@"; do
        state="$(ps -o stat= -p "$p" 2>/dev/null || true)"
        if [[ -n "$state" && "$state" != Z* ]]; then return 0; fi
    done
    return 1
}

# stop_bg NAME: stop what NAME's pid file names: its process group when it leads one (start_bg
# makes it so) and, in any case, the process and all its descendants. TERM, then KILL after 10 s.
stop_bg() {
    local name="$1" pidfile="$RUN_DIR/$1.pid" pid pgid pids i
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
        # shellcheck disable=SC2207 # pids are plain numbers
        pids=("$pid" $(descendants "$pid"))
        log "stopping $name (pid $pid${pgid:+, pgid $pgid})"
        if [[ "$pgid" == "$pid" ]]; then
            # shellcheck disable=SC2207 # pids are plain numbers
            pids+=($(ps -o pid= -g "$pid" 2>/dev/null || true))
            kill -TERM -- "-$pid" 2>/dev/null || true
        fi
        kill -TERM "${pids[@]}" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            any_alive "${pids[@]}" || break
            sleep 0.2
        done
        if any_alive "${pids[@]}"; then
            log "$name did not stop on TERM; sending KILL"
            [[ "$pgid" == "$pid" ]] && kill -KILL -- "-$pid" 2>/dev/null
            kill -KILL "${pids[@]}" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

# wait_http NAME URL SECONDS [PIDFILE]: poll URL until it answers any HTTP status.
wait_http() {
    local name="$1" url="$2" secs="$3" pidfile="${4:-}" i
    for ((i = 0; i < secs * 5; i++)); do
        if curl -s -o /dev/null --max-time 2 "$url"; then
            log "$name answers at $url"
            return 0
        fi
        if [[ -n "$pidfile" ]] && ! pid_alive "$pidfile"; then
            log "$name exited before answering; see its log"
            return 1
        fi
        sleep 0.2
    done
    log "$name did not answer at $url within ${secs}s"
    return 1
}
