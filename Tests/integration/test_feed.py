"""`mailtrail feed` against a real redis-server and a real local HTTP receiver (webhook.py).

Checked: every event arrives at least once, signatures verify, gzip and content types are right,
nothing is acknowledged before a 2xx, a SIGKILLed feeder resumes where it left off, idle events of
a dead consumer are taken over, a permanently failing receiver fills the dead-letter stream and
`--replay-dead` empties it, two concurrent feeders deliver each event once, malformed entries are
set aside, and the SparkPost format."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import threading
import time

import pytest

from resp import Redis, fields
from scenario import event, event_json, xadd_event
from webhook import OK, Action, Receiver

pytestmark = pytest.mark.needs_mailtrail

SECRET = b"integration-webhook-secret-7f3a"
EVENTS, GROUP, DEAD = "mt:events", "mt:feed", "mt:events:dead"


class Feed:
    """Receivers, configurations, events and feeder processes of one test; stops what it started."""

    def __init__(self, binary, redis_server, mailtrail_config, work_dir):
        self.binary = binary
        self.redis_server = redis_server
        self.mailtrail_config = mailtrail_config
        self.secret_file = work_dir / "feed-secret"
        self.secret_file.write_bytes(SECRET + b"\n")
        self.secret_file.chmod(0o600)
        self.receivers: list[Receiver] = []
        self.processes: list[subprocess.Popen] = []
        self.events: list[dict] = []        # in stream order
        self.stream_ids: list[str] = []

    def redis(self) -> Redis:
        return Redis(self.redis_server.port)

    def receiver(self, behaviour=None, check=None) -> Receiver:
        receiver = Receiver(SECRET, behaviour, check).start()
        self.receivers.append(receiver)
        return receiver

    def config(self, receiver: Receiver, **overrides):
        values = {
            "feed_url": receiver.url,
            "feed_secret_file": self.secret_file,
            "feed_batch_size": 10,
            "feed_batch_age": "200ms",
            "feed_max_attempts": 5,
            "feed_backoff_base": "10ms",
            "feed_backoff_cap": "50ms",
            "feed_timeout": "2s",
        }
        values.update(overrides)
        return self.mailtrail_config(self.redis_server, **values)

    def add_events(self, count: int) -> list[dict]:
        """`count` tracker-shaped events appended to mt:events (alternating opens and clicks)."""
        start = len(self.events)
        docs = []
        for n in range(start, start + count):
            kind = "opened" if n % 2 == 0 else "clicked"
            docs.append(event(f"ev{n:05d}", kind, f"{n % 7:032x}", 1790000000.25 + n,
                              recipient=f"user{n}@example.com", url="https://shop.example/p" if kind == "clicked" else None,
                              link_index=0 if kind == "clicked" else None, campaign="spring"))
        with self.redis() as r:
            ids = r.pipeline([xadd_event(doc) for doc in docs])
        self.events += docs
        self.stream_ids += [i.decode() for i in ids]
        return docs

    def stream_id_of(self) -> dict[str, str]:
        return {doc["id"]: sid for doc, sid in zip(self.events, self.stream_ids)}

    def run(self, config, *args, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.binary), "feed", "-c", str(config), *args],
                              capture_output=True, text=True, timeout=timeout)

    def start(self, config, *args) -> subprocess.Popen:
        process = subprocess.Popen([str(self.binary), "feed", "-c", str(config), *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(process)
        return process

    def pending(self) -> dict[str, str]:
        """Stream id -> consumer of every entry pending in the group."""
        with self.redis() as r:
            rows = r("XPENDING", EVENTS, GROUP, "-", "+", "100000")
        return {row[0].decode(): row[1].decode() for row in rows}

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=10)
        for receiver in self.receivers:
            receiver.stop()


@pytest.fixture
def feed(binaries, redis_server, mailtrail_config, work_dir):
    harness = Feed(binaries.mailtrail, redis_server, mailtrail_config, work_dir)
    yield harness
    harness.close()


def bodies_of(docs: list[dict]) -> bytes:
    return b"[" + b",".join(event_json(d) for d in docs) + b"]"


def assert_clean(receiver: Receiver) -> None:
    for request in receiver.snapshot():
        assert request.problems == [], (request.problems, dict(request.headers), len(request.compressed), request.attempt)
        assert request.signature_ok, request.headers.get("x-mailtrail-signature")


def test_batches_are_signed_gzip_json_in_stream_order(feed):
    docs = feed.add_events(25)
    receiver = feed.receiver()
    result = feed.run(feed.config(receiver), "--once", "--consumer", "solo")
    assert result.returncode == 0, result.stderr
    requests = receiver.snapshot()
    assert [r.body for r in requests] == [bodies_of(docs[0:10]), bodies_of(docs[10:20]), bodies_of(docs[20:25])]
    for request in requests:
        assert request.headers["content-type"] == "application/json"
        assert request.headers["content-encoding"] == "gzip"
        assert request.headers["x-mailtrail-attempt"] == "1"
        assert request.headers["x-mailtrail-events"] == str(len(request.events))
        assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", request.headers["x-mailtrail-signature"])
        assert len(request.compressed) < len(request.body)
    assert_clean(receiver)
    assert feed.pending() == {}
    with feed.redis() as r:
        group = fields(r("XINFO", "GROUPS", EVENTS)[0])
    assert group["name"] == b"mt:feed" and group["last-delivered-id"].decode() == feed.stream_ids[-1]
    assert "stopped: 25 event(s) delivered in 3 request(s), 0 dead-lettered" in result.stderr
    # Nothing new: a second run sends nothing.
    assert feed.run(feed.config(receiver), "--once", "--consumer", "solo").returncode == 0
    assert len(receiver.snapshot()) == 3


def test_nothing_is_acknowledged_before_a_2xx(feed):
    docs = feed.add_events(5)
    ids = {sid for sid in feed.stream_ids}
    seen_pending = []

    def check(request):
        # On every arrival the batch must still be pending: a 500 or a timeout acknowledged nothing.
        seen_pending.append(set(feed.pending()) == ids)

    answers = iter([Action(status=500), Action(status=503), Action(delay=1.0), OK])
    receiver = feed.receiver(lambda request: next(answers), check)
    result = feed.run(feed.config(receiver, feed_timeout="300ms", feed_max_attempts=10), "--once")
    assert result.returncode == 0, result.stderr
    requests = receiver.snapshot()
    assert [r.attempt for r in requests] == [1, 2, 3, 4]
    assert all(r.body == bodies_of(docs) for r in requests)
    assert seen_pending == [True, True, True, True]
    assert feed.pending() == {}
    assert "attempt 1 of 10 for 5 event(s) failed (HTTP 500: boom)" in result.stderr
    assert "attempt 2 of 10 for 5 event(s) failed (HTTP 503: boom)" in result.stderr
    assert "attempt 3 of 10 for 5 event(s) failed (timed out after 300 ms)" in result.stderr
    assert_clean(receiver)


def test_flaky_receiver_gets_every_event_at_least_once(feed):
    feed.add_events(300)
    stream_id = feed.stream_id_of()
    rng = random.Random(20261122)
    lock = threading.Lock()
    acked_early = []

    def behaviour(request):
        with lock:
            roll = rng.random()
        if roll < 0.3:
            return Action(status=500)
        if roll < 0.4:
            return Action(delay=1.0)          # longer than feed_timeout: the feeder gives up
        if roll < 0.5:
            return Action(drop=True)          # connection closed without an answer
        return Action(delay=rng.uniform(0, 0.03))

    def check(request):
        pending = feed.pending()
        acked_early.extend(i for i in request.event_ids if stream_id[i] not in pending)

    receiver = feed.receiver(behaviour, check)
    config = feed.config(receiver, feed_batch_size=20, feed_timeout="300ms", feed_max_attempts=60)
    result = feed.run(config, "--once", timeout=120)
    assert result.returncode == 0, result.stderr
    assert_clean(receiver)
    assert acked_early == []
    assert set(receiver.accepted_ids()) == {d["id"] for d in feed.events}
    failures = [r for r in receiver.snapshot() if r.action.status == 500 or r.action.drop or r.action.delay == 1.0]
    assert len(failures) >= 5, "the receiver should have failed some requests"
    assert feed.pending() == {}
    with feed.redis() as r:
        assert r("XLEN", DEAD) == 0


def test_sigkilled_feeder_resumes_where_it_left_off(feed):
    feed.add_events(200)
    hold = threading.Event()
    count = [0]

    def behaviour(request):
        count[0] += 1
        return Action(hold=hold) if count[0] == 4 else OK

    receiver = feed.receiver(behaviour)
    config = feed.config(receiver)
    process = feed.start(config, "--consumer", "alpha")
    receiver.wait_for(lambda requests: len(requests) >= 4, 30, "the fourth request")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    # Three batches were acknowledged; the fourth was in flight: pending for alpha, nothing beyond it read.
    assert feed.pending() == {sid: "alpha" for sid in feed.stream_ids[30:40]}
    with feed.redis() as r:
        assert fields(r("XINFO", "GROUPS", EVENTS)[0])["last-delivered-id"].decode() == feed.stream_ids[39]
    hold.set()

    before = len(receiver.snapshot())
    result = feed.run(config, "--once", "--consumer", "alpha")
    assert result.returncode == 0, result.stderr
    assert "re-sending 10 event(s) this consumer had read but not acknowledged" in result.stderr
    resumed = receiver.snapshot()[before:]
    assert resumed[0].event_ids == [d["id"] for d in feed.events[30:40]]
    assert [i for r in resumed for i in r.event_ids] == [d["id"] for d in feed.events[30:200]]
    assert all(r.answered == 200 for r in resumed)
    assert feed.pending() == {}
    assert_clean(receiver)


def test_idle_events_of_a_dead_consumer_are_taken_over(feed):
    feed.add_events(30)
    hold = threading.Event()
    receiver = feed.receiver(lambda request: Action(hold=hold) if len(receiver.requests) == 0 else OK)
    config = feed.config(receiver, feed_claim_idle="1s")
    process = feed.start(config, "--consumer", "alpha")
    receiver.wait_for(lambda requests: len(requests) >= 1, 30, "the first request")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    hold.set()
    assert set(feed.pending().values()) == {"alpha"} and len(feed.pending()) == 10
    time.sleep(1.2)
    before = len(receiver.snapshot())
    result = feed.run(config, "--once", "--consumer", "beta")
    assert result.returncode == 0, result.stderr
    assert "took over 10 event(s) left pending by another consumer" in result.stderr
    delivered = [i for r in receiver.snapshot()[before:] for i in r.event_ids]
    assert sorted(delivered) == sorted(d["id"] for d in feed.events)
    assert feed.pending() == {}


def test_a_live_feeder_that_retries_keeps_its_events(feed):
    feed.add_events(10)
    failing = threading.Event()
    failing.set()
    receiver = feed.receiver(lambda request: Action(status=500) if failing.is_set() else OK)
    config = feed.config(receiver, feed_claim_idle="1s", feed_backoff_base="300ms", feed_backoff_cap="300ms",
                         feed_max_attempts=1000)
    alpha = feed.start(config, "--consumer", "alpha")
    receiver.wait_for(lambda requests: len(requests) >= 1, 30, "the first attempt")
    time.sleep(1.5)     # longer than feed_claim_idle, but alpha re-claims its batch after each wait
    result = feed.run(config, "--once", "--consumer", "beta")
    assert result.returncode == 0, result.stderr
    assert "took over" not in result.stderr
    assert set(feed.pending().values()) == {"alpha"}
    failing.clear()
    receiver.wait_for(lambda requests: any(r.answered == 200 for r in requests), 30, "a 2xx")
    alpha.send_signal(signal.SIGTERM)
    _, stderr = alpha.communicate(timeout=10)
    assert alpha.returncode == 0, stderr
    assert sorted(receiver.accepted_ids()) == [d["id"] for d in feed.events]
    assert feed.pending() == {}


def test_failing_receiver_fills_the_dead_letter_stream_and_replay_empties_it(feed):
    docs = feed.add_events(12)
    failing = True
    receiver = feed.receiver(lambda request: Action(status=500) if failing else OK)
    config = feed.config(receiver, feed_batch_size=5, feed_max_attempts=3)
    result = feed.run(config, "--once")
    assert result.returncode == 0, result.stderr
    assert len(receiver.snapshot()) == 9                      # 3 batches x 3 attempts
    assert feed.pending() == {}
    with feed.redis() as r:
        dead = r("XRANGE", DEAD, "-", "+")
    assert len(dead) == 12
    for (entry_id, flat), doc, source in zip(dead, docs, feed.stream_ids):
        entry = fields(flat)
        assert entry["id"].decode() == doc["id"]
        assert entry["json"] == event_json(doc)
        assert entry["attempts"] == b"3"
        assert entry["error"] == b"HTTP 500: boom"
        assert entry["source-id"].decode() == source
        assert abs(int(entry["failed-at"]) - time.time()) < 60
    assert "gave up on 5 event(s) after 3 attempts (HTTP 500: boom): moved to mt:events:dead" in result.stderr

    # Still failing: the replay stops with an error and deletes nothing.
    result = feed.run(config, "--replay-dead")
    assert result.returncode == 1
    assert "replay stopped: a batch of 5 failed 3 times (HTTP 500: boom); 0 replayed before it" in result.stderr
    with feed.redis() as r:
        assert r("XLEN", DEAD) == 12

    failing = False
    before = len(receiver.snapshot())
    result = feed.run(config, "--replay-dead")
    assert result.returncode == 0, result.stderr
    replayed = receiver.snapshot()[before:]
    assert [r.body for r in replayed] == [bodies_of(docs[0:5]), bodies_of(docs[5:10]), bodies_of(docs[10:12])]
    assert "replayed 12 dead-letter event(s) in 3 request(s)" in result.stderr
    with feed.redis() as r:
        assert r("XLEN", DEAD) == 0
    assert_clean(receiver)


def test_two_feeders_share_the_stream_without_duplicates(feed):
    feed.add_events(400)
    receiver = feed.receiver(lambda request: Action(delay=0.05))
    config = feed.config(receiver)
    first = feed.start(config, "--consumer", "one")
    second = feed.start(config, "--consumer", "two")
    receiver.wait_for(lambda requests: len({i for r in requests if r.answered == 200 for i in r.event_ids}) >= 400,
                      60, "400 events accepted")
    time.sleep(0.3)     # let the last acknowledgements land
    logs = {}
    for name, process in (("one", first), ("two", second)):
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0, stderr
        logs[name] = sum(int(n) for n in re.findall(r"delivered (\d+) event\(s\) in \d+ ms", stderr))
        assert re.search(r"stopped: \d+ event\(s\) delivered", stderr)
    ids = receiver.accepted_ids()
    assert len(ids) == 400 and set(ids) == {d["id"] for d in feed.events}
    assert logs["one"] > 0 and logs["two"] > 0 and logs["one"] + logs["two"] == 400
    assert feed.pending() == {}


def test_new_events_are_sent_within_the_batch_age(feed):
    receiver = feed.receiver()
    process = feed.start(feed.config(receiver, feed_batch_age="300ms", feed_batch_size=100), "--consumer", "live")
    time.sleep(0.5)
    docs = feed.add_events(3)
    added = time.monotonic()
    receiver.wait_for(lambda requests: len(requests) >= 1, 10, "a partial batch")
    assert receiver.snapshot()[0].arrived - added < 2.0
    assert receiver.snapshot()[0].body == bodies_of(docs)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=10)
    assert process.returncode == 0


def test_malformed_entries_go_to_the_dead_letter_stream(feed):
    docs = feed.add_events(2)
    with feed.redis() as r:
        bad = r("XADD", EVENTS, "*", "id", "bad1", "json", "not json").decode()
        nojson = r("XADD", EVENTS, "*", "id", "bad2").decode()
    docs += feed.add_events(1)
    receiver = feed.receiver()
    result = feed.run(feed.config(receiver), "--once")
    assert result.returncode == 0, result.stderr
    assert [r.body for r in receiver.snapshot()] == [bodies_of(docs)]
    with feed.redis() as r:
        dead = [(i.decode(), fields(f)) for i, f in r("XRANGE", DEAD, "-", "+")]
    assert [(e["id"], e.get("json"), e["attempts"], e["error"], e["source-id"].decode()) for _, e in dead] == [
        (b"bad1", b"not json", b"0", b"entry's json is not an event: not JSON", bad),
        (b"bad2", None, b"0", b"entry has no json field", nojson),
    ]
    assert feed.pending() == {}


def test_sparkpost_format(feed):
    feed.add_events(2)
    receiver = feed.receiver()
    result = feed.run(feed.config(receiver), "--once", "--format", "sparkpost")
    assert result.returncode == 0, result.stderr
    (request,) = receiver.snapshot()
    assert request.headers["content-type"] == "application/x-ndjson"
    assert request.body.endswith(b"\n") and request.body.count(b"\n") == 2
    assert request.events == [
        {"msys": {"track_event": {"type": "open", "event_id": "ev00000", "timestamp": "1790000000",
                                  "message_id": f"{0:032x}", "rcpt_to": "user0@example.com",
                                  "routing_domain": "example.com", "rcpt_tags": [], "campaign_id": "spring",
                                  "ip_address": "192.0.2.10", "user_agent": "Mozilla/5.0"}}},
        {"msys": {"track_event": {"type": "click", "event_id": "ev00001", "timestamp": "1790000001",
                                  "message_id": f"{1:032x}", "rcpt_to": "user1@example.com",
                                  "routing_domain": "example.com", "rcpt_tags": [], "campaign_id": "spring",
                                  "ip_address": "192.0.2.10", "user_agent": "Mozilla/5.0",
                                  "target_link_url": "https://shop.example/p"}}},
    ]
    assert request.signature_ok


def test_configuration_errors_are_explained(feed, work_dir):
    receiver = feed.receiver()
    result = feed.run(feed.config(receiver, feed_url=""), "--once")
    assert result.returncode == 78  # EX_CONFIG
    assert "feed_url is not set" in result.stderr
    result = feed.run(feed.config(receiver, feed_secret_file=""), "--once")
    assert result.returncode == 78
    assert "feed_secret_file is not set: requests must be signed" in result.stderr
    missing = work_dir / "no-such-secret"
    result = feed.run(feed.config(receiver, feed_secret_file=missing), "--once")
    assert result.returncode == 78
    assert f"{missing}: cannot read the webhook secret: no such file" in result.stderr
    assert receiver.snapshot() == []


def test_redis_down_ends_a_once_run_with_the_reason(feed, mailtrail_config):
    receiver = feed.receiver()
    config = mailtrail_config(None, feed_url=receiver.url, feed_secret_file=feed.secret_file)
    result = feed.run(config, "--once")
    assert result.returncode == 69  # EX_UNAVAILABLE
    assert "connection refused (is redis-server running?)" in result.stderr
