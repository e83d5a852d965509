#!/usr/bin/env bash
# A throwaway redis-server for MailTrail's tests, on 127.0.0.1 only and on a Unix socket
# (DIR/redis.sock unless --socket says where; mode 700), its files under DIR.
#
#   redis-instance.sh start DIR PORT [--aof] [--socket PATH]
#                                              start and wait until it answers PING
#   redis-instance.sh stop DIR [PORT]          stop by the PID in DIR/redis.pid; safe to repeat
#   redis-instance.sh status DIR               exit 0 when it runs
#
# No persistence by default (no RDB snapshots, no AOF); --aof keeps an append-only file in DIR
# (for tests that restart Redis and expect the data back). Log: DIR/redis.log.
set -euo pipefail

WAIT_SECONDS=10

die() { echo "redis-instance: $*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

# redis_pid: the PID from DIR/redis.pid when that process is a redis-server.
redis_pid() {
    [ -r "$DIR/redis.pid" ] || return 1
    local pid
    pid="$(tr -d ' \n' < "$DIR/redis.pid")"
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "redis-server" ] || return 1
    local stat
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [ "${stat%% *}" != Z ] || return 1     # a zombie has exited
    echo "$pid"
}

wait_for() {
    local what="$1"; shift
    local tries=$((WAIT_SECONDS * 10))
    while ! "$@"; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || { echo "redis-instance: timed out after ${WAIT_SECONDS}s waiting for $what" >&2; return 1; }
        sleep 0.1
    done
}

not() { ! "$@"; }

answers() { [ "$(redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning PING 2>/dev/null)" = "PONG" ]; }

cmd_start() {
    local port="${1:-}"; shift || true
    case "$port" in ''|*[!0-9]*) die "PORT must be a number";; esac
    local aof=no socket="$DIR/redis.sock"
    while [ $# -gt 0 ]; do
        case "$1" in
            --aof) aof=yes; shift;;
            --socket) [ $# -ge 2 ] || die "--socket needs a path"; socket="$2"; shift 2;;
            *) die "unknown option '$1'";;
        esac
    done
    redis_pid >/dev/null && die "a redis-server already runs for $DIR"
    ss -Hltn "sport = :$port" | grep -q . && die "port $port is already in use"
    mkdir -p "$DIR"
    rm -f "$DIR/redis.pid"
    redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
        --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" \
        --dir "$DIR" --save "" --appendonly "$aof" --appendfsync everysec \
        --databases 16 --unixsocket "$socket" --unixsocketperm 700 >/dev/null \
        || die "redis-server failed to start (see $DIR/redis.log)"
    wait_for "redis-server on 127.0.0.1:$port" answers "$port" \
        || die "redis-server does not answer (see $DIR/redis.log)"
    wait_for "$DIR/redis.pid" redis_pid >/dev/null || die "no pid file in $DIR"
    echo "$port" > "$DIR/redis.port"
    echo "redis-instance: running in $DIR: 127.0.0.1:$port, pid $(redis_pid)"
}

cmd_stop() {
    local pid
    if pid="$(redis_pid)"; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_for "redis-server $pid to exit" not redis_pid >/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            wait_for "redis-server $pid to die" not redis_pid >/dev/null || die "cannot stop redis-server $pid"
        fi
    fi
    rm -f "$DIR/redis.pid" "$DIR/redis.port"
}

cmd_status() {
    local pid
    pid="$(redis_pid)" || { echo "redis-server: not running"; return 3; }
    echo "redis-server: $pid on 127.0.0.1:$(cat "$DIR/redis.port" 2>/dev/null || echo '?')"
}

[ $# -ge 2 ] || usage
command="$1"
DIR="$(realpath -m -- "$2")"
shift 2
case "$command" in
    start) cmd_start "$@";;
    stop) [ $# -le 1 ] || usage; cmd_stop;;   # a PORT argument is accepted and ignored
    status) [ $# -le 1 ] || usage; cmd_status;;
    *) usage;;
esac
