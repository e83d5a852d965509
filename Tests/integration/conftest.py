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

from harness import (Binaries, MailtrailCLI, PostfixInstance, RedisServer, free_port,
                     free_ports, pid_alive, write_config, write_keys)

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


@pytest.fixture
def work_dir():
    """A fresh directory under /tmp that the postfix user can reach (pytest's own tmp_path is
    mode 0700), removed afterwards unless MAILTRAIL_KEEP_TMP=1."""
    path = Path(tempfile.mkdtemp(prefix="mailtrail-it-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    if os.environ.get("MAILTRAIL_KEEP_TMP") != "1":
        shutil.rmtree(path, ignore_errors=True)


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
