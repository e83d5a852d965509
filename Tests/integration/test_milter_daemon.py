"""mailtrail-milter behaves as a mail daemon should: a bad configuration value, keys readable by
others or an unusable socket stop it at once with one clear line and a non-zero exit; a unix
socket gets the configured mode and group (and Postfix, as the postfix user, delivers through
it); the PID file is written and removed; SIGTERM lets the message in flight finish and the
process exit 0 within a few seconds; it detaches into the background without -f."""

from __future__ import annotations

import grp
import os
import re
import smtplib
import socket
import stat
import subprocess
import time

from harness import CORPUS, SLOWDOWN, MilterProcess, pid_alive, run, tracked_lines, wait_until

SENDER = "app@mail.example.com"
EX_UNAVAILABLE = 69
EX_CONFIG = 78


def start_expecting_failure(binaries, config, *args) -> subprocess.CompletedProcess:
    result = run([binaries.milter, "-c", config, "-f", *args], check=False, timeout=30)
    assert result.returncode != 0, result
    assert result.stdout == b""
    return result


def one_line(result) -> str:
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_bad_configuration_value_names_file_line_and_key(milter, binaries):
    config = milter.config(redis_timeout="20x")
    line = next(i for i, text in enumerate(config.read_text().splitlines(), start=1)
                if text.startswith("redis_timeout"))
    result = start_expecting_failure(binaries, config)
    assert result.returncode == EX_CONFIG
    assert one_line(result) == (f"mailtrail-milter: error: {config}:{line}: redis_timeout: "
                                f"\"20x\" is not a duration (use 200ms, 5s, 10d)")


def test_unknown_parameter_names_file_line_and_key(milter, binaries):
    config = milter.config(redis_tiemout="1s")
    line = len(config.read_text().splitlines())
    result = start_expecting_failure(binaries, config)
    assert re.fullmatch(rf"mailtrail-milter: error: {re.escape(str(config))}:{line}: redis_tiemout: "
                        rf"unknown parameter .*", one_line(result))


def test_keys_file_readable_by_others_is_refused(milter, binaries, keys_file):
    keys_file.chmod(0o644)
    result = start_expecting_failure(binaries, milter.config())
    assert result.returncode == EX_CONFIG
    assert one_line(result) == (
        f"mailtrail-milter: error: {keys_file}: keys file is accessible to group or others "
        f"(mode 0644): run chmod 600 {keys_file} and chown it to the service user")


def test_tcp_port_in_use_is_a_clear_error(milter, binaries):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = start_expecting_failure(binaries, milter.config(milter_socket=f"inet:{port}@127.0.0.1"))
    assert result.returncode == EX_UNAVAILABLE
    assert one_line(result) == (f"mailtrail-milter: error: cannot listen on inet:{port}@127.0.0.1: "
                                f"Address already in use (is another mailtrail-milter running? "
                                f"check milter_socket)")


def test_tcp_connections_see_an_8_kib_mss(milter):
    """Postfix sizes its milter stream buffers to four times the MSS it sees, and on loopback
    (MTU 64 KiB) cleanup would then allocate and fill two 128-256 KiB buffers for every
    message: the filter's socket advertises at most 8 KiB (32 KiB buffers)."""
    process = milter()
    with socket.create_connection(("127.0.0.1", process.port), timeout=10) as client:
        mss = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    assert 8000 <= mss <= 8192


def test_unix_socket_gets_mode_and_group_and_postfix_delivers_through_it(
        milter, redis_server, postfix_instance, work_dir, binaries):
    path = work_dir / "run" / "milter.sock"
    path.parent.mkdir()
    path.parent.chmod(0o755)
    process = milter(redis_server, milter_socket=f"unix:{path}", milter_socket_mode="0660",
                     milter_socket_group="postfix")
    info = path.stat()
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o660
    assert info.st_gid == grp.getgrnam("postfix").gr_gid

    # Postfix's smtpd runs as the postfix user: the group grants it the connection.
    postfix = postfix_instance(milter=f"unix:{path}", default_action="tempfail")
    [queue_id] = postfix.smtp_send([(SENDER, ["unix@example.net"], (CORPUS / "munroe-email.alt-qp.eml").read_bytes())])
    got = postfix.wait_for_recipients(["unix@example.net"])["unix@example.net"]
    tracking_id = tracked_lines(process.log())[queue_id]["id"]
    assert f"X-MailTrail-ID: {tracking_id}".encode() in got.message

    # A second filter on the same socket refuses to start and leaves the first one's socket
    # (libmilter alone would unlink it and listen in its place).
    second = start_expecting_failure(binaries, milter.config(
        redis_server, milter_socket=f"unix:{path}", spool_directory=work_dir / "spool2"))
    assert one_line(second) == (f"mailtrail-milter: error: cannot listen on unix:{path}: {path} is in use "
                                f"by a running process (is another mailtrail-milter running? "
                                f"check milter_socket)")
    assert path.exists() and process.listening()

    # A stale socket left by a crash is replaced.
    process.kill()
    assert path.exists()
    again = milter(config=process.config)
    assert again.listening()


def test_postfix_reaches_a_unix_socket_in_its_queue_directory_by_a_relative_path(
        milter, redis_server, postfix_instance, work_dir):
    """The wiring README.md describes: the socket inside Postfix's queue directory and
    named relative to it (unix:mailtrail/milter.sock), which chrooted and unchrooted smtpd
    and cleanup processes all resolve alike; mail submitted over SMTP and through sendmail
    (pickup, cleanup, non_smtpd_milters) is tracked."""
    postfix = postfix_instance(milter="unix:mailtrail/milter.sock", default_action="tempfail")
    path = postfix.directory / "queue" / "mailtrail" / "milter.sock"
    path.parent.mkdir()
    path.parent.chmod(0o750)
    os.chown(path.parent, 0, grp.getgrnam("postfix").gr_gid)
    process = milter(redis_server, milter_socket=f"unix:{path}", milter_socket_group="postfix")

    message = (CORPUS / "munroe-email.alt-qp.eml").read_bytes()
    [queue_id] = postfix.smtp_send([(SENDER, ["relative-smtp@example.net"], message)])
    postfix.sendmail(message, SENDER, ["relative-pickup@example.net"])
    got = postfix.wait_for_recipients(["relative-smtp@example.net", "relative-pickup@example.net"])
    lines = tracked_lines(process.log())
    assert f"X-MailTrail-ID: {lines[queue_id]['id']}".encode() in got["relative-smtp@example.net"].message
    assert len(lines) == 2, lines
    [pickup_id] = [line["id"] for q, line in lines.items() if q != queue_id]
    assert f"X-MailTrail-ID: {pickup_id}".encode() in got["relative-pickup@example.net"].message


def test_unusable_unix_socket_directory_is_a_clear_error(milter, binaries, work_dir):
    path = work_dir / "missing" / "milter.sock"
    result = start_expecting_failure(binaries, milter.config(milter_socket=f"unix:{path}"))
    assert one_line(result) == (f"mailtrail-milter: error: cannot listen on unix:{path}: "
                                f"No such file or directory (check milter_socket)")


def test_pid_file_is_written_and_removed(milter, work_dir):
    pid_file = work_dir / "mailtrail-milter.pid"
    process = milter(milter_pid_file=pid_file)
    # Written just after the socket is opened, so it may trail "listening" by a moment.
    wait_until(lambda: pid_file.exists() and pid_file.read_text().endswith("\n"), 10, "the PID file")
    assert pid_file.read_text() == f"{process.pid}\n"
    assert process.stop() == 0
    assert not pid_file.exists()


def test_sigterm_lets_the_message_in_flight_finish(milter, redis_server, postfix_instance):
    process = milter(redis_server)
    postfix = postfix_instance(milter=process.postfix_socket, default_action="tempfail")
    original = (CORPUS / "postmark-basic-welcome.alt-b64.eml").read_bytes()
    head, body = re.sub(rb"(?m)^\.", b"..", original).split(b"\r\n\r\n", 1)
    smtp = smtplib.SMTP("127.0.0.1", postfix.smtp_port, timeout=30)
    try:
        smtp.ehlo("client.example.org")
        assert smtp.mail(SENDER)[0] == 250
        assert smtp.rcpt("inflight@example.net")[0] == 250
        assert smtp.docmd("DATA")[0] == 354
        # Half the message is on its way (headers reached the milter) when SIGTERM comes.
        smtp.send(head + b"\r\n\r\n" + body[:len(body) // 2])
        wait_until(lambda: _milter_connections(process) > 0, 10, "Postfix connected to the milter")
        time.sleep(0.5)
        signalled = time.monotonic()
        process.process.terminate()
        time.sleep(1.0)
        assert process.running(), "the milter exited with a message in flight"
        smtp.send(body[len(body) // 2:])
        code, reply = smtp.docmd(".")
        assert code == 250, reply
        queue_id = re.search(rb"queued as (\w+)", reply).group(1).decode()
        smtp.quit()
    finally:
        smtp.close()
    process.process.wait(15)
    elapsed = time.monotonic() - signalled
    assert process.process.returncode == 0, process.log()
    assert elapsed < 5 * SLOWDOWN, f"exit took {elapsed:.1f}s after SIGTERM"
    got = postfix.wait_for_recipients(["inflight@example.net"])["inflight@example.net"]
    tracking_id = tracked_lines(process.log())[queue_id]["id"]
    assert f"X-MailTrail-ID: {tracking_id}".encode() in got.message
    assert redis_server.hash(f"mt:msg:{tracking_id}")["queue_id"] == queue_id
    log = process.log()
    assert log.index(": stopping (SIGTERM): waiting for 1 message(s) in progress") \
        < log.index(f": {queue_id}: tracked ") < log.index(": stopped")


def test_libmilter_reads_are_buffered(milter, redis_server, postfix_instance):
    """libmilter's own read, poll and close go through MailTrail's buffered versions: most
    packets are served from bytes already read, not from a system call each."""
    process = milter(redis_server)
    postfix = postfix_instance(milter=process.postfix_socket, default_action="tempfail")
    data = (CORPUS / "postmark-basic-welcome.alt-b64.eml").read_bytes()
    recipients = [f"buffered-{i}@example.net" for i in range(5)]
    postfix.smtp_send([(SENDER, [rcpt], data) for rcpt in recipients])
    postfix.wait_for_recipients(recipients)
    assert process.stop() == 0
    log = process.log()
    assert ": libmilter reads buffered hold_ms=1000" in log, log
    stopped = re.search(r": stopped libmilter_buffered_reads=(\d+) libmilter_socket_reads=(\d+)", log)
    assert stopped, log
    buffered, from_socket = int(stopped.group(1)), int(stopped.group(2))
    # Each message is about 25 packets, each read as a 5-byte head and a body.
    assert buffered + from_socket >= 5 * 2 * 20
    assert buffered > from_socket


def _milter_connections(process: MilterProcess) -> int:
    out = run(["ss", "-Htn", "state", "established", f"sport = :{process.port}"]).stdout.decode()
    return len([line for line in out.splitlines() if line.strip()])


def test_detaches_into_the_background_without_f(milter, binaries, work_dir):
    pid_file = work_dir / "background.pid"
    config = milter.config(milter_pid_file=pid_file, log_destination="syslog")
    port = int(re.search(r"milter_socket = inet:(\d+)@", config.read_text()).group(1))
    started = time.monotonic()
    result = run([binaries.milter, "-c", config], timeout=30)
    assert result.returncode == 0 and result.stderr == b"", result
    assert time.monotonic() - started < 10
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 10, "PID file"))
    try:
        assert pid_alive(pid, "mailtrail-milte")       # comm is cut at 15 characters
        assert os.getsid(pid) == pid                    # its own session, no terminal
        wait_until(lambda: any(f"pid={pid}," in line for line in
                               run(["ss", "-Hltnp", f"sport = :{port}"]).stdout.decode().splitlines()),
                   10, "the background milter listening")
    finally:
        os.kill(pid, 15)
    wait_until(lambda: not pid_alive(pid, "mailtrail-milte"), 15, "the background milter to exit")
    assert not pid_file.exists()


def test_check_only_validates_and_exits(milter, binaries):
    result = run([binaries.milter, "-c", milter.config(), "-n"])
    assert result.stdout == b"mailtrail-milter: configuration OK\n"
