"""Fixtures of MailTrail's integration tests (run as root: `python3 -m pytest -q Tests/integration`).

Environment:
  MAILTRAIL_BIN_DIR           where mailtrail, mailtrail-milter, mailtrail-tracker are
                              (default: .build/debug of this repository)
  MAILTRAIL_REQUIRE_BINARIES  "1": tests marked needs_mailtrail / needs_milter / needs_tracker
                              FAIL instead of being skipped when their binary is missing
  MAILTRAIL_KEEP_TMP          "1": keep each test's work directory (/tmp/mailtrail-it-*)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from harness import (Binaries, MailtrailCLI, MilterProcess, PostfixInstance, RedisServer,
                     free_port, free_ports, pid_alive, write_config, write_keys)

TRACKING_BASE = "https://t.example.test/"

# marker -> binary it needs
BINARY_MARKERS = {
    "needs_mailtrail": "mailtrail",
    "needs_milter": "mailtrail-milter",
    "needs_tracker": "mailtrail-tracker",
}


def pytest_configure(config):
    for marker, binary in BINARY_MARKERS.items():
        config.addinivalue_line(
            "markers", f"{marker}: needs the {binary} binary; skipped while it is not built "
                       f"(MAILTRAIL_REQUIRE_BINARIES=1 turns the skip into a failure)")


def pytest_runtest_setup(item):
    binaries = Binaries.from_environment()
    for marker, binary in BINARY_MARKERS.items():
        if item.get_closest_marker(marker) and not binaries.exists(binary):
            reason = f"{binary} is not built yet (no {binaries.path(binary)})"
            if os.environ.get("MAILTRAIL_REQUIRE_BINARIES") == "1":
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)


@pytest.fixture(scope="session")
def binaries() -> Binaries:
    """Paths of the MailTrail binaries; `binaries.mailtrail` etc. fail the test when missing."""
    return Binaries.from_environment()


def _make_work_dir():
    path = Path(tempfile.mkdtemp(prefix="mailtrail-it-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    if os.environ.get("MAILTRAIL_KEEP_TMP") != "1":
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def work_dir():
    """A fresh directory under /tmp that the postfix user can reach (pytest's own tmp_path is
    mode 0700), removed afterwards unless MAILTRAIL_KEEP_TMP=1."""
    yield from _make_work_dir()


@pytest.fixture(scope="module")
def module_work_dir():
    """Like work_dir, shared by the tests of one module (for module-scoped processes)."""
    yield from _make_work_dir()


@pytest.fixture
def port():
    """A free TCP port on 127.0.0.1 (call-time free; bind it soon)."""
    return free_port()


@pytest.fixture
def redis_server(work_dir):
    """A redis-server on 127.0.0.1 and a free port, no persistence; stopped by PID afterwards."""
    server = RedisServer(work_dir / "redis", free_port()).start()
    yield server
    pid = server.pid
    server.stop()
    assert pid is None or not pid_alive(pid, "redis-server"), f"redis-server {pid} still runs"


@pytest.fixture
def postfix_instance(work_dir):
    """Factory: `postfix_instance(milter=None, default_action="tempfail", hold=False)` starts a
    throwaway Postfix + smtp-sink on free loopback ports and returns its PostfixInstance; every
    instance started is stopped afterwards. milter is Postfix's socket syntax
    (inet:127.0.0.1:PORT). tempfail is the tests' default so that a broken milter shows as
    refused or queued mail, never as mail that silently passed untracked. hold=True keeps
    accepted mail queued until `instance.release()` (for `instance.requeue()` tests)."""
    if os.geteuid() != 0:
        pytest.fail("the throwaway Postfix needs root", pytrace=False)
    started: list[PostfixInstance] = []

    def start(milter: str | None = None, default_action: str = "tempfail",
              hold: bool = False) -> PostfixInstance:
        smtp_port, sink_port = free_ports(2)
        instance = PostfixInstance(work_dir / f"postfix{len(started)}", smtp_port, sink_port,
                                   milter, default_action, hold)
        started.append(instance)
        return instance.start()

    yield start
    failures = []
    for instance in started:
        try:
            instance.stop()
        except Exception as error:  # stop every instance, then report
            failures.append(f"{instance.directory}: {error}")
    assert not failures, "stopping Postfix failed: " + "; ".join(failures)


@pytest.fixture
def keys_file(work_dir) -> Path:
    """Signing keys `k1` (active), mode 0600."""
    return write_keys(work_dir / "keys")


@pytest.fixture
def mailtrail_config(work_dir, keys_file):
    """Factory: `mailtrail_config(redis=None, **overrides)` writes a configuration file and
    returns its path. Defaults: the test tracking base, the test keys, Redis at the given
    RedisServer (else a free port where nothing listens: Redis down), the milter and the
    tracker on free loopback ports, a spool under the work directory."""
    count = [0]

    def write(redis: RedisServer | None = None, **overrides) -> Path:
        milter_port, tracker_port = free_ports(2)
        values = {
            "tracking_base_url": TRACKING_BASE,
            "keys_file": keys_file,
            "redis_host": "127.0.0.1",
            "redis_port": redis.port if redis else free_port(),
            "milter_socket": f"inet:{milter_port}@127.0.0.1",
            "tracker_listen": f"127.0.0.1:{tracker_port}",
            "spool_directory": work_dir / "spool",
        }
        values.update(overrides)
        count[0] += 1
        return write_config(work_dir / f"mailtrail{count[0]}.conf", values)

    return write


@pytest.fixture
def mailtrail_cli(binaries, mailtrail_config) -> MailtrailCLI:
    """The mailtrail CLI with a fresh test configuration."""
    return MailtrailCLI(binaries.mailtrail, mailtrail_config())


@pytest.fixture
def tracking_base() -> str:
    return TRACKING_BASE


def milter_config_values(directory: Path, keys: Path, redis: RedisServer | None,
                         socket: str | None = None) -> dict:
    """The configuration a test milter runs with: the test tracking base and keys, Redis at
    `redis` (else a free port where nothing listens), a free loopback port, stderr logging,
    a spool under `directory`."""
    return {
        "tracking_base_url": TRACKING_BASE,
        "keys_file": keys,
        "redis_host": "127.0.0.1",
        "redis_port": redis.port if redis else free_port(),
        "milter_socket": socket or f"inet:{free_port()}@127.0.0.1",
        "spool_directory": directory / "spool",
        "log_destination": "stderr",
    }


class MilterFactory:
    """Starts mailtrail-milter processes in the foreground (see the `milter` fixture) and stops
    every one it started by PID."""

    def __init__(self, binary: Path, directory: Path, keys: Path):
        self.binary = binary
        self.directory = directory
        self.keys = keys
        self.started: list[MilterProcess] = []
        self.configs = 0

    def config(self, redis: RedisServer | None = None, **overrides) -> Path:
        """Writes a milter configuration (milter_config_values + overrides); returns its path."""
        values = milter_config_values(self.directory, self.keys, redis)
        values.update(overrides)
        self.configs += 1
        return write_config(self.directory / f"milter-{self.configs}.conf", values)

    def __call__(self, redis: RedisServer | None = None, config: Path | None = None,
                 args: tuple = (), start: bool = True, **overrides) -> MilterProcess:
        config = config or self.config(redis, **overrides)
        socket = next(line.split("=", 1)[1].strip() for line in config.read_text().splitlines()
                      if line.startswith("milter_socket ") or line.startswith("milter_socket="))
        process = MilterProcess(self.binary, config, socket,
                                self.directory / f"milter{len(self.started)}.log", args)
        self.started.append(process)
        return process.start() if start else process

    def stop_all(self) -> list[str]:
        problems = []
        for process in self.started:
            was_running = process.running()
            code = process.stop()
            if was_running and code != 0:
                problems.append(f"mailtrail-milter {process.pid} exited with {code} on SIGTERM:\n"
                                + "\n".join(process.log().splitlines()[-20:]))
        return problems


@pytest.fixture
def milter(binaries, work_dir, keys_file):
    """Factory: `milter(redis=None, config=None, args=(), start=True, **overrides)` writes a
    configuration (milter_config_values + overrides, or uses `config`), starts
    `mailtrail-milter -c CONF -f` and waits until it listens; returns its MilterProcess
    (`.postfix_socket` for postfix_instance(milter=...), `.log()`). Every milter still running
    afterwards gets SIGTERM and must exit 0."""
    factory = MilterFactory(binaries.milter, work_dir, keys_file)
    yield factory
    problems = factory.stop_all()
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def milter_stack(request, module_work_dir):
    """One Redis, one milter on it and one Postfix using the milter (milter_default_action
    tempfail: a milter failure shows; message_size_limit 100 MiB), shared by the tests of a
    module. The module's MILTER_SETTINGS dict, if any, overrides the milter configuration.
    Yields (redis, milter, postfix); everything is stopped by PID afterwards."""
    if os.geteuid() != 0:
        pytest.fail("the throwaway Postfix needs root", pytrace=False)
    binaries = Binaries.from_environment()
    keys = write_keys(module_work_dir / "keys")
    redis = RedisServer(module_work_dir / "redis", free_port()).start()
    factory = MilterFactory(binaries.milter, module_work_dir, keys)
    postfix = None
    try:
        process = factory(redis, **getattr(request.module, "MILTER_SETTINGS", {}))
        smtp_port, sink_port = free_ports(2)
        postfix = PostfixInstance(module_work_dir / "postfix", smtp_port, sink_port,
                                  process.postfix_socket, "tempfail").start()
        postfix.configure(message_size_limit=100 << 20)
        yield redis, process, postfix
    finally:
        problems = []
        if postfix is not None:
            try:
                postfix.stop()
            except Exception as error:
                problems.append(f"stopping Postfix: {error}")
        problems += factory.stop_all()
        redis.stop()
        assert not problems, "\n".join(problems)
