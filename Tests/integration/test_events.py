"""`mailtrail events tail` against a real redis-server: the latest events as a table or as the
stored JSON lines, and `--follow` printing events as the tracker adds them."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading

import pytest

from resp import Redis
from scenario import event, event_json, xadd_event

pytestmark = pytest.mark.needs_mailtrail

T = 1790000000
HEADER = "TIME (UTC)           EVENT    RECIPIENT                         IP               URL / CLIENT"

DOCS = [
    event("e1", "opened", "ab" * 16, T + 0.4, recipient="ann@example.com", ip="198.51.100.7",
          client=("Apple Mail", "email client", "iOS", "mobile")),
    event("e2", "clicked", "ab" * 16, T + 65, recipient="ann@example.com", url="https://shop.example/a?x=1",
          link_index=1, ip="198.51.100.7"),
    event("e3", "opened", "cd" * 16, T + 3600, ip="2001:db8::7", machine="apple-mpp",
          client=("Apple Mail Privacy Protection", "proxy", "unknown", "unknown")),
]

LINES = [
    "2026-09-21 14:13:20  opened   ann@example.com                   198.51.100.7     Apple Mail (iOS, mobile)",
    "2026-09-21 14:14:25  clicked  ann@example.com                   198.51.100.7     https://shop.example/a?x=1",
    "2026-09-21 15:13:20  opened   -                                 2001:db8::7      "
    "Apple Mail Privacy Protection (unknown, unknown) [machine: apple-mpp]",
]


def tail(binaries, config, *args) -> subprocess.CompletedProcess:
    result = subprocess.run([str(binaries.mailtrail), "events", "tail", "-c", str(config), *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def stream(redis_server):
    with Redis(redis_server.port) as r:
        r.pipeline([xadd_event(doc) for doc in DOCS])
    return redis_server


def test_table_of_the_latest_events(stream, mailtrail_config, binaries):
    config = mailtrail_config(stream)
    assert tail(binaries, config).stdout == "\n".join([HEADER] + LINES) + "\n"
    assert tail(binaries, config, "--count", "2").stdout == "\n".join([HEADER] + LINES[1:]) + "\n"


def test_json_lines_are_the_stored_documents(stream, mailtrail_config, binaries):
    out = tail(binaries, mailtrail_config(stream), "--json").stdout
    assert out.encode() == b"".join(event_json(doc) + b"\n" for doc in DOCS)


def test_empty_stream_and_unreadable_entries(redis_server, mailtrail_config, binaries):
    config = mailtrail_config(redis_server)
    assert tail(binaries, config).stdout == HEADER + "\n"
    with Redis(redis_server.port) as r:
        entry = r("XADD", "mt:events", "*", "id", "x", "json", "[").decode()
    assert tail(binaries, config).stdout == f"{HEADER}\n{entry}  (not a readable event)\n"


def test_follow_prints_new_events_until_interrupted(redis_server, mailtrail_config, binaries):
    with Redis(redis_server.port) as r:
        r(*xadd_event(DOCS[0]))
    process = subprocess.Popen([str(binaries.mailtrail), "events", "tail", "-c", str(mailtrail_config(redis_server)),
                                "--follow", "--count", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=10) == HEADER + "\n"
        assert lines.get(timeout=10) == LINES[0] + "\n"
        with Redis(redis_server.port) as r:
            r.pipeline([xadd_event(doc) for doc in DOCS[1:]])
        assert lines.get(timeout=10) == LINES[1] + "\n"
        assert lines.get(timeout=10) == LINES[2] + "\n"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
