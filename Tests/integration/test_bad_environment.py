"""Bad configuration and environment, with the real binaries: every start-up failure is ONE line
on stderr naming the file, address or parameter, the cause and the fix, with the same sysexits
status in mailtrail-milter, mailtrail-tracker and the mailtrail CLI; the same line reaches syslog
when log_destination = syslog. At run time a full spool disk and a wrong redis_password do not
stop mail or clicks: one clear log line at once, then at most one a minute, and the counts in
/metrics (the milter's own endpoint, milter_metrics_listen, and the tracker's).

Cases (program x cause -> status):
  unreadable configuration file ......... milter, tracker, rewrite, link decode, link encode -> 78
  unreadable / missing keys file ........ milter, tracker, rewrite, link decode, link encode -> 78
  keys file others may read ............. milter (test_milter_daemon), tracker -> 78; CLI warns, works
  unwritable spool (permission, r/o fs) . milter, tracker -> 73
  port in use ........................... tracker_listen, milter_metrics_listen (milter_socket:
                                          test_milter_daemon) -> 69
  unknown milter_socket_group ........... milter -> 78
  wrong / missing redis_password ........ feed, events tail, stats -> 78; milter and tracker keep
                                          running, spool, log rate-limited, count in /metrics
  full spool disk while running ......... milter (real Postfix), tracker -> delivered / answered,
                                          one log line, lost counts in /metrics

Running as another user uses setpriv (util-linux); file systems are small tmpfs mounts (root
only), unmounted afterwards; tests that cannot get either are skipped, saying why.
"""

from __future__ import annotations

import errno
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from harness import (CORPUS, RedisServer, free_port, run, tracked_lines, wait_until, write_config,
                     write_keys)
from tracker_process import TrackerProcess, http_get, mint, path_of

EX_UNAVAILABLE = 69
EX_CANTCREAT = 73
EX_CONFIG = 78

SENDER = "app@mail.example.com"
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
REMINDER_INTERVAL = 60      # seconds between two log lines about the same lasting trouble
TRACKING_ID = "bad0e000000000000000000000000001"

pytestmark = [pytest.mark.needs_mailtrail, pytest.mark.needs_milter, pytest.mark.needs_tracker]


# ---------------------------------------------------------------------------------------------
# Helpers


def one_line(result: subprocess.CompletedProcess) -> str:
    """The single line a failed start printed on stderr (nothing on stdout)."""
    assert result.stdout == b"", result.stdout
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def nobody() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody to run as")


def as_nobody(args: list) -> list[str]:
    user = nobody()
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--",
            *[str(a) for a in args]]


@pytest.fixture
def unprivileged(binaries):
    """Runs a command as nobody (setpriv); skipped when that is impossible here (not root, no
    setpriv, or binaries nobody may not execute)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("running as nobody needs root and setpriv")
    probe = subprocess.run(as_nobody([binaries.mailtrail, "--help"]), capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot run {binaries.mailtrail}: {probe.stderr.decode(errors='replace').strip()}")

    def run_as_nobody(args: list, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(as_nobody(args), capture_output=True, timeout=60, **kwargs)

    return run_as_nobody


def give_to_nobody(path: Path) -> Path:
    user = nobody()
    os.chown(path, user.pw_uid, user.pw_gid)
    return path


class Mounts:
    """tmpfs mounts made by a test, unmounted (lazily if still busy) afterwards."""

    def __init__(self):
        self.points: list[Path] = []

    def tmpfs(self, point: Path, size: str = "256k", read_only: bool = False) -> Path:
        point.mkdir(parents=True, exist_ok=True)
        options = f"size={size},mode=0755" + (",ro" if read_only else "")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                                capture_output=True, timeout=30)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode(errors='replace').strip()}")
        self.points.append(point)
        return point

    def unmount_all(self) -> None:
        for point in reversed(self.points):
            if subprocess.run(["umount", str(point)], capture_output=True, timeout=30).returncode != 0:
                subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


@pytest.fixture
def mounts(work_dir):
    """Mount points go under the work directory, so they are unmounted before it is removed."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    made = Mounts()
    yield made
    made.unmount_all()


def fill(directory: Path) -> int:
    """Fills the file system of `directory` until ENOSPC; returns the bytes written."""
    written = 0
    chunk = b"\0" * 4096
    with open(directory / "filler", "wb", buffering=0) as filler:
        while True:
            try:
                written += filler.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
                break
    # The last partial page too.
    with open(directory / "filler-tail", "wb", buffering=0) as tail:
        try:
            while tail.write(b"\0"):
                written += 1
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    return written


def scrape(port: int) -> dict[str, float]:
    """A /metrics answer as {'name{labels}': value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = answer.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def bounded_repeats(count: int, started: float) -> bool:
    """A rate-limited line: at least once, and at most once per reminder interval since `started`."""
    return 1 <= count <= 1 + int((time.monotonic() - started) // REMINDER_INTERVAL)


def header_values(message: bytes, name: str) -> list[str]:
    head = message.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}:(.*)$", head, re.MULTILINE | re.IGNORECASE)]


def write_secret(path: Path) -> Path:
    path.write_text("feed-secret\n")
    path.chmod(0o600)
    return path


# ---------------------------------------------------------------------------------------------
# Keys file: unreadable, missing, exposed


def key_commands(binaries, config: Path) -> dict[str, list]:
    """How each program that reads the keys starts (the CLI with its key-reading commands)."""
    return {
        "mailtrail-milter": [binaries.milter, "-c", config, "-f"],
        "mailtrail-tracker": [binaries.tracker, "-c", config, "-f"],
        "rewrite": [binaries.mailtrail, "rewrite", "-c", config, "--tracking-id", TRACKING_ID,
                    CORPUS / "munroe-email.alt-qp.eml"],
        "link decode": [binaries.mailtrail, "link", "decode", "-c", config, "https://t.example.test/c/AAAA"],
        "link encode": [binaries.mailtrail, "link", "encode", "-c", config, "--tracking-id", TRACKING_ID,
                        "https://example.com/"],
    }


def prefix(program: str) -> str:
    return f"{program}: error: " if program.startswith("mailtrail-") else "mailtrail: error: "


@pytest.mark.parametrize("program", ["mailtrail-milter", "mailtrail-tracker", "rewrite", "link decode", "link encode"])
def test_keys_file_unreadable_by_the_service_user(program, binaries, mailtrail_config, keys_file, unprivileged):
    # The usual mistake: keys written by root (mode 600), the service runs as its own user.
    config = mailtrail_config(log_destination="stderr")
    result = unprivileged(key_commands(binaries, config)[program])
    assert result.returncode == EX_CONFIG, result
    assert one_line(result) == (
        f"{prefix(program)}{keys_file}: cannot read the keys file: permission denied "
        f"(this program runs as nobody: chown nobody {keys_file} && chmod 600 {keys_file})")


@pytest.mark.parametrize("program", ["mailtrail-milter", "mailtrail-tracker", "rewrite", "link decode", "link encode"])
def test_keys_file_missing(program, binaries, mailtrail_config, work_dir):
    missing = work_dir / "no-keys"
    config = mailtrail_config(keys_file=missing, log_destination="stderr")
    result = subprocess.run([str(a) for a in key_commands(binaries, config)[program]], capture_output=True, timeout=60)
    assert result.returncode == EX_CONFIG, result
    assert one_line(result) == (
        f"{prefix(program)}{missing}: cannot read the keys file: no such file "
        f"(create it: mailtrail keygen > {missing} && chmod 600 {missing}, or set keys_file)")


def test_keys_file_readable_by_others_stops_the_tracker(binaries, mailtrail_config, keys_file):
    keys_file.chmod(0o640)
    result = run([binaries.tracker, "-c", mailtrail_config(log_destination="stderr"), "-f"], check=False)
    assert result.returncode == EX_CONFIG
    assert one_line(result) == (
        f"mailtrail-tracker: error: {keys_file}: keys file is accessible to group or others "
        f"(mode 0640): run chmod 600 {keys_file} and chown it to the service user")


@pytest.mark.parametrize("program", ["rewrite", "link encode"])
def test_keys_file_readable_by_others_is_a_warning_for_the_cli(program, binaries, mailtrail_config, keys_file):
    keys_file.chmod(0o644)
    result = run(key_commands(binaries, mailtrail_config())[program])
    assert result.returncode == 0
    assert result.stdout
    assert result.stderr.decode().splitlines() == [
        f"mailtrail: warning: {keys_file}: keys file is accessible to group or others (mode 0644): "
        f"run chmod 600 {keys_file} and chown it to the service user"]


def test_link_decode_tells_a_bad_link_from_unreadable_keys(binaries, mailtrail_config, work_dir):
    config = mailtrail_config()
    assert run([binaries.mailtrail, "link", "decode", "-c", config, "https://t.example.test/c/AAAA"],
               check=False).returncode == 1
    broken = mailtrail_config(keys_file=work_dir)
    result = run([binaries.mailtrail, "link", "decode", "-c", broken, "https://t.example.test/c/AAAA"], check=False)
    assert result.returncode == EX_CONFIG
    assert one_line(result) == (f"mailtrail: error: {work_dir}: cannot read the keys file: is a directory "
                                f"(keys_file must name the file mailtrail keygen wrote)")


def test_start_up_failure_goes_to_syslog_too(binaries, mailtrail_config, work_dir):
    """With log_destination = syslog the line also reaches syslog (facility mail, priority err):
    the daemon runs in a mount namespace whose /dev/log is this test's socket."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a private /dev/log needs root and unshare")
    missing = work_dir / "no-keys"
    socket_path = work_dir / "log.sock"
    saved_dev = work_dir / "dev"
    saved_dev.mkdir()
    script = ('set -e; mount --bind /dev "$1"; mount -t tmpfs -o mode=0755,size=64k tmpfs /dev; '
              'for n in null zero random urandom; do touch /dev/$n; mount --bind "$1/$n" /dev/$n; done; '
              'ln -s "$2" /dev/log; shift 2; exec "$@"')
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as log:
        log.bind(str(socket_path))
        log.settimeout(30)
        for program, binary in [("mailtrail-milter", binaries.milter), ("mailtrail-tracker", binaries.tracker)]:
            config = mailtrail_config(keys_file=missing, log_destination="syslog", syslog_facility="mail")
            result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                                     str(saved_dev), str(socket_path), str(binary), "-c", str(config)],
                                    capture_output=True, timeout=60)
            if f"{program}: error: ".encode() not in result.stderr:
                # unshare or mount refused (a container without CAP_SYS_ADMIN): not this test's subject.
                pytest.skip(f"cannot make a private /dev here: {result.stderr.decode(errors='replace').strip()}")
            message = (f"{missing}: cannot read the keys file: no such file "
                       f"(create it: mailtrail keygen > {missing} && chmod 600 {missing}, or set keys_file)")
            assert result.returncode == EX_CONFIG, result
            assert one_line(result) == f"{program}: error: {message}"
            datagram = log.recv(65536).decode()
            # <19>: facility mail (2) * 8 + priority err (3).
            assert re.fullmatch(rf"<19>\w{{3}} [ \d]\d \d\d:\d\d:\d\d {program}\[\d+\]: error: {re.escape(message)}",
                                datagram), datagram


@pytest.mark.parametrize("program", ["mailtrail-milter", "mailtrail-tracker", "rewrite", "link decode", "link encode"])
def test_configuration_file_unreadable_by_the_service_user(program, binaries, mailtrail_config, unprivileged):
    config = mailtrail_config(log_destination="stderr")
    config.chmod(0o600)
    result = unprivileged(key_commands(binaries, config)[program])
    assert result.returncode == EX_CONFIG, result
    assert one_line(result) == (f"{prefix(program)}{config}: cannot read the configuration: permission denied "
                                f"(this program runs as nobody: let it read the file)")


def test_unknown_milter_socket_group(milter, binaries, work_dir):
    path = work_dir / "milter.sock"
    config = milter.config(milter_socket=f"unix:{path}", milter_socket_group="no-such-group-here")
    result = run([binaries.milter, "-c", config, "-f"], check=False)
    assert result.returncode == EX_CONFIG
    assert one_line(result) == ('mailtrail-milter: error: milter_socket_group: no group "no-such-group-here" '
                                '(create it, or name the group Postfix runs as, normally postfix)')


# ---------------------------------------------------------------------------------------------
# Spool directory: not writable at start


def nobody_config(mailtrail_config, work_dir: Path, **overrides) -> Path:
    """A configuration nobody can start with: its own keys, stderr logging."""
    keys = give_to_nobody(write_keys(work_dir / "nobody-keys"))
    return mailtrail_config(keys_file=keys, log_destination="stderr", **overrides)


@pytest.mark.parametrize("program", ["milter", "tracker"])
def test_spool_directory_the_service_user_cannot_create(program, binaries, mailtrail_config, work_dir, unprivileged):
    spool = work_dir / "spool-of-root"
    spool.mkdir(mode=0o755)
    config = nobody_config(mailtrail_config, work_dir, spool_directory=spool)
    binary = binaries.milter if program == "milter" else binaries.tracker
    result = unprivileged([binary, "-c", config, "-f"])
    assert result.returncode == EX_CANTCREAT, result
    assert one_line(result) == (
        f"mailtrail-{program}: error: spool directory {spool}/{program} cannot be created (Permission denied): "
        f"this program runs as nobody: chown -R nobody {spool}, or set spool_directory")


@pytest.mark.parametrize("program", ["milter", "tracker"])
def test_spool_directory_the_service_user_cannot_write(program, binaries, mailtrail_config, work_dir, unprivileged):
    spool = work_dir / "spool-of-root"
    (spool / program).mkdir(parents=True, mode=0o755)
    config = nobody_config(mailtrail_config, work_dir, spool_directory=spool)
    binary = binaries.milter if program == "milter" else binaries.tracker
    result = unprivileged([binary, "-c", config, "-f"])
    assert result.returncode == EX_CANTCREAT, result
    assert one_line(result) == (
        f"mailtrail-{program}: error: spool directory {spool}/{program} is not writable (Permission denied): "
        f"this program runs as nobody: chown -R nobody {spool}, or set spool_directory")


@pytest.mark.parametrize("program", ["milter", "tracker"])
def test_spool_directory_on_a_read_only_file_system(program, binaries, mailtrail_config, work_dir, mounts):
    spool = mounts.tmpfs(work_dir / "read-only", read_only=True)
    config = mailtrail_config(spool_directory=spool, log_destination="stderr")
    binary = binaries.milter if program == "milter" else binaries.tracker
    result = run([binary, "-c", config, "-f"], check=False)
    assert result.returncode == EX_CANTCREAT, result
    assert one_line(result) == (
        f"mailtrail-{program}: error: spool directory {spool}/{program} cannot be created (Read-only file system): "
        f"set spool_directory to a directory on a writable file system")


# ---------------------------------------------------------------------------------------------
# Ports in use


def test_tracker_port_in_use(binaries, mailtrail_config):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run([binaries.tracker, "-c", mailtrail_config(tracker_listen=f"127.0.0.1:{port}",
                                                               log_destination="stderr"), "-f"], check=False)
    assert result.returncode == EX_UNAVAILABLE
    assert one_line(result) == (f"mailtrail-tracker: error: cannot listen on 127.0.0.1:{port}: Address already in use "
                                f"(is another mailtrail-tracker running? check tracker_listen)")


def test_milter_metrics_port_in_use(binaries, mailtrail_config):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = mailtrail_config(milter_metrics_listen=f"127.0.0.1:{port}", log_destination="stderr")
        result = run([binaries.milter, "-c", config, "-f"], check=False)
    assert result.returncode == EX_UNAVAILABLE
    assert one_line(result) == (f"mailtrail-milter: error: cannot listen on 127.0.0.1:{port}: Address already in use "
                                f"(is another mailtrail-milter running? check milter_metrics_listen)")


# ---------------------------------------------------------------------------------------------
# Redis password: the CLI stops, the daemons keep mail and clicks flowing


@pytest.fixture
def locked_redis(redis_server) -> RedisServer:
    """The test's Redis with `requirepass right-password`."""
    redis_server.command("CONFIG", "SET", "requirepass", "right-password")
    return redis_server


def authed(redis: RedisServer, password: str, *args: str) -> str:
    return redis.cli("-a", password, *args)


def error_line(command: str, result: subprocess.CompletedProcess) -> str:
    """The error line of a CLI command: its only line, except that `mailtrail feed` announces
    what it feeds before it first reaches Redis."""
    if command != "feed":
        return one_line(result)
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 2 and re.fullmatch(r"mailtrail feed\[\S+\]: feeding mt:events to .*", lines[0]), lines
    return lines[1]


def cli_redis_commands(binaries, config: Path) -> dict[str, list]:
    return {
        "feed": [binaries.mailtrail, "feed", "-c", config, "--once"],
        "events tail": [binaries.mailtrail, "events", "tail", "-c", config],
        "stats": [binaries.mailtrail, "stats", "-c", config],
    }


@pytest.mark.parametrize("command", ["feed", "events tail", "stats"])
def test_cli_with_a_wrong_redis_password(command, binaries, mailtrail_config, locked_redis, work_dir):
    config = mailtrail_config(locked_redis, redis_password="wrong-password", feed_url="http://127.0.0.1:9/hook",
                              feed_secret_file=write_secret(work_dir / "secret"))
    result = run(cli_redis_commands(binaries, config)[command], check=False)
    assert result.returncode == EX_CONFIG, result
    assert error_line(command, result) == (
        f"mailtrail: error: Redis at 127.0.0.1:{locked_redis.port}/0 rejected redis_password "
        f"(it said: {WRONGPASS}): set redis_password to the server's requirepass")


@pytest.mark.parametrize("command", ["feed", "events tail", "stats"])
def test_cli_without_the_redis_password(command, binaries, mailtrail_config, locked_redis, work_dir):
    config = mailtrail_config(locked_redis, feed_url="http://127.0.0.1:9/hook",
                              feed_secret_file=write_secret(work_dir / "secret"))
    result = run(cli_redis_commands(binaries, config)[command], check=False)
    assert result.returncode == EX_CONFIG, result
    assert error_line(command, result) == (f"mailtrail: error: Redis at 127.0.0.1:{locked_redis.port}/0 requires a password "
                                f"(NOAUTH): set redis_password to the server's requirepass")


def test_milter_with_a_wrong_redis_password_spools_and_says_so(milter, locked_redis, postfix_instance, work_dir):
    started = time.monotonic()
    metrics_port = free_port()
    process = milter(locked_redis, redis_password="wrong-password", milter_metrics_listen=f"127.0.0.1:{metrics_port}")
    refusal = (f"Redis at 127.0.0.1:{locked_redis.port}/0 rejected redis_password (it said: {WRONGPASS}): "
               f"set redis_password to the server's requirepass; enrichment records wait in the spool "
               f"{work_dir}/spool/milter until it is fixed")
    # Said at start, before any message.
    process.wait_for_log(rf"^mailtrail-milter\[{process.pid}\]: error: {re.escape(refusal)}$")

    postfix = postfix_instance(milter=process.postfix_socket)
    recipients = [f"pw{i}@example.net" for i in range(3)]
    message = (CORPUS / "munroe-email.alt-qp.eml").read_bytes()
    queue_ids = postfix.smtp_send([(SENDER, [r], message) for r in recipients])
    got = postfix.wait_for_recipients(recipients, timeout=60)
    tracked = tracked_lines(process.log())
    ids = {}
    for queue_id, recipient in zip(queue_ids, recipients):
        assert tracked[queue_id]["enrichment"] == "spool"
        assert header_values(got[recipient].message, "X-MailTrail-ID") == [tracked[queue_id]["id"]]
        ids[queue_id] = tracked[queue_id]["id"]

    metrics = scrape(metrics_port)
    assert metrics["mailtrail_milter_messages_seen_total"] == 3
    assert metrics["mailtrail_milter_messages_tracked_total"] == 3
    assert metrics["mailtrail_milter_enrichment_spooled_total"] == 3
    assert metrics["mailtrail_milter_enrichment_written_total"] == 0
    assert metrics["mailtrail_milter_enrichment_lost_total"] == 0
    assert metrics["mailtrail_milter_redis_config_errors_total"] >= 1
    assert metrics["mailtrail_milter_redis_errors_total"] >= metrics["mailtrail_milter_redis_config_errors_total"]
    assert metrics["mailtrail_milter_spool_bytes"] > 0
    # Rate-limited: not a line per message or per replay attempt.
    assert bounded_repeats(len(process.log_lines(re.escape(refusal))), started), process.log()

    # Redis takes the milter's password: the spool is replayed, in full.
    run(["redis-cli", "-h", "127.0.0.1", "-p", str(locked_redis.port), "-a", "right-password", "--no-auth-warning",
         "CONFIG", "SET", "requirepass", "wrong-password"])
    process.wait_for_log(r"replayed spooled enrichment records count=3", timeout=60)
    for queue_id, tracking_id in ids.items():
        assert f"queue_id\n{queue_id}" in authed(locked_redis, "wrong-password", "HGETALL", f"mt:msg:{tracking_id}")
    wait_until(lambda: scrape(metrics_port)["mailtrail_milter_enrichment_replayed_total"] == 3, 30,
               "the replay counted in /metrics")
    assert scrape(metrics_port)["mailtrail_milter_spool_bytes"] == 0


def start_tracker(binaries, config: Path, port: int, log: Path) -> TrackerProcess:
    return TrackerProcess(binaries.tracker, config, port, log).start()


def test_tracker_with_a_wrong_redis_password_spools_and_says_so(binaries, mailtrail_config, locked_redis, work_dir):
    started = time.monotonic()
    port = free_port()
    config = mailtrail_config(locked_redis, redis_password="wrong-password", tracker_listen=f"127.0.0.1:{port}",
                              log_destination="stderr")
    tracker = start_tracker(binaries, config, port, work_dir / "tracker.log")
    try:
        refusal = (f"Redis at 127.0.0.1:{locked_redis.port}/0 rejected redis_password (it said: {WRONGPASS}): "
                   f"set redis_password to the server's requirepass; events wait in the spool "
                   f"{work_dir}/spool/tracker until it is fixed")
        line = rf"^mailtrail-tracker\[{tracker.pid}\]: error: {re.escape(refusal)}$"
        wait_until(lambda: re.search(line, tracker.log_text(), re.MULTILINE), 30, "the redis_password line")

        for index in range(3):
            status, headers, _ = http_get(port, path_of(mint(binaries.mailtrail, config, f"{index + 1:032x}")))
            assert (status, headers["content-type"]) == (200, "image/gif")
        wait_until(lambda: tracker.metrics()["mailtrail_tracker_events_spooled_total"] == 3, 30, "3 spooled events")
        metrics = tracker.metrics()
        assert metrics["mailtrail_tracker_events_written_total"] == 0
        assert metrics["mailtrail_tracker_events_lost_total"] == 0
        assert metrics["mailtrail_tracker_redis_config_errors_total"] >= 1
        assert bounded_repeats(len(re.findall(line, tracker.log_text(), re.MULTILINE)), started), tracker.log_text()

        run(["redis-cli", "-h", "127.0.0.1", "-p", str(locked_redis.port), "-a", "right-password",
             "--no-auth-warning", "CONFIG", "SET", "requirepass", "wrong-password"])
        wait_until(lambda: authed(locked_redis, "wrong-password", "XLEN", "mt:events") == "3", 60,
                   "the spooled events in mt:events")
        wait_until(lambda: tracker.metrics()["mailtrail_tracker_events_replayed_total"] == 3, 30, "3 replayed")
    finally:
        tracker.stop_if_running()


# ---------------------------------------------------------------------------------------------
# The spool's disk full while Redis is down


def test_milter_with_a_full_spool_disk_keeps_mail_flowing(milter, postfix_instance, work_dir, mounts):
    spool = mounts.tmpfs(work_dir / "small-spool")
    metrics_port = free_port()
    process = milter(None, spool_directory=spool, milter_metrics_listen=f"127.0.0.1:{metrics_port}")
    assert fill(spool) > 0
    started = time.monotonic()

    postfix = postfix_instance(milter=process.postfix_socket)
    recipients = [f"full{i}@example.net" for i in range(5)]
    message = (CORPUS / "munroe-email.alt-qp.eml").read_bytes()
    queue_ids = [postfix.smtp_send([(SENDER, [r], message)])[0] for r in recipients]
    got = postfix.wait_for_recipients(recipients, timeout=60)
    tracked = tracked_lines(process.log())
    for queue_id, recipient in zip(queue_ids, recipients):
        assert tracked[queue_id]["enrichment"] == "lost"
        assert header_values(got[recipient].message, "X-MailTrail-ID") == [tracked[queue_id]["id"]]

    lines = process.log_lines(r"cannot spool enrichment records")
    assert bounded_repeats(len(lines), started), process.log()
    # The message's log line: its queue id first, its size last.
    assert re.fullmatch(
        rf"mailtrail-milter\[{process.pid}\]: error: {queue_ids[0]}: cannot spool enrichment records while Redis "
        rf"is unavailable: spool file {re.escape(str(spool))}/milter/\d{{20}}\.seg: no space left on device: "
        rf"free space on the file system of {re.escape(str(spool))}/milter; mail still flows, tracked, "
        rf"but these records are lost size=\d+", lines[0]), lines[0]

    metrics = scrape(metrics_port)
    assert metrics["mailtrail_milter_messages_tracked_total"] == 5
    assert metrics["mailtrail_milter_enrichment_lost_total"] == 5
    assert metrics["mailtrail_milter_spool_write_errors_total"] == 5
    assert metrics["mailtrail_milter_enrichment_spooled_total"] == 0
    assert metrics["mailtrail_milter_redis_errors_total"] >= 1


def test_tracker_with_a_full_spool_disk_keeps_answering(binaries, mailtrail_config, work_dir, mounts):
    spool = mounts.tmpfs(work_dir / "small-spool")
    port = free_port()
    config = mailtrail_config(None, spool_directory=spool, tracker_listen=f"127.0.0.1:{port}", log_destination="stderr")
    tracker = start_tracker(binaries, config, port, work_dir / "tracker.log")
    try:
        assert fill(spool) > 0
        started = time.monotonic()
        paths = [path_of(mint(binaries.mailtrail, config, f"{index + 1:032x}")) for index in range(5)]
        paths.append(path_of(mint(binaries.mailtrail, config, f"{9:032x}", "https://example.com/full")))
        for path in paths[:5]:
            status, headers, _ = http_get(port, path)
            assert (status, headers["content-type"]) == (200, "image/gif")
        status, headers, _ = http_get(port, paths[5])
        assert (status, headers["location"]) == (302, "https://example.com/full")

        wait_until(lambda: tracker.metrics()["mailtrail_tracker_events_lost_total"] == 6, 30, "6 lost events counted")
        metrics = tracker.metrics()
        assert 1 <= metrics["mailtrail_tracker_spool_write_errors_total"] <= 6
        assert metrics["mailtrail_tracker_events_spooled_total"] == 0
        lines = [line for line in tracker.log_text().splitlines() if "cannot spool events" in line]
        assert bounded_repeats(len(lines), started), tracker.log_text()
        assert re.fullmatch(
            rf"mailtrail-tracker\[{tracker.pid}\]: error: cannot spool events while Redis is unavailable: "
            rf"spool file {re.escape(str(spool))}/tracker/\d{{20}}\.seg: no space left on device: free space on the "
            rf"file system of {re.escape(str(spool))}/tracker; pixels and redirects are still answered, but these "
            rf"events are lost", lines[0]), lines[0]
        assert tracker.terminate() == 0
    finally:
        tracker.stop_if_running()
