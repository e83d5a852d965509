"""Processes and files the integration tests start and read: the throwaway Postfix with its
smtp-sink (scripts/postfix-instance.sh), a throwaway Redis (scripts/redis-instance.sh), the
MailTrail binaries, configuration and key files. Everything listens on 127.0.0.1 only, every
wait is bounded, every process is stopped by its PID. Fixtures in conftest.py wrap these.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import smtplib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
sys.path.insert(0, str(SCRIPTS))
from freeport import ephemeral_port_range, free_port, free_ports  # noqa: E402,F401  (the shell scripts use it too)

CORPUS = REPO / "Tests" / "Fixtures" / "corpus" / "messages"
COMMAND_TIMEOUT = 60      # seconds, any helper script or binary run
SMTP_TIMEOUT = 30

# "address" or "thread" when MAILTRAIL_BIN_DIR holds sanitizer builds (scripts/sanitize.sh sets
# it). They run several times slower, and AddressSanitizer keeps freed memory in quarantine:
# latency bounds get SLOWDOWN times their slack, and memory-growth bounds do not apply.
SANITIZER = os.environ.get("MAILTRAIL_SANITIZER", "")
SLOWDOWN = 5 if SANITIZER else 1

# Headers smtp-sink writes in front of each captured message (see smtp-sink(1)).
SINK_HEADERS = ("x-client-addr", "x-client-proto", "x-helo-args", "x-mail-args", "x-rcpt-args")


def run(args: list[str], *, input: bytes | None = None, timeout: float = COMMAND_TIMEOUT,
        check: bool = True) -> subprocess.CompletedProcess:
    """Runs a command with a time limit; on failure the error shows its output."""
    result = subprocess.run([str(a) for a in args], input=input, capture_output=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited with {result.returncode}\n"
            f"stdout: {result.stdout.decode(errors='replace')}\n"
            f"stderr: {result.stderr.decode(errors='replace')}")
    return result


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    """Polls `condition()` until it returns a true value (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Ports and processes


def listeners() -> list[tuple[str, int, str]]:
    """(address, port, process column) of every listening TCP socket, from `ss -Hltnp`."""
    out = run(["ss", "-Hltnp"]).stdout.decode()
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address, _, port = fields[3].rpartition(":")
        found.append((address, int(port), " ".join(fields[5:])))
    return found


def listening_on(port: int) -> list[tuple[str, int, str]]:
    return [entry for entry in listeners() if entry[1] == port]


def unix_listeners(path: Path) -> list[str]:
    """The process column of every listening Unix stream socket bound to `path` (`ss -Hlxp`);
    a socket file left behind by a process that exited has none."""
    out = run(["ss", "-Hlxp"]).stdout.decode()
    return [" ".join(fields[8:]) for fields in map(str.split, out.splitlines())
            if len(fields) > 4 and fields[4] == str(path)]


def processes_in(directory: Path) -> list[int]:
    """PIDs whose working directory is `directory` or inside it (every Postfix daemon of an
    instance works in its queue directory)."""
    prefix = str(directory)
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if (cwd == prefix or cwd.startswith(prefix + "/")) and not _zombie(proc):
            found.append(int(proc.name))
    return found


def _zombie(proc: Path) -> bool:
    try:
        return (proc / "stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def pid_alive(pid: int, name: str) -> bool:
    """True when `pid` runs (a zombie has exited) and its command is `name`."""
    try:
        if Path(f"/proc/{pid}/comm").read_text().strip() != name:
            return False
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


# ---------------------------------------------------------------------------------------------
# Binaries


@dataclass
class Binaries:
    """Paths of the three MailTrail executables (MAILTRAIL_BIN_DIR, default .build/debug)."""

    directory: Path

    @classmethod
    def from_environment(cls) -> "Binaries":
        return cls(Path(os.environ.get("MAILTRAIL_BIN_DIR", REPO / ".build" / "debug")))

    def path(self, name: str) -> Path:
        return self.directory / name

    def exists(self, name: str) -> bool:
        path = self.path(name)
        return path.is_file() and os.access(path, os.X_OK)

    def require(self, name: str) -> Path:
        """The binary's path; the test fails, saying how to fix it, when it is not built."""
        if not self.exists(name):
            pytest.fail(f"{name} not found at {self.path(name)}: build it with `swift build` "
                        f"or point MAILTRAIL_BIN_DIR at the directory holding it", pytrace=False)
        return self.path(name)

    @property
    def mailtrail(self) -> Path:
        return self.require("mailtrail")

    @property
    def milter(self) -> Path:
        return self.require("mailtrail-milter")

    @property
    def tracker(self) -> Path:
        return self.require("mailtrail-tracker")


# ---------------------------------------------------------------------------------------------
# Configuration and keys


def write_config(path: Path, values: Mapping[str, object]) -> Path:
    """Writes MailTrail's configuration file: one Postfix-style `key = value` line per entry,
    in the given order. Booleans become yes/no."""
    lines = ["# MailTrail test configuration (written by Tests/integration/harness.py)"]
    for key, value in values.items():
        if isinstance(value, bool):
            value = "yes" if value else "no"
        text = str(value)
        if "\n" in text:
            raise ValueError(f"configuration value for {key} contains a newline")
        lines.append(f"{key} = {text}")
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o644)
    return path


def signing_key(key_id: str) -> bytes:
    """A fixed 32-byte signing key per key id, so test runs are reproducible."""
    return hashlib.sha256(b"mailtrail integration test key " + key_id.encode()).digest()


def write_keys(path: Path, key_ids: Iterable[str] = ("k1",), active: str | None = None) -> Path:
    """Writes the signing key file (`ID = base64 of 32 bytes` lines and `active = ID`), mode 0600."""
    ids = list(key_ids)
    active = active or ids[0]
    if active not in ids:
        raise ValueError(f"active key {active} is not among {ids}")
    lines = ["# MailTrail test signing keys"]
    lines += [f"{kid} = {base64.b64encode(signing_key(kid)).decode()}" for kid in ids]
    lines.append(f"active = {active}")
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# The MailTrail CLI


class MailtrailCLI:
    """`mailtrail rewrite` and `mailtrail link decode` as the tests use them."""

    def __init__(self, binary: Path, config: Path):
        self.binary = binary
        self.config = config

    def rewrite(self, message: bytes, tracking_id: str, issued_at: int | None = None) -> bytes:
        """`mailtrail rewrite` stdin -> stdout; a fixed `issued_at` makes the output reproducible."""
        args = [self.binary, "rewrite", "--config", self.config, "--tracking-id", tracking_id]
        if issued_at is not None:
            args += ["--issued-at", issued_at]
        return run(args, input=message).stdout

    def decode(self, url: str) -> dict:
        """`mailtrail link decode --json`: exit 0 when the signature verifies, 1 when not."""
        result = run([self.binary, "link", "decode", "--config", self.config, "--json", url],
                     check=False)
        out = result.stdout
        if result.returncode not in (0, 1):
            raise AssertionError(f"mailtrail link decode {url} exited with {result.returncode}: "
                                 f"{result.stderr.decode(errors='replace')}")
        try:
            fields = json.loads(out)
        except json.JSONDecodeError as error:
            raise AssertionError(f"mailtrail link decode printed no JSON object: {out!r}") from error
        if not isinstance(fields, dict) or "valid" not in fields or "url" not in fields:
            raise AssertionError(f"mailtrail link decode: missing 'url' or 'valid' in {fields!r}")
        if (result.returncode == 0) != (fields["valid"] is True):
            raise AssertionError(f"mailtrail link decode exited {result.returncode} "
                                 f"with valid={fields['valid']!r}")
        return fields

    def decode_link(self, url: str) -> str:
        """The destination of a click URL; raises unless its signature verifies."""
        fields = self.decode(url)
        if fields["valid"] is not True:
            raise AssertionError(f"token does not verify: {fields!r}")
        return fields["url"]


# ---------------------------------------------------------------------------------------------
# Redis


class RedisServer:
    """A redis-server on 127.0.0.1:port and on the Unix socket `socket_path`, with its files
    in `directory`."""

    def __init__(self, directory: Path, port: int, aof: bool = False):
        self.directory = directory
        self.host = "127.0.0.1"
        self.port = port
        self.aof = aof
        self._socket: Path | None = None

    def start(self, unixsocket: Path | None = None) -> "RedisServer":
        """Starts (again); on the Unix socket `unixsocket` instead of directory/redis.sock."""
        self._socket = unixsocket
        args = [SCRIPTS / "redis-instance.sh", "start", self.directory, self.port]
        args += ["--aof"] if self.aof else []
        args += ["--socket", unixsocket] if unixsocket else []
        run(args)
        return self

    def stop(self) -> None:
        run([SCRIPTS / "redis-instance.sh", "stop", self.directory])

    @property
    def socket_path(self) -> Path:
        return self._socket or self.directory / "redis.sock"

    @property
    def pid(self) -> int | None:
        try:
            return int((self.directory / "redis.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def command(self, *args: str | bytes | int):
        """One command through a direct RESP connection (see redis_command)."""
        return redis_command(self.host, self.port, *args)

    def hash(self, key: str) -> dict[str, str]:
        """HGETALL as a dict of text (empty when the key does not exist)."""
        reply = self.command("HGETALL", key)
        return {reply[i].decode(): reply[i + 1].decode() for i in range(0, len(reply), 2)}

    def cli(self, *args: str) -> str:
        """One redis-cli command; its raw output without the trailing newline."""
        out = run(["redis-cli", "-h", self.host, "-p", str(self.port), "--no-auth-warning", *args])
        return out.stdout.decode().rstrip("\n")


def redis_command(host: str, port: int, *args: str | bytes | int, timeout: float = 10):
    """One Redis command over a fresh connection (RESP2): bulk strings come back as bytes,
    integers as int, arrays as lists, nil as None; an error reply raises RuntimeError."""
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(request)
        reader = connection.makefile("rb")
        return _resp_read(reader)


def redis_pipeline(host: str, port: int, commands: list[tuple], timeout: float = 30) -> list:
    """Many Redis commands over one fresh connection, sent at once (RESP2): the replies in
    order, decoded as by redis_command, except that an error reply is returned as a
    RedisErrorReply value instead of raised, so one failing command does not hide the others."""
    request = bytearray()
    for args in commands:
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        request += b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(request)
        reader = connection.makefile("rb")
        replies = []
        for _ in commands:
            try:
                replies.append(_resp_read(reader))
            except RedisErrorReply as error:
                replies.append(error)
        return replies


class RedisErrorReply(RuntimeError):
    """An error reply from Redis (`-ERR ...`), as opposed to a broken connection or reply."""


def _resp_read(reader):
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise RuntimeError(f"truncated Redis reply {line!r}")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisErrorReply(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data = reader.read(size + 2)
        return data[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_resp_read(reader) for _ in range(count)]
    raise RuntimeError(f"unknown Redis reply {line!r}")


# ---------------------------------------------------------------------------------------------
# The throwaway Postfix and its sink


@dataclass
class Captured:
    """One message as smtp-sink captured it."""

    path: Path
    envelope: dict[str, list[str]]   # lower-case sink header name -> values (x-rcpt-args: several)
    message: bytes                   # as Postfix delivered it, CRLF line endings

    @property
    def mail_from(self) -> str:
        return self.envelope.get("x-mail-args", [""])[0].split()[0].strip("<>") \
            if self.envelope.get("x-mail-args") else ""

    @property
    def recipients(self) -> list[str]:
        return [args.split()[0].strip("<>") for args in self.envelope.get("x-rcpt-args", [])]


def parse_capture(data: bytes, path: Path = Path("-")) -> Captured:
    """Splits an smtp-sink capture into the sink's envelope headers and the delivered message.

    The capture is: X-Client-Addr, X-Client-Proto, X-Helo-Args, X-Mail-Args, X-Rcpt-Args...,
    smtp-sink's own 3-line Received header, the message as received (LF line endings), and
    one added empty line."""
    lines = data.split(b"\n")
    envelope: dict[str, list[str]] = {}
    index = 0
    while index < len(lines):
        name, sep, value = lines[index].partition(b":")
        if sep and name.decode("latin-1").lower() in SINK_HEADERS:
            envelope.setdefault(name.decode().lower(), []).append(value.decode("latin-1").strip())
            index += 1
            continue
        break
    if not lines[index].lower().startswith(b"received:"):
        raise AssertionError(f"{path}: no smtp-sink Received header after the envelope")
    received = [lines[index]]
    index += 1
    while index < len(lines) and lines[index][:1] in (b" ", b"\t"):
        received.append(lines[index])
        index += 1
    if b"(smtp-sink)" not in b"".join(received):
        raise AssertionError(f"{path}: the first Received header is not smtp-sink's")
    body = b"\n".join(lines[index:])
    if not body.endswith(b"\n\n"):
        raise AssertionError(f"{path}: capture does not end with smtp-sink's empty line")
    body = body[:-1]
    return Captured(path, envelope, re.sub(rb"\r?\n", b"\r\n", body))


def strip_leading_received(message: bytes) -> tuple[list[bytes], bytes]:
    """(the Received headers at the top of `message`, everything after them)."""
    received = []
    rest = message
    while rest.lower().startswith(b"received:"):
        end = 0
        while True:
            end = rest.index(b"\r\n", end) + 2
            if rest[end:end + 1] not in (b" ", b"\t"):
                break
        received.append(rest[:end])
        rest = rest[end:]
    return received, rest


class PostfixInstance:
    """A running throwaway Postfix (scripts/postfix-instance.sh) and its smtp-sink."""

    def __init__(self, directory: Path, smtp_port: int, sink_port: int,
                 milter: str | None = None, default_action: str = "accept", hold: bool = False):
        self.directory = directory
        self.conf = directory / "conf"
        self.smtp_port = smtp_port
        self.sink_port = sink_port
        self.milter = milter
        self.default_action = default_action
        self.hold = hold
        self.running = False
        self._parsed: dict[Path, Captured] = {}

    def _script(self, *args, input: bytes | None = None, check: bool = True):
        return run([SCRIPTS / "postfix-instance.sh", args[0], self.directory, *args[1:]],
                   input=input, check=check)

    def start(self) -> "PostfixInstance":
        args = ["start", "--smtp-port", self.smtp_port, "--sink-port", self.sink_port]
        if self.milter:
            args += ["--milter", self.milter, "--default-action", self.default_action]
        if self.hold:
            args.append("--hold")
        self._script(*args)
        self.running = True
        return self

    def stop(self) -> None:
        self._script("stop")
        self.running = False

    def status(self) -> bool:
        return self._script("status", check=False).returncode == 0

    @property
    def master_pid(self) -> int | None:
        try:
            return int((self.directory / "queue" / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def sink_pid(self) -> int | None:
        try:
            return int((self.directory / "smtp-sink.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    # -- submission ------------------------------------------------------------------------

    def smtp_send(self, messages: Iterable[tuple[str, list[str], bytes]]) -> list[str]:
        """Sends every (sender, recipients, message) over ONE SMTP connection; returns the
        Postfix queue ids. Any refusal raises."""
        queue_ids = []
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
            smtp.ehlo("client.mailtrail-test.localhost")
            for sender, recipients, data in messages:
                code, reply = smtp.mail(sender)
                if code != 250:
                    raise AssertionError(f"MAIL FROM:<{sender}> refused: {code} {reply!r}")
                for recipient in recipients:
                    code, reply = smtp.rcpt(recipient)
                    if code not in (250, 251):
                        raise AssertionError(f"RCPT TO:<{recipient}> refused: {code} {reply!r}")
                code, reply = smtp.data(data)
                if code != 250:
                    raise AssertionError(f"DATA refused: {code} {reply!r}")
                match = re.search(rb"queued as ([0-9A-Za-z]+)", reply)
                queue_ids.append(match.group(1).decode() if match else "")
        return queue_ids

    def sendmail(self, data: bytes, sender: str, recipients: list[str]) -> None:
        """Submits through `sendmail -C DIR/conf` (postdrop, then pickup): root only."""
        self._script("sendmail", "-i", "-f", sender, "--", *recipients, input=data)

    # -- what happened ---------------------------------------------------------------------

    def capture_paths(self) -> list[Path]:
        """Complete captured messages, oldest first (files smtp-sink still writes excluded)."""
        out = self._script("messages").stdout.decode()
        return [Path(line) for line in out.splitlines() if line]

    def captured(self) -> list[Captured]:
        return [parse_capture(p.read_bytes(), p) for p in self.capture_paths()]

    def wait_for_messages(self, count: int, timeout: float = 30) -> list[Captured]:
        """Waits until at least `count` messages are captured; on timeout the error shows the
        end of the maillog and the queue."""
        try:
            wait_until(lambda: len(self.capture_paths()) >= count, timeout,
                       f"{count} captured message(s) in {self.directory / 'sink'}", interval=0.1)
        except TimeoutError as error:
            raise AssertionError(
                f"{error}; captured {len(self.capture_paths())}, queued {self.queue_size()}\n"
                f"maillog tail:\n{self.maillog_tail()}") from None
        return self.captured()

    def captured_by_recipient(self) -> dict[str, list[Captured]]:
        """Every complete capture, grouped by envelope recipient (each file parsed once)."""
        found: dict[str, list[Captured]] = {}
        for path in self.capture_paths():
            if path not in self._parsed:
                self._parsed[path] = parse_capture(path.read_bytes(), path)
            for recipient in self._parsed[path].recipients:
                found.setdefault(recipient, []).append(self._parsed[path])
        return found

    def wait_for_recipients(self, recipients: Iterable[str], timeout: float = 30) -> dict[str, Captured]:
        """Waits until a message for each recipient is captured; returns recipient -> message
        (the error on timeout names the missing ones and shows the end of the maillog)."""
        wanted = list(recipients)
        found: dict[str, list[Captured]] = {}

        def complete():
            nonlocal found
            found = self.captured_by_recipient()
            return all(r in found for r in wanted)
        try:
            wait_until(complete, timeout, f"messages for {len(wanted)} recipient(s)", interval=0.2)
        except TimeoutError as error:
            missing = [r for r in wanted if r not in found]
            raise AssertionError(f"{error}; missing {missing[:10]} ({len(missing)}), queued "
                                 f"{self.queue_size()}\nmaillog tail:\n{self.maillog_tail()}") from None
        return {r: found[r][0] for r in wanted}

    def maillog(self) -> str:
        try:
            return (self.directory / "maillog").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def maillog_tail(self, lines: int = 30) -> str:
        return "\n".join(self.maillog().splitlines()[-lines:])

    def queue_size(self) -> int:
        return int(self._script("queue").stdout.decode().strip() or 0)

    def requeue(self) -> None:
        """postsuper -r ALL: every queued message goes through cleanup (and non_smtpd_milters)."""
        self._script("requeue")

    def flush(self) -> None:
        self._script("flush")

    def release(self) -> None:
        """Ends --hold: queued mail and new mail are delivered again."""
        self._script("release")

    def postconf(self, name: str) -> str:
        """The instance's value of a main.cf parameter."""
        return run(["postconf", "-c", self.conf, "-h", name]).stdout.decode().strip()

    def configure(self, **settings: object) -> None:
        """Changes main.cf parameters of the running instance (postconf -e) and reloads it;
        returns once the master has re-read its configuration."""
        run(["postconf", "-c", self.conf, "-e", *[f"{k} = {v}" for k, v in settings.items()]])
        reloads = len(re.findall(r"master\[\d+\]: reload ", self.maillog()))
        run(["postfix", "-c", self.conf, "reload"])
        wait_until(lambda: len(re.findall(r"master\[\d+\]: reload ", self.maillog())) > reloads,
                   15, "postfix reload")
        for name, value in settings.items():
            if self.postconf(name) != str(value):
                raise AssertionError(f"{name} is {self.postconf(name)!r} after reload, not {value!r}")

    def wait_for_log(self, pattern: str, timeout: float = 30) -> re.Match:
        """Waits until the maillog matches the regular expression `pattern`."""
        try:
            return wait_until(lambda: re.search(pattern, self.maillog(), re.MULTILINE), timeout,
                              f"maillog line matching {pattern!r}", interval=0.1)
        except TimeoutError as error:
            raise AssertionError(f"{error}\nmaillog tail:\n{self.maillog_tail()}") from None


# ---------------------------------------------------------------------------------------------
# mailtrail-milter


class MilterProcess:
    """`mailtrail-milter -c CONFIG -f` in the foreground, its stderr in `log_path`; stopped by PID.

    `socket` is the milter's own socket in libmilter syntax (inet:PORT@127.0.0.1 or
    unix:/PATH), as in the configuration; `postfix_socket` is the same socket as Postfix
    writes it."""

    def __init__(self, binary: Path, config: Path, socket: str, log_path: Path,
                 extra_args: Iterable[str] = ()):
        self.binary = binary
        self.config = config
        self.socket = socket
        self.log_path = log_path
        self.extra_args = [str(a) for a in extra_args]
        self.process: subprocess.Popen | None = None
        self.returncode: int | None = None

    @property
    def postfix_socket(self) -> str:
        scheme, _, rest = self.socket.partition(":")
        if scheme == "inet":
            port, _, host = rest.partition("@")
            return f"inet:{host or '127.0.0.1'}:{port}"
        return self.socket

    @property
    def port(self) -> int | None:
        scheme, _, rest = self.socket.partition(":")
        return int(rest.partition("@")[0]) if scheme == "inet" else None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def listening(self) -> bool:
        if self.port is not None:
            return any(f"pid={self.pid}," in entry[2] for entry in listening_on(self.port))
        # The socket file alone is not enough: one left by an earlier milter is still there.
        path = Path(self.socket.partition(":")[2])
        return any(f"pid={self.pid}," in entry for entry in unix_listeners(path))

    def command(self) -> list[str]:
        """The milter's command line."""
        return [str(self.binary), "-c", str(self.config), "-f", *self.extra_args]

    def start(self, timeout: float = 15) -> "MilterProcess":
        """Starts the milter and waits until it listens; raises with its log when it exits."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.returncode = None
        try:
            wait_until(lambda: self.process.poll() is not None or self.listening(), timeout,
                       f"{self.binary.name} listening on {self.socket}")
        except TimeoutError as error:
            self.kill()
            raise AssertionError(f"{error}\nmilter log:\n{self.log()}") from None
        if self.process.poll() is not None:
            self.returncode = self.process.returncode
            raise AssertionError(f"{self.binary.name} exited with {self.returncode}:\n{self.log()}")
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, then waits for the exit; returns the exit status (None when not started).
        A milter that ignores SIGTERM is killed and the test fails."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"{self.binary.name} {self.pid} ignored SIGTERM for {timeout}s")
        self.returncode = self.process.returncode
        return self.returncode

    def kill(self) -> None:
        """SIGKILL (a crash): no clean-up of any kind happens in the milter."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if self.process is not None:
            self.returncode = self.process.returncode

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self, pattern: str = "") -> list[str]:
        """Log lines matching the regular expression `pattern` (all lines when empty)."""
        return [line for line in self.log().splitlines() if re.search(pattern, line)]

    def wait_for_log(self, pattern: str, timeout: float = 30) -> re.Match:
        try:
            return wait_until(lambda: re.search(pattern, self.log(), re.MULTILINE), timeout,
                              f"milter log line matching {pattern!r}", interval=0.1)
        except TimeoutError as error:
            raise AssertionError(f"{error}\nmilter log tail:\n"
                                 + "\n".join(self.log().splitlines()[-30:])) from None


# `mailtrail-milter[PID]: info: QUEUEID: tracked enrichment=redis id=HEX links=N ms=1.2 pixels=N`
TRACKED_LINE = re.compile(r"mailtrail-milter\[\d+\]: info: (\w+): tracked (.*)$", re.MULTILINE)


def tracked_lines(log: str) -> dict[str, dict[str, str]]:
    """Queue id -> the key=value fields of its "tracked" log line."""
    found = {}
    for match in TRACKED_LINE.finditer(log):
        found[match.group(1)] = dict(field.split("=", 1) for field in match.group(2).split()
                                     if "=" in field)
    return found


def received_queue_id(message: bytes) -> str | None:
    """The queue id in the top Received header Postfix added (`... (Postfix) with ESMTP id X`
    or `... (Postfix, from userid 0) id X`)."""
    received, _ = strip_leading_received(message)
    for header in received:
        match = re.search(rb"\(Postfix[^)]*\)(?:\s+with\s+\S+)?\s+id\s+([0-9A-Za-z]+)", header)
        if match:
            return match.group(1).decode()
    return None


class EchoMilter(MilterProcess):
    """bench/echo-milter.c: the cheapest filter making mailtrail-milter's changes (body sent
    back unchanged as a replacement, X-MailTrail-ID added, one Redis hash per message), the
    reference bench/milter measures beside MailTrail. `buffered`: libmilter's reads buffered
    as in mailtrail-milter (Sources/CLibmilterIO), else stock."""

    SOURCES = [REPO / "bench" / "echo-milter.c", *sorted((REPO / "Sources" / "CLibmilterIO").glob("*.c"))]

    def __init__(self, binary: Path, socket: str, redis_port: int, log_path: Path, buffered: bool = True):
        super().__init__(binary, Path("/dev/null"), socket, log_path)
        self.redis_port = redis_port
        self.buffered = buffered

    @classmethod
    def build(cls, directory: Path) -> Path:
        """Compiles the filter into `directory` (libmilter-dev and libhiredis-dev, which
        MailTrail's own build needs too); returns the binary."""
        binary = directory / "echo-milter"
        run(["cc", "-O2", "-Wall", "-Werror", "-I", REPO / "Sources" / "CLibmilterIO" / "include",
             "-o", binary, *cls.SOURCES, "-lmilter", "-lhiredis", "-lpthread"])
        return binary

    def command(self) -> list[str]:
        return [str(self.binary), "-p", self.socket, "-r", str(self.redis_port),
                *(["-b"] if self.buffered else [])]

    def start(self, timeout: float = 15) -> "EchoMilter":
        """Starts it and, on a Unix socket, lets the postfix user connect (libmilter leaves
        the mode to the umask)."""
        super().start(timeout)
        if self.port is None:
            Path(self.socket.partition(":")[2]).chmod(0o666)
        return self
