#!/usr/bin/env bash
# A throwaway Postfix for MailTrail's integration tests: its own configuration, queue, data and
# log under DIR, listening on 127.0.0.1 only, relaying every message to an smtp-sink on
# 127.0.0.1 that writes one file per delivered message into DIR/sink/. Runs as root and never
# reads or changes /etc/postfix (only Postfix's read-only postfix-files list there).
#
#   postfix-instance.sh start DIR [--smtp-port N] [--sink-port N] [--hold]
#                                 [--milter inet:127.0.0.1:PORT] [--default-action ACTION]
#   postfix-instance.sh stop DIR          stop Postfix and the sink; waits until both are gone
#   postfix-instance.sh status DIR        exit 0 when Postfix and the sink both run
#   postfix-instance.sh messages DIR      complete captured messages, oldest first, one path a line
#   postfix-instance.sh sendmail DIR ARGS...   submit stdin through sendmail -C DIR/conf (pickup)
#   postfix-instance.sh requeue DIR       postsuper -r ALL: re-inject every queued message
#   postfix-instance.sh flush DIR         postqueue -f: attempt delivery of deferred mail now
#   postfix-instance.sh queue DIR         number of messages in the queue
#   postfix-instance.sh release DIR       end --hold: deliver what is queued and what comes next
#
# Defaults: --smtp-port 10025, --sink-port 10026, no milter, --default-action accept (the
# value main.cf.snippet recommends). With --milter, smtpd_milters and non_smtpd_milters are
# both set to the given socket (Postfix syntax inet:HOST:PORT) and every other milter_*
# setting is taken from postfix/main.cf.snippet, so the tests run what operators paste.
# --hold keeps every accepted message in the deferred queue (defer_transports) until
# `release`: for tests that re-inject queued mail with `requeue` (postsuper -r ALL sends it
# through pickup, cleanup and non_smtpd_milters again, and Postfix adds a Received header).
#
# Layout of DIR: conf/ (main.cf, master.cf), queue/, data/, sink/ (captured messages),
# maillog, smtp-sink.pid, smtp-sink.log, instance.env (ports and milter of the running instance).
# Captured files are named by smtp-sink -d "DIR/sink/%Y%m%d%H%M%S.": the timestamp, a dot and a
# pseudo-random hexadecimal suffix; a file still open by smtp-sink is an incomplete transaction.
# Each capture starts with smtp-sink's own X-Client-Addr, X-Client-Proto, X-Helo-Args,
# X-Mail-Args, X-Rcpt-Args and 3-line Received header, and ends with an added empty line.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATES="$HERE/../postfix/test-instance"
SNIPPET="$HERE/../postfix/main.cf.snippet"
WAIT_SECONDS=15

die() { echo "postfix-instance: $*" >&2; exit 1; }
note() { echo "postfix-instance: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

# listening PORT: true when something listens on TCP 127.0.0.1:PORT (or any address:PORT).
listening() {
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# wait_for DESCRIPTION COMMAND...: retries COMMAND every 0.1 s for WAIT_SECONDS.
wait_for() {
    local what="$1"; shift
    local tries=$((WAIT_SECONDS * 10))
    while ! "$@"; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || { note "timed out after ${WAIT_SECONDS}s waiting for $what"; return 1; }
        sleep 0.1
    done
}

not() { ! "$@"; }

# alive PID NAME: true when PID runs (a zombie does not) and its command is NAME (guards
# against PID reuse).
alive() {
    [ -n "$1" ] && [ -r "/proc/$1/comm" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] \
        && [ "$(proc_state "$1")" != Z ]
}

# proc_state PID: the one-letter state from /proc/PID/stat (the field after "(comm)").
proc_state() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    echo "${stat%% *}"
}

# qmgr_pid: the queue manager the master runs now.
qmgr_pid() {
    local master
    master="$(master_pid)" || return 1
    pgrep -P "$master" -x qmgr | head -n 1 | grep .
}

# A reload replaces the queue manager: the old one exits (within ~0.1 s), the master starts
# the next, which first moves mail left in active/ back to incoming/. A flush that reaches
# the old one just before it exits can move a message into active/ after the new one has
# looked there: that message then waits for the next queue manager (minutes). So the flush
# waits until the old queue manager is gone and the new one runs.
cmd_release() {
    local old
    master_pid >/dev/null || die "Postfix does not run in $DIR"
    postconf -c "$DIR/conf" -e "defer_transports ="
    old="$(qmgr_pid)" || old=""
    postfix -c "$DIR/conf" reload >/dev/null 2>&1
    if [ -n "$old" ]; then
        wait_for "the queue manager $old to exit after the reload" not alive "$old" qmgr || exit 1
    fi
    wait_for "a queue manager to run after the reload" qmgr_pid >/dev/null || exit 1
    postqueue -c "$DIR/conf" -f
    sed -i 's/^HOLD=.*/HOLD=no/' "$DIR/instance.env"
}

master_pid() {
    local f="$DIR/queue/pid/master.pid"
    [ -r "$f" ] || return 1
    local pid
    pid="$(tr -d ' \n' < "$f")"
    alive "$pid" master || return 1
    echo "$pid"
}

sink_pid() {
    local f="$DIR/smtp-sink.pid"
    [ -r "$f" ] || return 1
    local pid
    pid="$(tr -d ' \n' < "$f")"
    alive "$pid" smtp-sink || return 1
    echo "$pid"
}

# Processes whose working directory is inside the instance's queue (every Postfix daemon
# chdirs there): used to prove that stop leaves nothing behind.
instance_processes() {
    local p cwd
    for p in /proc/[0-9]*; do
        cwd="$(readlink "$p/cwd" 2>/dev/null)" || continue
        case "$cwd" in "$DIR/queue"|"$DIR/queue/"*)
            [ "$(proc_state "${p#/proc/}")" = Z ] || echo "${p#/proc/}";;
        esac
    done
}

no_instance_processes() { [ -z "$(instance_processes)" ]; }

log_size() { stat -c %s "$DIR/maillog" 2>/dev/null || echo 0; }
# log_since OFFSET: what the instance logged after OFFSET bytes of the maillog.
log_since() { tail -c "+$(($1 + 1))" "$DIR/maillog" 2>/dev/null || true; }

# sed replacement text: escape \, & and the | delimiter.
sed_escape() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }

render() {
    sed -e "s|@DIR@|$(sed_escape "$DIR")|g" \
        -e "s|@SMTP_PORT@|$SMTP_PORT|g" \
        -e "s|@SINK_PORT@|$SINK_PORT|g" "$1" > "$2"
}

check_port() {
    case "$1" in ''|*[!0-9]*) die "port '$1' is not a number";; esac
    [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "port $1 is out of range"
}

# Applies the milter_* settings of main.cf.snippet (parsed by postconf itself: comments and
# continuation lines are handled) to the instance, then the instance's own milter list.
configure_milter() {
    local socket="$1" action="$2"
    local tmp="$DIR/conf/snippet"
    mkdir -p "$tmp"
    cp "$SNIPPET" "$tmp/main.cf"
    : > "$tmp/master.cf"
    local settings
    settings="$(postconf -c "$tmp" -n | grep -E '^milter_' | grep -v '^milter_default_action ')" \
        || die "no milter_* settings found in $SNIPPET"
    rm -rf "$tmp"
    local lines=()
    mapfile -t lines <<< "$settings"
    postconf -c "$DIR/conf" -e "${lines[@]}" "smtpd_milters = $socket" \
        "non_smtpd_milters = \$smtpd_milters" "milter_default_action = $action"
}

cmd_start() {
    local milter="" action="accept" hold=no
    SMTP_PORT=10025 SINK_PORT=10026
    while [ $# -gt 0 ]; do
        case "$1" in
            --smtp-port) SMTP_PORT="${2:?--smtp-port needs a value}"; shift 2;;
            --sink-port) SINK_PORT="${2:?--sink-port needs a value}"; shift 2;;
            --milter) milter="${2:?--milter needs a socket}"; shift 2;;
            --default-action) action="${2:?--default-action needs a value}"; shift 2;;
            --hold) hold=yes; shift;;
            *) die "unknown option '$1'";;
        esac
    done
    check_port "$SMTP_PORT"; check_port "$SINK_PORT"
    [ "$SMTP_PORT" != "$SINK_PORT" ] || die "--smtp-port and --sink-port must differ"
    case "$action" in accept|tempfail|reject|quarantine) ;; *)
        die "--default-action must be accept, tempfail, reject or quarantine";; esac
    if [ -n "$milter" ]; then
        case "$milter" in
            inet:127.0.0.1:[0-9]*|unix:?*) ;;
            *) die "--milter must be inet:127.0.0.1:PORT or unix:PATH (Postfix syntax; a relative PATH is in the queue directory), got '$milter'";;
        esac
    fi
    [ "$(id -u)" -eq 0 ] || die "must run as root (Postfix's master and sendmail -C need it)"
    [ -d "$TEMPLATES" ] || die "templates not found in $TEMPLATES"

    if master_pid >/dev/null || sink_pid >/dev/null; then
        die "an instance already runs in $DIR (stop it first)"
    fi
    listening "$SMTP_PORT" && die "port $SMTP_PORT is already in use"
    listening "$SINK_PORT" && die "port $SINK_PORT is already in use"

    mkdir -p "$DIR"
    # Postfix daemons and smtp-sink run as the postfix user: the path to DIR must be searchable.
    runuser -u postfix -- test -x "$DIR" \
        || die "the postfix user cannot reach $DIR (a parent directory is not searchable; use e.g. a directory under /tmp with mode 0755)"

    rm -rf "$DIR/conf"
    mkdir -p "$DIR/conf" "$DIR/queue" "$DIR/data" "$DIR/sink"
    chown root:root "$DIR/conf" "$DIR/queue"
    chmod 0755 "$DIR/conf" "$DIR/queue"
    chown postfix:postfix "$DIR/data" "$DIR/sink"
    chmod 0700 "$DIR/data"
    chmod 0755 "$DIR/sink"
    render "$TEMPLATES/main.cf.in" "$DIR/conf/main.cf"
    render "$TEMPLATES/master.cf.in" "$DIR/conf/master.cf"
    if [ -n "$milter" ]; then
        configure_milter "$milter" "$action"
    fi
    if [ "$hold" = yes ]; then
        postconf -c "$DIR/conf" -e "defer_transports = smtp relay"
    fi
    chmod 0644 "$DIR/conf/main.cf" "$DIR/conf/master.cf"

    # postfix check creates the missing queue directories with the right owners and modes.
    # Its findings go to maillog_file, not to the terminal: any warning there fails the start.
    local out logged
    logged="$(log_size)"
    out="$(postfix -c "$DIR/conf" check 2>&1)" || die "postfix check failed: $out $(log_since "$logged")"
    if log_since "$logged" | grep -Eq '(warning|fatal|error|panic):'; then
        die "postfix check reported problems: $(log_since "$logged")"
    fi

    # The sink first, so that the first delivery attempt finds it.
    : > "$DIR/smtp-sink.log"
    setsid smtp-sink -u postfix -d "$DIR/sink/%Y%m%d%H%M%S." "127.0.0.1:$SINK_PORT" 64 \
        </dev/null >>"$DIR/smtp-sink.log" 2>&1 &
    echo $! > "$DIR/smtp-sink.pid"
    if ! wait_for "smtp-sink on 127.0.0.1:$SINK_PORT" listening "$SINK_PORT"; then
        cat "$DIR/smtp-sink.log" >&2
        cmd_stop >/dev/null 2>&1 || true
        die "smtp-sink did not start"
    fi
    sink_pid >/dev/null || die "smtp-sink exited: $(cat "$DIR/smtp-sink.log")"

    # Checked just above: tell postfix-script not to run the same checks again.
    touch "$DIR/queue/quick-start"
    out="$(postfix -c "$DIR/conf" start 2>&1)" || {
        cmd_stop >/dev/null 2>&1 || true
        die "postfix start failed: $out (see $DIR/maillog)"
    }
    if ! wait_for "Postfix smtpd on 127.0.0.1:$SMTP_PORT" listening "$SMTP_PORT"; then
        cmd_stop >/dev/null 2>&1 || true
        die "Postfix did not start listening (see $DIR/maillog)"
    fi

    {
        echo "SMTP_PORT=$SMTP_PORT"
        echo "SINK_PORT=$SINK_PORT"
        echo "MILTER=$milter"
        echo "DEFAULT_ACTION=$action"
        echo "HOLD=$hold"
    } > "$DIR/instance.env"
    echo "postfix-instance: running in $DIR: smtpd 127.0.0.1:$SMTP_PORT, sink 127.0.0.1:$SINK_PORT, master $(master_pid), smtp-sink $(sink_pid)${milter:+, milter $milter ($action)}"
}

# stop: Postfix first (it may still be delivering to the sink), then the sink. Safe to repeat.
cmd_stop() {
    local failed=0
    if master_pid >/dev/null; then
        postfix -c "$DIR/conf" stop >/dev/null 2>&1 || true
        wait_for "Postfix master to exit" not master_pid >/dev/null || failed=1
    fi
    wait_for "Postfix daemons of $DIR to exit" no_instance_processes || {
        note "still running: $(instance_processes | tr '\n' ' ')"; failed=1; }
    local pid
    if pid="$(sink_pid)"; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_for "smtp-sink $pid to exit" not alive "$pid" smtp-sink; then
            kill -KILL "$pid" 2>/dev/null || true
            wait_for "smtp-sink $pid to die" not alive "$pid" smtp-sink || failed=1
        fi
    fi
    rm -f "$DIR/smtp-sink.pid" "$DIR/instance.env"
    [ "$failed" -eq 0 ] || die "stop incomplete in $DIR"
}

cmd_status() {
    local master sink rc=0
    master="$(master_pid)" || { master="not running"; rc=3; }
    sink="$(sink_pid)" || { sink="not running"; rc=3; }
    echo "master: $master"
    echo "smtp-sink: $sink"
    if [ -r "$DIR/instance.env" ]; then cat "$DIR/instance.env"; fi
    return "$rc"
}

cmd_messages() {
    [ -d "$DIR/sink" ] || return 0
    local open="" pid f
    if pid="$(sink_pid)"; then
        open="$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -exec readlink {} \; 2>/dev/null || true)"
    fi
    find "$DIR/sink" -mindepth 1 -maxdepth 1 -type f -printf '%T@ %p\n' | sort -n -k1,1 -k2 \
        | while read -r _ f; do
            if [ -n "$open" ] && printf '%s\n' "$open" | grep -Fxq -- "$f"; then continue; fi
            echo "$f"
        done
}

cmd_sendmail() {
    [ "$(id -u)" -eq 0 ] || die "sendmail -C with a non-default configuration needs root"
    exec /usr/sbin/sendmail -C "$DIR/conf" "$@"
}

[ $# -ge 2 ] || usage
command="$1"
DIR="$(realpath -m -- "$2")"
shift 2
case "$command" in
    start) cmd_start "$@";;
    stop) [ $# -eq 0 ] || usage; cmd_stop;;
    status) [ $# -eq 0 ] || usage; cmd_status;;
    messages) [ $# -eq 0 ] || usage; cmd_messages;;
    sendmail) cmd_sendmail "$@";;
    requeue) [ $# -eq 0 ] || usage
        postsuper -c "$DIR/conf" -r ALL
        # postsuper puts the messages in maildrop/ without waking pickup (it polls every 60 s).
        postkick -c "$DIR/conf" public pickup W;;
    flush) [ $# -eq 0 ] || usage; postqueue -c "$DIR/conf" -f;;
    release) [ $# -eq 0 ] || usage; cmd_release;;
    queue) [ $# -eq 0 ] || usage
        find "$DIR/queue/incoming" "$DIR/queue/active" "$DIR/queue/deferred" "$DIR/queue/hold" \
            "$DIR/queue/maildrop" -type f 2>/dev/null | wc -l;;
    *) usage;;
esac
