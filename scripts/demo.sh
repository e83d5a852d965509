#!/usr/bin/env bash
# `make demo`: the whole chain on 127.0.0.1 — Redis, a throwaway Postfix with the milter,
# the tracker — one real newsletter sent through Postfix, its pixel and a link fetched the
# way a mail client would, and the events and statistics that produced. Stops everything it
# started (by PID) when it ends, even on error or Ctrl-C.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# MAILTRAIL_DEMO_BUILD=debug reuses the debug build (the test suite runs the demo that way).
BUILD="${MAILTRAIL_DEMO_BUILD:-release}"
BIN="$ROOT/.build/$BUILD"
DIR="${MAILTRAIL_DEMO_DIR:-/tmp/mailtrail-demo}"
MESSAGE="$ROOT/Tests/Fixtures/corpus/messages/munroe-email.alt-qp.eml"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

PORTS=$("$ROOT/scripts/freeport.py" 5)
read -r REDIS_PORT MILTER_PORT TRACKER_PORT SMTP_PORT SINK_PORT <<< "${PORTS//$'\n'/ }"

rm -rf "$DIR"; mkdir -p "$DIR"; chmod 755 "$DIR"
PIDS=()
cleanup() {
    set +e
    step "stopping everything the demo started"
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    "$ROOT/scripts/postfix-instance.sh" stop "$DIR/postfix" >/dev/null 2>&1
    "$ROOT/scripts/redis-instance.sh" stop "$DIR/redis" >/dev/null 2>&1
    echo "stopped. Files are in $DIR (logs: milter.log, tracker.log, postfix/maillog)."
    if ss -Hltn 2>/dev/null | awk '{print $4}' | grep -vE '^(127\.|\[::1\]|\[::ffff:127\.)' \
        | grep -E ":($REDIS_PORT|$MILTER_PORT|$TRACKER_PORT|$SMTP_PORT|$SINK_PORT)$"; then
        echo "warning: something the demo started still listens on a non-loopback address" >&2
    fi
}
trap cleanup EXIT

step "building $BUILD binaries"
(cd "$ROOT" && scripts/swift-build "$BUILD" 2>&1 | tail -1)

step "configuration ($DIR/mailtrail.conf)"
"$BIN/mailtrail" keygen > "$DIR/keys"; chmod 600 "$DIR/keys"
cat > "$DIR/mailtrail.conf" <<CONF
tracking_base_url = http://127.0.0.1:$TRACKER_PORT
keys_file = $DIR/keys
redis_port = $REDIS_PORT
spool_directory = $DIR/spool
milter_socket = inet:$MILTER_PORT@127.0.0.1
tracker_listen = 127.0.0.1:$TRACKER_PORT
log_destination = stderr
CONF
"$BIN/mailtrail" config -c "$DIR/mailtrail.conf" -n

step "starting Redis, the milter and the tracker on 127.0.0.1"
"$ROOT/scripts/redis-instance.sh" start "$DIR/redis" "$REDIS_PORT" >/dev/null
"$BIN/mailtrail-milter" -f -c "$DIR/mailtrail.conf" 2>"$DIR/milter.log" & PIDS+=($!)
"$BIN/mailtrail-tracker" -f -c "$DIR/mailtrail.conf" 2>"$DIR/tracker.log" & PIDS+=($!)
for port in "$MILTER_PORT" "$TRACKER_PORT"; do
    for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
done
echo "redis 127.0.0.1:$REDIS_PORT, milter 127.0.0.1:$MILTER_PORT, tracker 127.0.0.1:$TRACKER_PORT"

step "starting a throwaway Postfix that uses the milter (smtpd 127.0.0.1:$SMTP_PORT)"
"$ROOT/scripts/postfix-instance.sh" start "$DIR/postfix" --smtp-port "$SMTP_PORT" --sink-port "$SINK_PORT" \
    --milter "inet:127.0.0.1:$MILTER_PORT" 2>&1 | tail -1

step "sending a newsletter through Postfix (swaks, SMTP)"
swaks --silent 1 --server "127.0.0.1:$SMTP_PORT" --from news@mail.example.com --to maria@example.net \
    --data "@$MESSAGE"
DELIVERED=""
for _ in $(seq 100); do
    DELIVERED="$("$ROOT/scripts/postfix-instance.sh" messages "$DIR/postfix" | head -1)"
    [ -n "$DELIVERED" ] && break; sleep 0.1
done
[ -n "$DELIVERED" ] || { echo "the message was not delivered; see $DIR/postfix/maillog" >&2; exit 1; }
grep -h "tracked" "$DIR/milter.log" | tail -1

step "the delivered message: header, wrapped links and the pixel"
python3 - "$DELIVERED" > "$DIR/urls" <<'PY'
import email, re, sys
msg = email.message_from_bytes(open(sys.argv[1], "rb").read())
print("X-MailTrail-ID:", msg["X-MailTrail-ID"], file=sys.stderr)
for part in msg.walk():
    if part.get_content_type() == "text/html":
        html = part.get_payload(decode=True).decode("utf-8", "replace")
        links = re.findall(r'href="([^"]+/c/[^"]+)"', html)
        pixel = re.findall(r'<img src="([^"]+/o/[^"]+)"[^>]*>', html)
        for link in links[:3]:
            print("  link :", link, file=sys.stderr)
        print(f"  ... {len(links)} wrapped links", file=sys.stderr)
        print("  pixel:", pixel[0], file=sys.stderr)
        print(pixel[0]); print(links[0])
PY
PIXEL="$(sed -n 1p "$DIR/urls")"; LINK="$(sed -n 2p "$DIR/urls")"
echo "first link decodes to:"
"$BIN/mailtrail" link decode -c "$DIR/mailtrail.conf" "$LINK" | sed 's/^/  /'

step "opening the message (the mail client fetches the pixel) and clicking the first link"
UA="Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Thunderbird/128.3.0"
curl -s -o /dev/null -A "$UA" -w "pixel: HTTP %{http_code}, %{content_type}, %{size_download} bytes\n" "$PIXEL"
curl -s -o /dev/null -A "$UA" -w "click: HTTP %{http_code} -> %{redirect_url}\n" "$LINK"
sleep 1.5   # events are written off the request path

step "events (mailtrail events tail)"
"$BIN/mailtrail" events tail -c "$DIR/mailtrail.conf"
step "statistics (mailtrail stats)"
"$BIN/mailtrail" stats -c "$DIR/mailtrail.conf"
