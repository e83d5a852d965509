#!/usr/bin/env bash
# Starts or stops a throwaway redis-server on loopback for the demo and the integration tests:
# no persistence (--save '' --appendonly no), its own directory, never the system instance.
#
#   scripts/redis-server.sh start DIR [PORT]   # prints the port; PORT defaults to a free one
#   scripts/redis-server.sh stop DIR
set -euo pipefail

usage() { echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1 dir=$2

case "$action" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
        echo "redis-server.sh: already running (pid $(cat "$dir/redis.pid")) in $dir" >&2
        exit 1
    fi
    port=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    for _ in $(seq 1 100); do
        if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
            echo "$port" > "$dir/redis.port"
            echo "$port"
            exit 0
        fi
        sleep 0.05
    done
    echo "redis-server.sh: redis-server on port $port did not answer PING (see $dir/redis.log)" >&2
    exit 1
    ;;
stop)
    [ -f "$dir/redis.pid" ] || exit 0
    pid=$(cat "$dir/redis.pid")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    rm -f "$dir/redis.pid" "$dir/redis.port"
    ;;
*)
    usage
    ;;
esac
