"""Concurrency through the real processes, with Redis restarted in the middle (also what
`make sanitize` runs against ThreadSanitizer and AddressSanitizer builds of the binaries):

- mailtrail-milter inside Postfix, fed by parallel SMTP sessions (so libmilter's worker
  threads run the callbacks at the same time), while Redis is stopped and started again:
  every message is delivered tracked exactly once, and every enrichment record reaches Redis
  (written at once, or spooled and replayed while new messages keep arriving);
- mailtrail-tracker under parallel keep-alive clients (its NIO event loops and the event
  writer at once), while Redis is stopped and started twice: every answered request is
  exactly one event, counters and `first` add up, nothing is lost.

Each phase waits for a condition (never for a fixed time), so a slow machine or a sanitizer
build only makes the test take longer. Redis keeps an append-only file, so a restart keeps
what it acknowledged.
"""

from __future__ import annotations

import http.client
import re
import smtplib
import threading
import time
from collections import Counter

import pytest

from harness import CORPUS, RedisServer, free_port, tracked_lines, wait_until
from tracker_process import events, mint, path_of, stream_length, tracker_factory  # noqa: F401

SENDER = "app@mail.example.com"
CORPUS_FILES = sorted(CORPUS.glob("*.eml"))
PHASE_TIMEOUT = 180     # seconds for any one phase; generous for sanitizer builds on a busy machine
CLIENT_PAUSE = 0.1      # seconds between two requests of one tracker client (8 clients)


@pytest.fixture
def redis_server(work_dir):
    """This module's Redis keeps an append-only file: a stop and start keeps its data."""
    server = RedisServer(work_dir / "redis", free_port(), aof=True).start()
    yield server
    server.stop()


class Clients:
    """`count` threads, each running `step(worker, n)` in a loop until `stop()`; a step
    returns an outcome to keep, or raises (kept as a failure, and that thread ends)."""

    def __init__(self, count: int, step):
        self.step = step
        self.lock = threading.Lock()
        self.outcomes: list = []
        self.failures: list[str] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(worker,), daemon=True)
                        for worker in range(count)]

    def _run(self, worker: int):
        n = 0
        try:
            while not self.stopping.is_set():
                outcome = self.step(worker, n)
                with self.lock:
                    self.outcomes.append(outcome)
                n += 1
        except Exception as error:  # reported by the test
            with self.lock:
                self.failures.append(f"client {worker}, step {n}: {error!r}")

    def start(self) -> "Clients":
        for thread in self.threads:
            thread.start()
        return self

    def count(self) -> int:
        with self.lock:
            if self.failures:
                raise AssertionError(f"client failures: {self.failures}")
            return len(self.outcomes)

    def wait_for(self, more: int, what: str) -> None:
        """Waits until `more` further outcomes are in."""
        target = self.count() + more
        wait_until(lambda: self.count() >= target, PHASE_TIMEOUT, f"{more} more {what}", interval=0.1)

    def stop(self) -> list:
        self.stopping.set()
        for thread in self.threads:
            thread.join(PHASE_TIMEOUT)
        assert not any(thread.is_alive() for thread in self.threads), "a client did not finish"
        assert not self.failures, f"client failures: {self.failures}"
        return self.outcomes


def wait_while_growing(value, target: int, what: str) -> None:
    """Waits until `value()` reaches `target`; fails only once it has not grown for
    PHASE_TIMEOUT seconds, so a long backlog on a slow machine is waited for."""
    best = [-1, time.monotonic()]

    def reached():
        now = value()
        if now > best[0]:
            best[:] = [now, time.monotonic()]
        if now >= target:
            return True
        if time.monotonic() - best[1] > PHASE_TIMEOUT:
            raise AssertionError(f"{what}: stuck at {now} of {target} for {PHASE_TIMEOUT}s")
        return False
    wait_until(reached, float("inf"), what, interval=0.1)


# ---------------------------------------------------------------------------------------------
# The milter


def header_values(message: bytes, name: str) -> list[str]:
    header = message.split(b"\r\n\r\n", 1)[0]
    return [m.group(1).decode().strip()
            for m in re.finditer(rb"(?im)^" + name.encode() + rb":[ \t]*(.*)$", header)]


def test_parallel_smtp_sessions_while_redis_restarts(milter, postfix_instance, redis_server):
    process = milter(redis_server)
    postfix = postfix_instance(milter=process.postfix_socket, default_action="tempfail")
    originals = [path.read_bytes() for path in CORPUS_FILES]
    sessions = 8
    per_session = 3             # messages per SMTP connection

    def send(worker: int, n: int) -> list[tuple[str, str]]:
        """One SMTP session with a few messages; (recipient, queue id) of each."""
        batch = []
        for k in range(per_session):
            rcpt = f"load-{worker}-{n}-{k}@example.net"
            batch.append((SENDER, [rcpt], originals[(worker * 7 + n * per_session + k) % len(originals)]))
        queue_ids = postfix.smtp_send(batch)
        return [(rcpt, queue_id) for (_, [rcpt], _), queue_id in zip(batch, queue_ids)]

    def enrichment_count(where: str) -> int:
        return sum(1 for line in tracked_lines(process.log()).values() if line.get("enrichment") == where)

    clients = Clients(sessions, send).start()
    wait_until(lambda: enrichment_count("redis") >= 20, PHASE_TIMEOUT, "20 records written to Redis")
    redis_server.stop()
    # Messages keep flowing with Redis away; their records go to the spool.
    wait_until(lambda: enrichment_count("spool") >= 20, PHASE_TIMEOUT, "20 records spooled")
    redis_server.start()
    # The replay loop drains the spool while sessions keep submitting; once it is empty,
    # records go straight to Redis again.
    written = enrichment_count("redis")
    wait_until(lambda: enrichment_count("redis") >= written + 20, PHASE_TIMEOUT,
               "20 records written to Redis after the restart")
    sent = [pair for session in clients.stop() for pair in session]

    got = postfix.wait_for_recipients([rcpt for rcpt, _ in sent], timeout=PHASE_TIMEOUT)
    lines = tracked_lines(process.log())
    ids = {}
    for rcpt, queue_id in sent:
        assert queue_id in lines, f"no 'tracked' line for {queue_id} ({rcpt})"
        assert lines[queue_id]["enrichment"] in ("redis", "spool"), lines[queue_id]
        delivered = header_values(got[rcpt].message, "X-MailTrail-ID")
        assert delivered == [lines[queue_id]["id"]], (rcpt, delivered)
        ids[rcpt] = delivered[0]
    assert len(set(ids.values())) == len(sent), "a tracking id was given twice"
    wait_until(lambda: all(redis_server.command("EXISTS", f"mt:msg:{i}") for i in ids.values()),
               PHASE_TIMEOUT, f"{len(ids)} enrichment records in Redis")
    for rcpt, queue_id in sent:
        record = redis_server.hash(f"mt:msg:{ids[rcpt]}")
        assert (record["recipient"], record["queue_id"]) == (rcpt, queue_id), record
    process.wait_for_log(r"replayed spooled enrichment records count=\d+")
    print(f"milter: {len(sent)} messages over {sessions} parallel sessions, "
          f"{Counter(line['enrichment'] for line in lines.values())}")


# ---------------------------------------------------------------------------------------------
# The tracker


def test_parallel_clients_while_redis_restarts(tracker_factory, redis_server):  # noqa: F811
    tracker = tracker_factory(tracker_threads=4)
    tracking_ids = [f"10ad{n:028x}" for n in range(6)]
    # (path, expected status, tracking id, event, link index)
    targets = []
    for tracking_id in tracking_ids:
        pixel = mint(tracker_factory.mailtrail, tracker.config, tracking_id)
        targets.append((path_of(pixel), 200, tracking_id, "opened", None))
        for index in range(2):
            click = mint(tracker_factory.mailtrail, tracker.config, tracking_id,
                         f"https://shop.example/{tracking_id[-4:]}/{index}", index=index)
            targets.append((path_of(click), 302, tracking_id, "clicked", index))
    connections: dict[int, http.client.HTTPConnection] = {}

    def request(worker: int, n: int):
        """One GET on this client's keep-alive connection; the target it answered. Paced, so
        that the event writer keeps up even in a sanitizer build on a busy machine: what is
        tested is concurrency, not throughput (the backlog after a restart must drain)."""
        time.sleep(CLIENT_PAUSE)
        if worker not in connections:
            connections[worker] = http.client.HTTPConnection("127.0.0.1", tracker.port, timeout=60)
        target = targets[(worker * 5 + n) % len(targets)]
        connection = connections[worker]
        connection.request("GET", target[0], headers={"User-Agent": f"load-client-{worker}"})
        response = connection.getresponse()
        response.read()
        if response.status != target[1]:
            raise AssertionError(f"{target[0]}: {response.status}, expected {target[1]}")
        return target

    def metric(name: str) -> float:
        return tracker.metrics()[f"mailtrail_tracker_{name}"]

    def drained() -> bool:
        return metric("spool_bytes") == 0 and metric("event_queue_depth") == 0

    def phase(condition, what: str) -> None:
        """Waits for `condition`; on time-out the error shows the writer's metrics and log."""
        try:
            wait_until(condition, PHASE_TIMEOUT, what, interval=0.1)
        except TimeoutError as error:
            figures = {name.removeprefix("mailtrail_tracker_"): value
                       for name, value in tracker.metrics().items() if "requests" not in name}
            log = "\n".join(tracker.log_text().splitlines()[-20:])
            raise AssertionError(f"{error}\nmetrics: {figures}\ntracker log tail:\n{log}") from None

    clients = Clients(8, request).start()
    try:
        clients.wait_for(100, "answered requests")
        for cycle in range(2):
            redis_server.stop()
            # Answers go on; their events are spooled.
            spooled, replayed = metric("events_spooled_total"), metric("events_replayed_total")
            phase(lambda: metric("events_spooled_total") >= spooled + 50,
                  f"50 more spooled events (Redis stop {cycle + 1})")
            redis_server.start()
            # The spool is replayed to its end while the clients keep going.
            phase(lambda: metric("events_replayed_total") > replayed and metric("spool_bytes") == 0,
                  f"the spool replayed (Redis start {cycle + 1})")
            clients.wait_for(100, "answered requests after the restart")
    finally:
        answered = clients.stop()
        for connection in connections.values():
            connection.close()

    # Every answered request is exactly one event, whatever Redis was doing at the time.
    wait_while_growing(lambda: stream_length(redis_server), len(answered), "events in mt:events")
    phase(drained, "the event queue and the spool empty")
    found = events(redis_server)
    assert len(found) == len(answered)
    assert len({event["id"] for event in found}) == len(found)
    expected = Counter((tracking_id, event, index) for _, _, tracking_id, event, index in answered)
    got = Counter((e["tracking-id"], e["event"], e.get("link-index")) for e in found)
    assert got == expected
    # One first open and one first click per message, and the counters agree.
    firsts = Counter((e["tracking-id"], e["event"]) for e in found if e["first"])
    assert firsts == Counter({(t, kind): 1 for t in tracking_ids for kind in ("opened", "clicked")})
    for tracking_id in tracking_ids:
        counters = redis_server.hash(f"mt:msg:{tracking_id}")
        opens = sum(n for (t, kind, _), n in expected.items() if t == tracking_id and kind == "opened")
        assert (int(counters["opens"]), int(counters["clicks"])) == \
            (opens, sum(n for (t, _, _), n in expected.items() if t == tracking_id) - opens)
    assert metric("events_lost_total") == 0
    # Everything spooled was replayed (a batch whose EXEC reply a stop cut off included:
    # recognised as applied, skipped, and counted as replayed).
    assert metric("events_replayed_total") == metric("events_spooled_total") > 0
    print(f"tracker: {len(answered)} requests from 8 clients, "
          f"{int(metric('events_spooled_total'))} events spooled and replayed")
