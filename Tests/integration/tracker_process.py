"""mailtrail-tracker as the tracker tests run it: the real binary on a loopback port, its log in
the work directory, stopped by PID (SIGTERM, or SIGKILL for crash tests); and small helpers to
mint tracking links with `mailtrail link encode`, read events from Redis and speak raw HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from harness import RedisServer, listening_on, pid_alive, run, wait_until

PROCESS_NAME = "mailtrail-track"   # /proc/PID/comm keeps 15 characters


class TrackerProcess:
    """`mailtrail-tracker -c CONFIG -f` listening on 127.0.0.1:port."""

    def __init__(self, binary: Path, config: Path, port: int, log: Path):
        self.binary = binary
        self.config = config
        self.port = port
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> "TrackerProcess":
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([str(self.binary), "-c", str(self.config), "-f"],
                                            stdout=log, stderr=subprocess.STDOUT)

        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"mailtrail-tracker exited with {self.process.returncode}:\n{self.log_text()}")
            return listening_on(self.port)

        wait_until(ready, 20, f"mailtrail-tracker to listen on {self.port}")
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM; returns the exit status."""
        return self._signal(signal.SIGTERM, timeout)

    def kill(self) -> int:
        """SIGKILL, as a crash would."""
        return self._signal(signal.SIGKILL, 10)

    def _signal(self, sig: int, timeout: float) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        status = self.process.wait(timeout=timeout)
        assert not pid_alive(self.process.pid, PROCESS_NAME)
        return status

    def stop_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.terminate()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def metrics(self) -> dict[str, float]:
        """/metrics as {'name{labels}': value}."""
        status, _, body = http_get(self.port, "/metrics")
        assert status == 200
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values


def mint(mailtrail: Path, config: Path, tracking_id: str, destination: str | None = None,
         index: int = 0, issued_at: int | None = None) -> str:
    """A tracking URL from `mailtrail link encode`: the pixel when destination is None."""
    args = [mailtrail, "link", "encode", "--config", config, "--tracking-id", tracking_id]
    if issued_at is not None:
        args += ["--issued-at", str(issued_at)]
    if destination is None:
        args.append("--pixel")
    else:
        args += ["--index", str(index), destination]
    return run(args).stdout.decode().strip()


def path_of(url: str) -> str:
    """The path of an absolute URL (what a client sends on the request line)."""
    rest = url.split("://", 1)[1]
    return "/" + rest.split("/", 1)[1]


def events(redis: RedisServer) -> list[dict]:
    """Every event in mt:events, oldest first, as parsed JSON (checking the entry's id field)."""
    out = run(["redis-cli", "-h", redis.host, "-p", str(redis.port), "--no-auth-warning", "--json",
               "XRANGE", "mt:events", "-", "+"]).stdout.decode()
    parsed = []
    for _, fields in json.loads(out or "[]") or []:
        if isinstance(fields, dict):
            event_id, document = fields["id"], fields["json"]
        else:
            values = dict(zip(fields[::2], fields[1::2]))
            event_id, document = values["id"], values["json"]
        event = json.loads(document)
        assert event["id"] == event_id
        parsed.append(event)
    return parsed


def stream_length(redis: RedisServer) -> int:
    try:
        return int(redis.cli("XLEN", "mt:events"))
    except (AssertionError, ValueError):
        return -1


def wait_for_events(redis: RedisServer, count: int, timeout: float = 30) -> list[dict]:
    wait_until(lambda: stream_length(redis) >= count, timeout,
               f"{count} events in mt:events (have {stream_length(redis)})")
    time.sleep(0.3)
    found = events(redis)
    assert len(found) == count, f"expected {count} events, found {len(found)}"
    return found


def http_get(port: int, path: str, headers: dict[str, str] | None = None, source: str | None = None,
             method: str = "GET", timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection (from `source`, another 127.x address, when given)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as connection:
        lines = [f"{method} {path} HTTP/1.1", "Host: t.example.test", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), parsed, body


# ---------------------------------------------------------------------------------------------
# Fixtures (import them into a test module to use them)

import pytest  # noqa: E402

from harness import free_port  # noqa: E402


@pytest.fixture
def tracker_factory(binaries, mailtrail_config, redis_server, work_dir):
    """`tracker_factory(**settings)` writes a configuration (Redis: the test's redis_server,
    tracker on a free port, spool under the work directory, logs on stderr) and starts
    mailtrail-tracker with it; `tracker_factory.restart(tracker)` starts another process with the
    same configuration. Every process still running at the end is stopped with SIGTERM."""
    started: list[TrackerProcess] = []

    def start(**settings) -> TrackerProcess:
        values = {"tracker_listen": f"127.0.0.1:{free_port()}", "log_destination": "stderr", **settings}
        port = int(str(values["tracker_listen"]).rpartition(":")[2])
        config = mailtrail_config(redis_server, **values)
        tracker = TrackerProcess(binaries.tracker, config, port, work_dir / f"tracker{len(started)}.log")
        started.append(tracker)
        return tracker.start()

    def restart(previous: TrackerProcess) -> TrackerProcess:
        tracker = TrackerProcess(previous.binary, previous.config, previous.port,
                                 work_dir / f"tracker{len(started)}.log")
        started.append(tracker)
        return tracker.start()

    start.restart = restart
    start.mailtrail = binaries.mailtrail
    yield start
    for tracker in started:
        tracker.stop_if_running()
