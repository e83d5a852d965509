"""mailtrail-tracker under faults, as a real process: SIGKILL with events in the spool and a
restart (they are replayed), SIGTERM with events queued (they are written before exit), and
10 000 hostile requests (none redirects, the process survives, its memory stays flat)."""

from __future__ import annotations

import random
import socket
import time

import pytest

from harness import SANITIZER, wait_until
from tracker_process import (http_get, mint, path_of, stream_length, tracker_factory,  # noqa: F401
                             wait_for_events)

TRACKING_ID = "5eed0000000000000000000000000002"


def send_keepalive(port: int, paths: list[str]) -> list[int]:
    """GETs on one keep-alive connection, pipelined; the statuses in order."""
    request = "".join(f"GET {p} HTTP/1.1\r\nHost: t\r\n\r\n" for p in paths).encode()
    statuses = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        data = b""
        while len(statuses) < len(paths):
            end = data.find(b"\r\n\r\n")
            if end < 0:
                chunk = connection.recv(65536)
                assert chunk, "connection closed early"
                data += chunk
                continue
            head = data[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            while len(data) < end + 4 + length:
                data += connection.recv(65536)
            statuses.append(int(head.split()[1]))
            data = data[end + 4 + length:]
    return statuses


@pytest.mark.needs_tracker
def test_sigkill_then_restart_replays_the_spool(tracker_factory, redis_server):
    tracker = tracker_factory()
    clicks = [path_of(mint(tracker_factory.mailtrail, tracker.config, TRACKING_ID, f"https://shop.example/{n}", index=n))
              for n in range(30)]
    redis_server.stop()
    assert send_keepalive(tracker.port, clicks) == [302] * 30
    # Everything is in the spool (page cache: survives a process crash), nothing is queued.
    wait_until(lambda: tracker.metrics()["mailtrail_tracker_events_spooled_total"] == 30, 10, "30 spooled events")
    assert tracker.metrics()["mailtrail_tracker_event_queue_depth"] == 0
    assert tracker.kill() == -9

    redis_server.start()
    restarted = tracker_factory.restart(tracker)
    found = wait_for_events(redis_server, 30)
    assert [e["link-index"] for e in found] == list(range(30))      # in order
    assert len({e["id"] for e in found}) == 30
    assert [e["first"] for e in found] == [True] + [False] * 29
    assert restarted.metrics()["mailtrail_tracker_events_replayed_total"] == 30
    assert redis_server.cli("HGET", f"mt:msg:{TRACKING_ID}", "clicks") == "30"


@pytest.mark.needs_tracker
def test_sigterm_writes_queued_events_then_exits(tracker_factory, redis_server):
    tracker = tracker_factory()
    pixel = path_of(mint(tracker_factory.mailtrail, tracker.config, TRACKING_ID))
    assert send_keepalive(tracker.port, [pixel] * 200) == [200] * 200
    assert tracker.terminate() == 0
    assert len(wait_for_events(redis_server, 200)) == 200
    assert "stopped" in tracker.log_text()


@pytest.mark.needs_tracker
def test_sigterm_with_redis_down_spools_and_the_next_run_replays(tracker_factory, redis_server):
    tracker = tracker_factory()
    pixel = path_of(mint(tracker_factory.mailtrail, tracker.config, TRACKING_ID))
    redis_server.stop()
    assert send_keepalive(tracker.port, [pixel] * 50) == [200] * 50
    assert tracker.terminate() == 0
    redis_server.start()
    tracker_factory.restart(tracker)
    assert len(wait_for_events(redis_server, 50)) == 50


def hostile_requests(valid_token: str, count: int, seed: int = 7) -> list[bytes]:
    """Request lines and paths a fuzzer would send: mutated tokens (never the valid one),
    random paths and bytes, traversal, encodings, odd methods and versions."""
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    requests = []
    while len(requests) < count:
        kind = rng.randrange(8)
        token = list(valid_token)
        if kind == 0:      # one character changed
            i = rng.randrange(len(token))
            token[i] = rng.choice(alphabet.replace(token[i], ""))
            path = "/c/" + "".join(token)
        elif kind == 1:    # truncated or extended
            cut = rng.randrange(len(token))
            path = "/c/" + "".join(token[:cut]) + "".join(rng.choice(alphabet) for _ in range(rng.randrange(3)))
        elif kind == 2:    # swapped characters, several flips
            for _ in range(rng.randrange(1, 6)):
                i, j = rng.randrange(len(token)), rng.randrange(len(token))
                token[i], token[j] = token[j], token[i]
            token[rng.randrange(len(token))] = rng.choice(alphabet)
            path = "/c/" + "".join(token) + rng.choice(["", ".gif", "/", "%00", "?q=1"])
        elif kind == 3:    # random token text
            path = rng.choice(["/c/", "/o/"]) + "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 400))) \
                + rng.choice(["", ".gif"])
        elif kind == 4:    # traversal and encodings
            path = rng.choice(["/c/../metrics", "/o/%2e%2e/healthz", "/c/%41%42", "//c//x", "/c/" + "A" * 5000,
                               "/o/.gif", "/c/\u00e9\u00e9", "/%00", "/c/AQ==", "/c/" + valid_token + "=", "*"])
        elif kind == 5:    # random printable junk
            path = "/" + "".join(chr(rng.randrange(0x21, 0x7F)) for _ in range(rng.randrange(0, 300)))
        elif kind == 6:    # random bytes (control characters, CR/LF, high bytes)
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            requests.append(b"GET /c/" + raw + b" HTTP/1.1\r\nHost: t\r\n\r\n")
            continue
        else:              # odd methods and versions around a mutated token
            i = rng.randrange(len(token))
            token[i] = rng.choice(alphabet.replace(token[i], ""))
            method = rng.choice(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "G\tET", "get"])
            version = rng.choice(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "", "HTTP/1.1 extra"])
            requests.append(f"{method} /c/{''.join(token)} {version}\r\nHost: t\r\n\r\n".encode("utf-8", "replace"))
            continue
        if path.removeprefix("/c/").partition("?")[0] == valid_token:
            continue
        requests.append(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode("utf-8", "replace"))
    return requests


def fire(port: int, request: bytes) -> int | None:
    """One request on its own connection; the status, or None when the server just closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        data = b""
        while b"\r\n" not in data:
            chunk = connection.recv(4096)
            if not chunk:
                return None
            data += chunk
    parts = data.split(b" ", 2)
    return int(parts[1])


@pytest.mark.needs_tracker
def test_hostile_input_never_redirects_never_crashes_memory_stays_flat(tracker_factory, redis_server):
    tracker = tracker_factory()
    click = mint(tracker_factory.mailtrail, tracker.config, TRACKING_ID, "https://shop.example/landing")
    token = path_of(click).removeprefix("/c/")
    requests = hostile_requests(token, 10_000)

    statuses: dict[int | None, int] = {}
    rss = []
    for n, request in enumerate(requests):
        status = fire(tracker.port, request)
        statuses[status] = statuses.get(status, 0) + 1
        if n in (1_000, 9_999):
            rss.append(tracker.rss_kib())
    print(f"statuses: {dict(sorted(statuses.items(), key=lambda kv: str(kv[0])))}; RSS KiB after 1k/10k: {rss}")
    assert 302 not in statuses, "a mutated token redirected"
    assert set(statuses) <= {200, 400, 404, 405, 414, None}
    assert tracker.process.poll() is None
    if not SANITIZER:   # AddressSanitizer's quarantine holds freed memory by design
        assert rss[1] - rss[0] < 4 * 1024, f"RSS grew from {rss[0]} to {rss[1]} KiB"
    # Nothing was recorded, and the tracker still works.
    assert stream_length(redis_server) in (0, -1)
    assert http_get(tracker.port, path_of(click))[0] == 302
    assert len(wait_for_events(redis_server, 1)) == 1
