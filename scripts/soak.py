#!/usr/bin/env python3
"""scripts/soak.py (`make soak`): proves that nothing is lost under load and faults.

    scripts/soak.py [--messages 20000] [--sessions 20] [--http-clients 8] [--sendmail-every 4]
                    [--build debug|release] [--skip-build] [--keep]

Sends MESSAGES corpus messages (Tests/Fixtures/corpus, round robin, one unique envelope
recipient each) through a throwaway Postfix (scripts/postfix-instance.sh, smtp-sink behind
it) with mailtrail-milter, over SESSIONS parallel senders: every SENDMAIL_EVERY-th message
goes through `sendmail` (postdrop, pickup), the rest over SMTP. A client that gets a 4xx (or
loses its connection) reconnects and sends the message again, as an MTA would; Postfix
retries what sits in its maildrop itself. Meanwhile HTTP clients fetch the open pixels and
click links of the delivered messages from mailtrail-tracker (plus some HEAD requests and
tampered tokens, which must record nothing). In the middle, Redis is restarted twice (same
port, same data directory, AOF on: records survive) and the milter once (SIGTERM; Postfix's
milter_default_action is tempfail). Each outage lasts until traffic has met it (spooled
records and events, refused SMTP transactions), within a deadline.

At the end it prints a summary and exits 1 naming every failed check:
  - messages sent = delivered (each exactly once, none refused for good);
  - every delivered message tracked exactly once (one X-MailTrail-ID, one milter "tracked"
    line with that ID and the message's queue id, IDs unique), or passed through with a
    "not tracked: <reason>" line for its queue id;
  - every enrichment record present and right (sender, recipient, queue id, links; the
    opens and clicks counters equal the tracked requests answered for that message);
  - events in mt:events = tracked requests answered (200 GIF for a valid pixel, 302 for a
    valid click), per message and kind, with unique event ids; no request failed;
  - RSS (VmRSS) of each milter process and of the tracker after warm-up and at the end:
    growth at most RSS_BOUND_MIB + RSS_BOUND_SHARE of the warm value;
  - zero crashes: every process still running at the end, exit status 0 on SIGTERM, no
    crash trace in any log, no Postfix daemon killed or exiting with an error.

Debug build by default (`--build release`, or SOAK_BUILD=release, for the release build);
`swift build` runs first unless --skip-build (then MAILTRAIL_BIN_DIR or .build/<build>).
Everything runs on 127.0.0.1 and is stopped by PID at the end; needs root (Postfix).
"""

from __future__ import annotations

import argparse
import email
import email.policy
import http.client
import json
import os
import queue
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))

from harness import (CORPUS, MilterProcess, PostfixInstance, RedisErrorReply,  # noqa: E402
                     RedisServer, free_port, free_ports, parse_capture, pid_alive,
                     received_queue_id, redis_pipeline, wait_until, write_config, write_keys)
from tracker_process import PROCESS_NAME as TRACKER_NAME, TrackerProcess  # noqa: E402

SENDER = "soak@mail.example.com"
RECIPIENT = "soak-{}@example.net"
RECIPIENT_RE = re.compile(r"^soak-(\d+)@example\.net$")
TRACKING_BASE = "https://t.example.test/"
PIXEL_RE = re.compile(rb"https://t\.example\.test/o/([A-Za-z0-9_-]+)\.gif")
CLICK_RE = re.compile(rb"https://t\.example\.test/c/([A-Za-z0-9_-]+)")
ID_HEADER_RE = re.compile(rb"(?im)^x-mailtrail-id:[ \t]*([0-9a-fA-F]+)[ \t]*\r?$")

# RSS bound: after <= warm + RSS_BOUND_MIB MiB + RSS_BOUND_SHARE * warm.
RSS_BOUND_MIB = 8
RSS_BOUND_SHARE = 0.10

# Deadlines (seconds): generous, they only bound a run that went wrong.
OUTAGE_DEADLINE = 90        # an outage waits at most this long for traffic to meet it
OUTAGE_SPOOLED = 10         # a Redis outage lasts until milter and tracker each spooled this many
MESSAGE_DEADLINE = 600      # one SMTP message is retried for at most this long
DELIVERY_DEADLINE = 900     # after the last submission, until everything is in the sink
DRAIN_DEADLINE = 300        # HTTP load, tracker queue and spool, milter spool replay
STOP_TIMEOUT = 120          # SIGTERM to exit (the milter lets messages in progress finish)

# Lines that only a crash writes (Swift runtime, backtracer, sanitizers, glibc, Redis, Postfix).
CRASH_RE = re.compile(r"Fatal error|Program crashed|Thread \d+ crashed|Segmentation fault|"
                      r"Illegal instruction|Bus error|core dumped|stack trace|SIGSEGV|SIGABRT|"
                      r"SIGILL|SIGBUS|AddressSanitizer|ThreadSanitizer|double free|"
                      r"malloc\(\)|REDIS BUG REPORT|crashed by signal|\bpanic:|\bfatal:")
POSTFIX_DAEMON_TROUBLE_RE = re.compile(r"warning: process \S+ pid \d+ (?:exit status [1-9]|killed by signal)")
MILTER_LINE_RE = re.compile(r"^mailtrail-milter\[\d+\]: (\w+): (?:(\w+): )?(.*)$", re.MULTILINE)

USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
]


def say(text: str) -> None:
    print(text, flush=True)


def mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


# ---------------------------------------------------------------------------------------------
# Submission


@dataclass
class Submission:
    path: str                     # "smtp" or "sendmail"
    attempts: int = 0
    accepted: bool = False
    failure: str = ""             # set when the message was refused for good


class Submitter:
    """SESSIONS threads sending messages 0..N-1 in order, as far as `release(limit)` allows.

    SMTP: one connection per thread, reused; a 4xx reply or a lost connection closes it, and
    the message is sent again on a new one after a short pause (growing to 2 s), as an MTA
    retries; a 5xx is a permanent failure. sendmail: `sendmail -C DIR/conf` once."""

    def __init__(self, postfix: PostfixInstance, corpus: list[bytes], count: int, sessions: int,
                 sendmail_every: int):
        self.postfix = postfix
        self.corpus = corpus
        self.count = count
        self.sessions = sessions
        self.sendmail_every = sendmail_every
        self.results = [Submission("sendmail" if sendmail_every and i % sendmail_every == sendmail_every - 1
                                   else "smtp") for i in range(count)]
        self.lock = threading.Condition()
        self.next = 0
        self.limit = 0
        self.accepted = 0
        self.settled = 0            # accepted or refused for good
        self.tempfails = 0          # 4xx replies and lost connections seen by SMTP clients
        self.threads = [threading.Thread(target=self._worker, name=f"smtp-{i}", daemon=True)
                        for i in range(sessions)]
        self.finished_at: float | None = None

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def release(self, limit: int) -> None:
        """Lets the senders take messages below `limit` (never lowers it)."""
        with self.lock:
            limit = min(limit, self.count)
            if limit > self.limit:
                self.limit = limit
                self.lock.notify_all()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def _take(self) -> int | None:
        with self.lock:
            while self.next >= self.limit and self.next < self.count:
                self.lock.wait(0.5)
            if self.next >= self.count:
                return None
            index = self.next
            self.next += 1
            return index

    def _accepted(self, index: int) -> None:
        with self.lock:
            self.results[index].accepted = True
            self.accepted += 1
            self._settle()

    def _failed(self, index: int, why: str) -> None:
        with self.lock:
            self.results[index].failure = why
            self._settle()

    def _settle(self) -> None:
        self.settled += 1
        if self.settled == self.count:
            self.finished_at = time.monotonic()

    def _tempfail(self) -> None:
        with self.lock:
            self.tempfails += 1

    def _worker(self) -> None:
        smtp: smtplib.SMTP | None = None
        while (index := self._take()) is not None:
            data = self.corpus[index % len(self.corpus)]
            recipient = RECIPIENT.format(index)
            result = self.results[index]
            if result.path == "sendmail":
                result.attempts = 1
                try:
                    self.postfix.sendmail(data, SENDER, [recipient])
                    self._accepted(index)
                except Exception as error:
                    self._failed(index, f"sendmail: {error}")
                continue
            deadline = time.monotonic() + MESSAGE_DEADLINE
            pause = 0.1
            while True:
                result.attempts += 1
                try:
                    if smtp is None:
                        smtp = smtplib.SMTP("127.0.0.1", self.postfix.smtp_port, timeout=120)
                        smtp.ehlo("soak-client.example.org")
                    smtp.sendmail(SENDER, [recipient], data)
                    self._accepted(index)
                    break
                except Exception as error:
                    code = smtp_code(error)
                    smtp = close_quietly(smtp)
                    if code is not None and code >= 500:
                        self._failed(index, f"refused for good: {error}")
                        break
                    self._tempfail()
                    if time.monotonic() > deadline:
                        self._failed(index, f"still refused after {MESSAGE_DEADLINE} s: {error}")
                        break
                    time.sleep(pause)
                    pause = min(pause * 2, 2.0)
        close_quietly(smtp)


def smtp_code(error: Exception) -> int | None:
    """The SMTP reply code behind an smtplib exception (None: no reply, e.g. a lost connection)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return min(codes) if codes else None
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code
    return None


def close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return None
    try:
        smtp.quit()
    except Exception:
        smtp.close()
    return None


# ---------------------------------------------------------------------------------------------
# Deliveries


@dataclass
class Delivery:
    seq: int
    path: Path
    queue_id: str | None
    tracking_ids: list[str]
    pixels: list[str]             # request paths /o/<token>.gif
    clicks: list[str]             # request paths /c/<token>


def tracking_urls(message: bytes) -> tuple[list[str], list[str]]:
    """The pixel and click paths in the decoded text parts of a delivered message, in order."""
    parsed = email.message_from_bytes(message, policy=email.policy.compat32)
    pixels: list[str] = []
    clicks: list[str] = []
    for part in parsed.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        if (part.get("Content-Disposition") or "").strip().lower().startswith("attachment"):
            continue
        payload = part.get_payload(decode=True) or b""
        pixels += [f"/o/{m.group(1).decode()}.gif" for m in PIXEL_RE.finditer(payload)]
        clicks += [f"/c/{m.group(1).decode()}" for m in CLICK_RE.finditer(payload)]
    return pixels, clicks


class SinkWatcher:
    """Reads each message smtp-sink has finished writing, once, and hands it on.

    A file is complete once smtp-sink no longer holds it open (what `postfix-instance.sh
    messages` checks, done here incrementally: the directory is listed before the open files
    are read, so a file is never taken while still being written)."""

    def __init__(self, postfix: PostfixInstance, on_delivery):
        self.postfix = postfix
        self.sink = postfix.directory / "sink"
        self.on_delivery = on_delivery
        self.seen: set[str] = set()
        self.deliveries: dict[int, list[Delivery]] = {}
        self.strangers: list[str] = []       # captures that are not soak messages
        self.problems: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sink", daemon=True)
        self.lock = threading.Lock()

    @property
    def delivered(self) -> int:
        with self.lock:
            return len(self.deliveries)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()

    def _open_files(self) -> set[str]:
        pid = self.postfix.sink_pid
        found = set()
        if pid is None:
            return found
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                try:
                    found.add(os.readlink(fd.path))
                except OSError:
                    pass
        except OSError:
            pass
        return found

    def scan(self) -> int:
        names = [n for n in os.listdir(self.sink) if n not in self.seen]
        if not names:
            return 0
        busy = self._open_files()
        taken = 0
        for name in sorted(names):
            path = self.sink / name
            if str(path) in busy:
                continue
            self.seen.add(name)
            taken += 1
            try:
                self._read(path)
            except Exception as error:   # reported as a failed check, the watcher goes on
                self.problems.append(f"{path.name}: {type(error).__name__}: {error}")
        return taken

    def _read(self, path: Path) -> None:
        captured = parse_capture(path.read_bytes(), path)
        seqs = [int(m.group(1)) for r in captured.recipients if (m := RECIPIENT_RE.match(r))]
        if len(seqs) != 1 or len(captured.recipients) != 1:
            self.strangers.append(f"{path.name}: recipients {captured.recipients}")
            return
        head = captured.message.split(b"\r\n\r\n", 1)[0]
        pixels, clicks = tracking_urls(captured.message)
        delivery = Delivery(seqs[0], path, received_queue_id(captured.message),
                            [m.group(1).decode().lower() for m in ID_HEADER_RE.finditer(head)],
                            pixels, clicks)
        # Its requests are queued before it counts as delivered: once every message counts,
        # every request has been queued.
        self.on_delivery(delivery)
        with self.lock:
            self.deliveries.setdefault(delivery.seq, []).append(delivery)

    def _run(self) -> None:
        while not self.stop.is_set():
            if self.scan() == 0:
                self.stop.wait(0.1)
        self.scan()


# ---------------------------------------------------------------------------------------------
# Tracker load


@dataclass
class Request:
    tracking_id: str | None       # set for a request that must record an event
    kind: str                     # "open" or "click" (what it records), or a refusal's name
    method: str
    path: str
    expect: int


class TrackerLoad:
    """HTTP clients fetching pixels and links from the tracker while mail flows.

    Per delivered tracked message (by its sequence number, so every run does the same): the
    pixel once, a second time for every 3rd message, a HEAD on it for every 13th; the first
    link for every 2nd message, another link for every 5th; a tampered pixel for every 7th and
    a tampered link for every 11th. Answers are checked (200 image/gif, 302 with a Location,
    404); the valid GETs answered are counted per message and kind. Most clients keep their
    connection alive; every 4th client closes it after each request."""

    def __init__(self, port: int, clients: int):
        self.port = port
        self.queue: queue.Queue[Request | None] = queue.Queue()
        self.lock = threading.Lock()
        self.answered: Counter[tuple[str, str]] = Counter()     # (tracking id, open|click)
        self.sent: Counter[str] = Counter()
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._worker, args=(i,), name=f"http-{i}", daemon=True)
                        for i in range(clients)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()

    @property
    def answered_total(self) -> int:
        with self.lock:
            return sum(self.answered.values())

    def plan(self, delivery: Delivery) -> None:
        if len(delivery.tracking_ids) != 1:
            return
        tid, seq = delivery.tracking_ids[0], delivery.seq
        requests: list[Request] = []
        if delivery.pixels:
            pixel = delivery.pixels[-1]
            requests.append(Request(tid, "open", "GET", pixel, 200))
            if seq % 3 == 0:
                requests.append(Request(tid, "open", "GET", pixel, 200))
            if seq % 13 == 0:
                requests.append(Request(None, "head", "HEAD", pixel, 200))
            if seq % 7 == 0:
                requests.append(Request(None, "tampered-pixel", "GET", tamper(pixel), 200))
        if delivery.clicks:
            if seq % 2 == 0:
                requests.append(Request(tid, "click", "GET", delivery.clicks[0], 302))
            if seq % 5 == 0:
                requests.append(Request(tid, "click", "GET", delivery.clicks[seq % len(delivery.clicks)], 302))
            if seq % 11 == 0:
                requests.append(Request(None, "tampered-click", "GET", tamper(delivery.clicks[0]), 404))
        for request in requests:
            self.queue.put(request)

    def _worker(self, number: int) -> None:
        keep_alive = number % 4 != 3
        agent = USER_AGENTS[number % len(USER_AGENTS)]
        connection: http.client.HTTPConnection | None = None
        while (request := self.queue.get()) is not None:
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                headers = {"Host": "t.example.test", "User-Agent": agent}
                if not keep_alive:
                    headers["Connection"] = "close"
                connection.request(request.method, request.path, headers=headers)
                response = connection.getresponse()
                response.read()
                problem = self._judge(request, response)
                if not keep_alive or response.will_close:
                    connection.close()
                    connection = None
            except Exception as error:
                problem = f"{request.method} {request.path[:40]}...: {type(error).__name__}: {error}"
                if connection is not None:
                    connection.close()
                connection = None
            with self.lock:
                self.sent[request.kind] += 1
                if problem:
                    self.errors.append(problem)
                elif request.tracking_id is not None:
                    self.answered[(request.tracking_id, request.kind)] += 1
            self.queue.task_done()
        if connection is not None:
            connection.close()

    @staticmethod
    def _judge(request: Request, response: http.client.HTTPResponse) -> str:
        where = f"{request.method} {request.path[:40]}... ({request.kind})"
        if response.status != request.expect:
            return f"{where}: status {response.status}, expected {request.expect}"
        if request.expect == 200 and response.getheader("Content-Type") != "image/gif":
            return f"{where}: Content-Type {response.getheader('Content-Type')!r}"
        if request.expect == 302 and not (response.getheader("Location") or "").startswith(("http://", "https://")):
            return f"{where}: Location {response.getheader('Location')!r}"
        return ""

    def idle(self) -> bool:
        return self.queue.unfinished_tasks == 0


def tamper(path: str) -> str:
    """The path with one character of its token changed (the signature no longer verifies)."""
    slash = path.index("/", 1) + 1
    position = slash + 12
    replacement = "A" if path[position] != "A" else "B"
    return path[:position] + replacement + path[position + 1:]


# ---------------------------------------------------------------------------------------------
# Redis reads


def read_events(redis: RedisServer) -> list[tuple[str, dict]]:
    """Every entry of mt:events as (event id field, parsed JSON), oldest first."""
    found: list[tuple[str, dict]] = []
    start = "-"
    while True:
        batch = redis.command("XRANGE", "mt:events", start, "+", "COUNT", 5000)
        for entry_id, fields in batch:
            values = dict(zip(fields[::2], fields[1::2]))
            found.append((values.get(b"id", b"").decode(), json.loads(values.get(b"json", b"{}"))))
        if len(batch) < 5000:
            return found
        last = batch[-1][0].decode()
        millis, _, sequence = last.partition("-")
        start = f"{millis}-{int(sequence) + 1}"


def read_hashes(redis: RedisServer, keys: list[str]) -> dict[str, dict[str, str]]:
    """HGETALL of every key (pipelined in chunks): key -> fields (empty when missing)."""
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        replies = redis_pipeline(redis.host, redis.port, [("HGETALL", key) for key in chunk])
        for key, reply in zip(chunk, replies):
            if isinstance(reply, RedisErrorReply):
                found[key] = {"<error>": str(reply)}
            else:
                found[key] = {reply[i].decode(): reply[i + 1].decode() for i in range(0, len(reply), 2)}
    return found


def stream_length(redis: RedisServer) -> int:
    try:
        return int(redis.command("XLEN", "mt:events"))
    except (OSError, RuntimeError):
        return -1


# ---------------------------------------------------------------------------------------------
# The run


@dataclass
class Check:
    name: str
    expected: str
    observed: str
    ok: bool
    detail: list[str] = field(default_factory=list)


@dataclass
class RSSReading:
    process: str
    warm: int | None = None
    end: int | None = None


class Soak:
    def __init__(self, args: argparse.Namespace, bin_dir: Path):
        self.args = args
        self.bin_dir = bin_dir
        self.work = Path(tempfile.mkdtemp(prefix="mailtrail-soak-", dir="/tmp"))
        self.work.chmod(0o755)
        self.started = time.monotonic()
        self.timeline: list[str] = []
        self.checks: list[Check] = []
        self.milters: list[MilterProcess] = []
        self.milter_exits: list[tuple[str, int | None]] = []
        self.rss: dict[str, RSSReading] = {}
        self.redis: RedisServer | None = None
        self.postfix: PostfixInstance | None = None
        self.tracker: TrackerProcess | None = None
        self.tracker_exit: int | None = None
        self.metrics_at_end: dict[str, float] = {}
        self.milter_spool: tuple[int, int] | None = None    # enrichment records (spooled, replayed)

    # -- helpers ---------------------------------------------------------------------------

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def event(self, text: str) -> None:
        line = f"t={self.elapsed():7.1f}s  {text}"
        self.timeline.append(line)
        say("  " + line)

    def check(self, name: str, expected, observed, ok: bool, detail: list[str] | None = None) -> None:
        self.checks.append(Check(name, str(expected), str(observed), ok, detail or []))

    @property
    def milter(self) -> MilterProcess:
        return self.milters[-1]

    def start_milter(self) -> MilterProcess:
        process = MilterProcess(self.bin_dir / "mailtrail-milter", self.config, self.milter_socket,
                                self.work / f"milter{len(self.milters) + 1}.log")
        self.milters.append(process)
        return process.start(timeout=60)

    def milter_log(self) -> str:
        return "\n".join(m.log() for m in self.milters)

    def tracker_metric(self, name: str) -> float:
        return self.tracker.metrics().get(name, 0.0)

    def spooled_enrichments(self) -> int:
        return len(re.findall(r"enrichment=spool", self.milter.log()))

    # -- setup -----------------------------------------------------------------------------

    def setup(self) -> None:
        args = self.args
        self.redis = RedisServer(self.work / "redis", free_port(), aof=True).start()
        keys = write_keys(self.work / "keys")
        milter_port, tracker_port = free_ports(2)
        self.milter_socket = f"inet:{milter_port}@127.0.0.1"
        self.config = write_config(self.work / "mailtrail.conf", {
            "tracking_base_url": TRACKING_BASE, "keys_file": keys,
            "redis_host": "127.0.0.1", "redis_port": self.redis.port,
            "milter_socket": self.milter_socket, "tracker_listen": f"127.0.0.1:{tracker_port}",
            # The clients keep their connections for the whole run: no idle close can race a request.
            "tracker_idle_timeout": "1h",
            "spool_directory": self.work / "spool", "log_destination": "stderr"})
        self.start_milter()
        self.tracker = TrackerProcess(self.bin_dir / "mailtrail-tracker", self.config, tracker_port,
                                      self.work / "tracker.log").start()
        smtp_port, sink_port = free_ports(2)
        self.postfix = PostfixInstance(self.work / "postfix", smtp_port, sink_port,
                                       self.milter.postfix_socket, "tempfail").start()
        self.postfix.configure(in_flow_delay="0s")
        corpus = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
        if not corpus:
            raise SystemExit(f"no corpus messages in {CORPUS}")
        self.submitter = Submitter(self.postfix, corpus, args.messages, args.sessions, args.sendmail_every)
        self.load = TrackerLoad(tracker_port, args.http_clients)
        self.watcher = SinkWatcher(self.postfix, self.load.plan)
        self.event(f"started in {self.work}: redis {self.redis.port}, milter {milter_port}, "
                   f"tracker {tracker_port}, postfix smtpd {smtp_port}, sink {sink_port}")

    # -- phases ----------------------------------------------------------------------------

    def reach(self, count: int) -> None:
        """Waits until `count` messages are settled, letting the senders run one outage
        window ahead, so that mail is flowing when a fault comes."""
        self.wait_accepted(count, ahead=self.outage_window())

    def wait_accepted(self, count: int, ahead: int = 0) -> None:
        count = min(count, self.args.messages)
        self.submitter.release(count + ahead)
        wait_until(lambda: self.submitter.settled >= count, MESSAGE_DEADLINE + DELIVERY_DEADLINE,
                   f"{count} messages accepted or refused", interval=0.1)

    def outage_window(self) -> int:
        return max(50, self.args.messages // 20)

    def read_rss(self, key: str, pid: int, slot: str) -> None:
        reading = self.rss.setdefault(key, RSSReading(key))
        value = rss_kib(pid)
        setattr(reading, slot, value)
        self.event(f"RSS {key} ({slot}): {mib(value)}")

    def redis_outage(self, number: int) -> None:
        accepted = self.submitter.accepted
        milter_before = self.spooled_enrichments()
        tracker_before = self.tracker_metric("mailtrail_tracker_events_spooled_total")
        self.redis.stop()
        down = time.monotonic()
        self.event(f"Redis restart {number}: stopped (SIGTERM) at {accepted} messages accepted")
        self.submitter.release(self.submitter.settled + self.outage_window())

        def met():
            return (self.spooled_enrichments() - milter_before >= OUTAGE_SPOOLED and
                    self.tracker_metric("mailtrail_tracker_events_spooled_total") - tracker_before >= OUTAGE_SPOOLED)
        try:
            wait_until(met, OUTAGE_DEADLINE, "the milter and the tracker to spool", interval=0.2)
        except TimeoutError:
            pass
        milter_spooled = self.spooled_enrichments() - milter_before
        tracker_spooled = int(self.tracker_metric("mailtrail_tracker_events_spooled_total") - tracker_before)
        self.redis.start()
        self.event(f"Redis restart {number}: started again after {time.monotonic() - down:.1f} s; meanwhile the "
                   f"milter spooled {milter_spooled} enrichment records, the tracker {tracker_spooled} events")
        self.check(f"Redis outage {number} met by traffic", f"each spooled >= {OUTAGE_SPOOLED}",
                   f"{milter_spooled} records, {tracker_spooled} events",
                   milter_spooled >= OUTAGE_SPOOLED and tracker_spooled >= OUTAGE_SPOOLED)

    def milter_outage(self) -> None:
        old = self.milter
        accepted = self.submitter.accepted
        self.event(f"milter restart: SIGTERM to {old.pid} at {accepted} messages accepted")
        stopper = threading.Thread(target=lambda: old.stop(timeout=STOP_TIMEOUT), daemon=True)
        stopper.start()
        # Mail keeps flowing while the milter lets the messages in progress finish.
        while stopper.is_alive():
            self.submitter.release(self.submitter.settled + self.args.sessions)
            stopper.join(0.2)
        self.milter_exits.append((f"milter 1 (pid {old.pid})", old.returncode))
        down = time.monotonic()
        tempfails_before = self.submitter.tempfails
        maillog = self.postfix.directory / "maillog"
        maillog_before = maillog.stat().st_size
        self.event(f"milter restart: {old.pid} exited with {old.returncode}")
        self.submitter.release(self.submitter.settled + self.outage_window())

        def refused_since(pattern: str) -> int:
            with open(maillog, "rb") as log:
                log.seek(maillog_before)
                return len(re.findall(pattern, log.read().decode(errors="replace")))

        # SMTP clients get 4xx; pickup's cleanup finds no milter and leaves the file in maildrop.
        smtp_met = lambda: self.submitter.tempfails > tempfails_before  # noqa: E731
        pickup_met = lambda: (not self.args.sendmail_every  # noqa: E731
                              or refused_since(r"/cleanup\[\d+\]: \w+: milter-reject: ") > 0)
        try:
            wait_until(lambda: smtp_met() and pickup_met(), OUTAGE_DEADLINE,
                       "SMTP and pickup mail to meet the stopped milter", interval=0.2)
        except TimeoutError:
            pass
        smtp_refusals = self.submitter.tempfails - tempfails_before
        pickup = pickup_met()
        self.start_milter()
        seconds = time.monotonic() - down
        self.event(f"milter restart: new milter {self.milter.pid} after {seconds:.1f} s down; "
                   f"meanwhile {smtp_refusals} SMTP transactions were refused (4xx), "
                   f"pickup {'was' if pickup else 'was not'} turned away")
        self.check("milter outage met by traffic", "SMTP 4xx > 0 and pickup turned away",
                   f"{smtp_refusals} SMTP 4xx, pickup {'yes' if pickup else 'no'}", smtp_refusals > 0 and pickup)

    def run(self) -> None:
        n = self.args.messages
        self.setup()
        self.watcher.start()
        self.load.start()
        self.submitter.start()
        self.event(f"sending {n} messages over {self.args.sessions} senders "
                   f"({sum(r.path == 'sendmail' for r in self.submitter.results)} through sendmail)")
        self.reach(n * 20 // 100)
        self.read_rss("milter 1", self.milter.pid, "warm")
        self.read_rss("tracker", self.tracker.pid, "warm")
        self.reach(n * 30 // 100)
        self.redis_outage(1)
        self.reach(n * 48 // 100)
        self.read_rss("milter 1", self.milter.pid, "end")
        self.reach(n * 50 // 100)
        self.milter_outage()
        self.reach(n * 62 // 100)
        self.read_rss("milter 2", self.milter.pid, "warm")
        self.reach(n * 70 // 100)
        self.redis_outage(2)
        self.wait_accepted(n)
        self.submitter.join()
        self.event(f"all submitted: {self.submitter.accepted} accepted, "
                   f"{sum(1 for r in self.submitter.results if r.failure)} refused for good, "
                   f"{self.submitter.tempfails} SMTP retries")
        self.wait_delivered()
        self.wait_drained()
        self.watcher.close()
        self.load.close()
        self.read_rss("milter 2", self.milter.pid, "end")
        self.read_rss("tracker", self.tracker.pid, "end")
        self.verify()

    def wait_delivered(self) -> None:
        expected = sum(1 for r in self.submitter.results if r.accepted)
        try:
            wait_until(lambda: self.watcher.delivered >= expected, DELIVERY_DEADLINE,
                       f"{expected} messages in the sink", interval=0.5)
        except TimeoutError:
            pass
        self.event(f"delivered {self.watcher.delivered} of {expected} accepted; "
                   f"Postfix queue {self.postfix.queue_size()}")

    def wait_drained(self) -> None:
        try:
            wait_until(self.load.idle, DRAIN_DEADLINE, "the HTTP clients to finish", interval=0.2)
        except TimeoutError:
            pass
        answered = self.load.answered_total

        def tracker_drained():
            metrics = self.tracker.metrics()
            return (metrics.get("mailtrail_tracker_event_queue_depth", 1) == 0
                    and metrics.get("mailtrail_tracker_spool_bytes", 1) == 0
                    and stream_length(self.redis) >= answered)
        try:
            wait_until(tracker_drained, DRAIN_DEADLINE, "the tracker to write every event", interval=0.5)
        except TimeoutError:
            pass
        ids = [d.tracking_ids[0] for ds in self.watcher.deliveries.values() for d in ds if len(d.tracking_ids) == 1]

        def records_present():
            hashes = read_hashes(self.redis, [f"mt:msg:{i}" for i in ids])
            return all("sender" in fields for fields in hashes.values())
        try:
            wait_until(records_present, DRAIN_DEADLINE, "every enrichment record", interval=1)
        except TimeoutError:
            pass
        self.event(f"drained: {sum(self.load.sent.values())} HTTP requests made, {answered} tracked answers, "
                   f"{stream_length(self.redis)} events in mt:events")

    # -- verification ----------------------------------------------------------------------

    def verify(self) -> None:
        submitter, watcher, load = self.submitter, self.watcher, self.load
        n = self.args.messages
        sent = submitter.accepted
        refused = [f"#{i} ({r.path}): {r.failure}" for i, r in enumerate(submitter.results) if r.failure]
        self.check("messages accepted (none refused for good)", n, sent, sent == n and not refused, refused[:5])
        deliveries = watcher.deliveries
        missing = [i for i in range(n) if i not in deliveries]
        duplicated = [i for i, ds in deliveries.items() if len(ds) > 1]
        self.check("messages sent = delivered", sent, len(deliveries),
                   len(deliveries) == sent and not missing,
                   [f"never delivered: {missing[:20]}"] if missing else [])
        self.check("each delivered exactly once", "0 duplicates", f"{len(duplicated)} duplicates",
                   not duplicated, [f"#{i}: {[d.path.name for d in deliveries[i]]}" for i in duplicated[:5]])
        self.check("no foreign or unreadable captures", 0, len(watcher.strangers) + len(watcher.problems),
                   not watcher.strangers and not watcher.problems, (watcher.strangers + watcher.problems)[:5])

        # The milter's log lines, from every milter process.
        tracked_by_id: dict[str, list[tuple[str, dict]]] = {}
        not_tracked: dict[str, list[str]] = {}
        lost = 0
        for level, queue_id, text in MILTER_LINE_RE.findall(self.milter_log()):
            if text.startswith("tracked "):
                fields = dict(f.split("=", 1) for f in text.split()[1:] if "=" in f)
                tracked_by_id.setdefault(fields.get("id", ""), []).append((queue_id, fields))
                lost += fields.get("enrichment") == "lost"
            elif text.startswith("not tracked: "):
                not_tracked.setdefault(queue_id, []).append(text[len("not tracked: "):])

        problems: list[str] = []
        passed: Counter[str] = Counter()
        tracked: list[Delivery] = []
        id_owners: Counter[str] = Counter()
        for seq, ds in sorted(deliveries.items()):
            d = ds[0]
            if len(d.tracking_ids) > 1:
                problems.append(f"#{seq}: {len(d.tracking_ids)} X-MailTrail-ID headers")
            elif len(d.tracking_ids) == 1:
                tid = d.tracking_ids[0]
                id_owners[tid] += 1
                lines = tracked_by_id.get(tid, [])
                if len(lines) != 1:
                    problems.append(f"#{seq}: {len(lines)} milter 'tracked' lines for id {tid}")
                elif lines[0][0] != d.queue_id:
                    problems.append(f"#{seq}: tracked as queue id {lines[0][0]}, delivered as {d.queue_id}")
                tracked.append(d)
            else:
                reasons = not_tracked.get(d.queue_id or "", [])
                if len(reasons) != 1:
                    problems.append(f"#{seq} (queue id {d.queue_id}): passed through with "
                                    f"{len(reasons)} 'not tracked' lines")
                else:
                    passed[reasons[0]] += 1
        shared = [tid for tid, count in id_owners.items() if count > 1]
        problems += [f"tracking id {tid} on {id_owners[tid]} messages" for tid in shared[:5]]
        orphans = [tid for tid in tracked_by_id if tid not in id_owners]
        self.check("delivered tracked exactly once or passed with a reason", len(deliveries),
                   f"{len(tracked)} tracked, {sum(passed.values())} passed", not problems,
                   problems[:10] + [f"passed through: {reason} ({count})" for reason, count in passed.items()])

        # Enrichment records and their counters.
        hashes = read_hashes(self.redis, [f"mt:msg:{d.tracking_ids[0]}" for d in tracked])
        problems = []
        for d in tracked:
            tid = d.tracking_ids[0]
            fields = hashes.get(f"mt:msg:{tid}", {})
            # The counters exist once the tracker counted something (HINCRBY creates them).
            opens, clicks = load.answered[(tid, "open")], load.answered[(tid, "click")]
            expect = {"sender": SENDER, "recipient": RECIPIENT.format(d.seq), "queue_id": d.queue_id,
                      "links": str(len(d.clicks)), "opens": str(opens) if opens else None,
                      "clicks": str(clicks) if clicks else None}
            got = {k: fields.get(k) for k in expect}
            if not fields or "sent_at" not in fields:
                problems.append(f"#{d.seq}: mt:msg:{tid} missing or incomplete: {fields}")
            elif got != expect:
                problems.append(f"#{d.seq}: mt:msg:{tid} has {got}, expected {expect}")
        self.check("every enrichment record present and right", len(tracked),
                   len(tracked) - len(problems), not problems, problems[:10])
        self.check("no enrichment record lost by the milter", 0, lost, lost == 0)
        log = self.milter_log()
        spooled = len(re.findall(r" tracked .*enrichment=spool", log))
        replayed = sum(int(m) for m in re.findall(r"replayed spooled enrichment records count=(\d+)", log))
        self.milter_spool = (spooled, replayed)
        self.check("milter: enrichment records spooled = replayed", spooled, replayed, spooled == replayed)

        # Events.
        events = read_events(self.redis)
        answered = load.answered_total
        counted: Counter[tuple[str, str]] = Counter()
        kinds = {"opened": "open", "clicked": "click"}
        strange = []
        for event_id, document in events:
            if document.get("id") != event_id:
                strange.append(f"entry id {event_id} != event id {document.get('id')}")
            counted[(document.get("tracking-id", ""), kinds.get(document.get("event"), "?"))] += 1
        unique = len({event_id for event_id, _ in events})
        mismatched = [f"{tid} {kind}: {counted[(tid, kind)]} events, {load.answered[(tid, kind)]} answered"
                      for tid, kind in set(counted) | set(load.answered)
                      if counted[(tid, kind)] != load.answered[(tid, kind)]]
        self.check("events in the stream = tracked requests answered", answered, len(events),
                   len(events) == answered and not mismatched and not strange,
                   (strange + mismatched)[:10])
        self.check("event ids unique", len(events), unique, unique == len(events))
        self.check("HTTP requests answered as expected", sum(load.sent.values()),
                   sum(load.sent.values()) - len(load.errors), not load.errors, load.errors[:10])

        # Memory.
        for reading in self.rss.values():
            if reading.warm is None or reading.end is None:
                self.check(f"RSS {reading.process}", "two readings", "missing", False)
                continue
            bound = reading.warm + RSS_BOUND_MIB * 1024 + int(reading.warm * RSS_BOUND_SHARE)
            self.check(f"RSS {reading.process} (warm -> end)", f"<= {mib(bound)}",
                       f"{mib(reading.warm)} -> {mib(reading.end)}", reading.end <= bound)

        # Crashes: every process alive now, clean exits on SIGTERM, nothing in the logs.
        alive = {
            "redis-server": self.redis.pid is not None and pid_alive(self.redis.pid, "redis-server"),
            "postfix master": self.postfix.master_pid is not None and pid_alive(self.postfix.master_pid, "master"),
            "smtp-sink": self.postfix.sink_pid is not None and pid_alive(self.postfix.sink_pid, "smtp-sink"),
            "mailtrail-milter": self.milter.running(),
            "mailtrail-tracker": self.tracker.process.poll() is None and pid_alive(self.tracker.pid, TRACKER_NAME),
        }
        dead = [name for name, up in alive.items() if not up]
        self.check("every process running at the end", len(alive), len(alive) - len(dead), not dead,
                   [f"not running: {name}" for name in dead])
        metrics = self.tracker.metrics()
        self.metrics_at_end = metrics
        lost_events = int(metrics.get("mailtrail_tracker_events_lost_total", 0))
        self.check("no event lost by the tracker (metrics)", 0, lost_events, lost_events == 0)
        written, spooled, replayed = (int(metrics.get(f"mailtrail_tracker_events_{name}_total", 0))
                                      for name in ("written", "spooled", "replayed"))
        self.check("tracker metrics: written + replayed = events", len(events), written + replayed,
                   written + replayed == len(events), [f"written {written}, replayed {replayed}"])
        self.check("tracker metrics: spooled = replayed", spooled, replayed, spooled == replayed)

    def stop_all(self) -> None:
        """Stops everything this run started, by PID, recording the exit statuses."""
        if self.tracker is not None and self.tracker.process is not None and self.tracker.process.poll() is None:
            try:
                self.tracker_exit = self.tracker.terminate(timeout=STOP_TIMEOUT)
            except Exception as error:
                say(f"stopping the tracker: {error}")
                self.tracker.kill()
        if self.milters and self.milter.running():
            try:
                self.milter_exits.append((f"milter {len(self.milters)} (pid {self.milter.pid})",
                                          self.milter.stop(timeout=STOP_TIMEOUT)))
            except AssertionError as error:
                self.milter_exits.append((f"milter {len(self.milters)} (pid {self.milter.pid})", None))
                say(str(error))
        for milter in self.milters:
            milter.kill()
        if self.postfix is not None:
            try:
                self.postfix.stop()
            except Exception as error:
                say(f"stopping Postfix: {error}")
        if self.redis is not None:
            self.redis.stop()

    def verify_exits_and_logs(self) -> None:
        bad = [f"{name} exited with {code}" for name, code in self.milter_exits if code != 0]
        if self.tracker_exit != 0:
            bad.append(f"tracker exited with {self.tracker_exit}")
        self.check("clean exits on SIGTERM", "all 0",
                   ", ".join(f"{name}: {code}" for name, code in self.milter_exits)
                   + f", tracker: {self.tracker_exit}", not bad, bad)
        traces = []
        logs = [m.log_path for m in self.milters] + [self.tracker.log, self.postfix.directory / "maillog",
                                                     self.redis.directory / "redis.log",
                                                     self.postfix.directory / "smtp-sink.log"]
        for path in logs:
            try:
                text = path.read_text(errors="replace")
            except FileNotFoundError:
                continue
            for line in text.splitlines():
                if CRASH_RE.search(line) or POSTFIX_DAEMON_TROUBLE_RE.search(line):
                    traces.append(f"{path.name}: {line[:200]}")
        cores = [str(p) for p in self.work.rglob("core*") if p.is_file()]
        self.check("no crash in any log, no core file", 0, len(traces) + len(cores),
                   not traces and not cores, (traces + cores)[:10])

    # -- report ----------------------------------------------------------------------------

    def report(self) -> bool:
        args, submitter, load = self.args, self.submitter, self.load
        paths = Counter(r.path for r in submitter.results)
        retried = sum(1 for r in submitter.results if r.attempts > 1)
        say("")
        say(f"MailTrail soak: {args.messages} messages ({paths['smtp']} SMTP over {args.sessions} "
            f"sessions, {paths['sendmail']} sendmail), {args.http_clients} HTTP clients, "
            f"{args.build} build, {self.elapsed():.0f} s in all")
        if submitter.finished_at is not None:
            say(f"  submission took {submitter.finished_at - self.started:.0f} s; "
                f"{retried} SMTP messages needed a retry ({submitter.tempfails} refusals or lost connections)")
        say(f"  HTTP requests: " + ", ".join(f"{kind} {count}" for kind, count in sorted(load.sent.items())))
        metrics = self.metrics_at_end
        if metrics:
            say("  tracker: events written {:.0f}, spooled {:.0f}, replayed {:.0f}, redis errors {:.0f}".format(
                metrics.get("mailtrail_tracker_events_written_total", 0),
                metrics.get("mailtrail_tracker_events_spooled_total", 0),
                metrics.get("mailtrail_tracker_events_replayed_total", 0),
                metrics.get("mailtrail_tracker_redis_errors_total", 0)))
        if self.milter_spool is not None:
            say(f"  milter: {self.milter_spool[0]} enrichment records spooled, {self.milter_spool[1]} replayed")
        say("timeline:")
        for line in self.timeline:
            say(f"  {line}")
        say("")
        width = max(len(c.name) for c in self.checks)
        say(f"{'check':<{width}}  {'expected':>26}  {'observed':>32}  result")
        for c in self.checks:
            say(f"{c.name:<{width}}  {c.expected:>26}  {c.observed:>32}  {'ok' if c.ok else 'FAIL'}")
            for line in c.detail:
                say(f"    {line}")
        failed = [c.name for c in self.checks if not c.ok]
        say("")
        if failed:
            say(f"SOAK FAILED: {len(failed)} of {len(self.checks)} checks: " + "; ".join(failed))
        else:
            say(f"SOAK PASSED: all {len(self.checks)} checks")
        say(f"RSS bound: end <= warm + {RSS_BOUND_MIB} MiB + {int(RSS_BOUND_SHARE * 100)} % of warm")
        return not failed


def build(kind: str) -> Path:
    args = [str(REPO / "scripts" / "swift-build"), kind]  # release builds as make release does
    say(f"building: {' '.join(args)}")
    subprocess.run(args, cwd=REPO, check=True)
    out = subprocess.run(args + ["--show-bin-path"], cwd=REPO, check=True, capture_output=True)
    return Path(out.stdout.decode().strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000, help="messages to send (default 20000)")
    parser.add_argument("--sessions", type=int, default=20, help="parallel senders (default 20)")
    parser.add_argument("--http-clients", type=int, default=8, help="parallel HTTP clients (default 8)")
    parser.add_argument("--sendmail-every", type=int, default=4,
                        help="every Nth message goes through sendmail (default 4; 0: none)")
    parser.add_argument("--build", choices=["debug", "release"], default=os.environ.get("SOAK_BUILD") or "debug",
                        help="which build to test (default: $SOAK_BUILD, else debug)")
    parser.add_argument("--skip-build", action="store_true",
                        help="do not run swift build; use MAILTRAIL_BIN_DIR or .build/<build>")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("must run as root (the throwaway Postfix needs it)")
    if args.messages < 100:
        parser.error("--messages must be at least 100 (the restarts happen at fixed shares of the run)")
    if args.skip_build:
        bin_dir = Path(os.environ.get("MAILTRAIL_BIN_DIR", REPO / ".build" / args.build))
    else:
        bin_dir = build(args.build)
    for name in ("mailtrail-milter", "mailtrail-tracker"):
        if not (bin_dir / name).is_file():
            parser.error(f"{name} not found in {bin_dir}")

    soak = Soak(args, bin_dir)
    ok = False
    try:
        try:
            soak.run()
        except Exception as error:
            soak.check("the run itself", "completes", f"{type(error).__name__}", False, [str(error)])
            import traceback
            traceback.print_exc()
        finally:
            soak.stop_all()
        if soak.tracker is not None:
            soak.verify_exits_and_logs()
        ok = soak.report()
    finally:
        if args.keep or not ok:
            say(f"work directory kept: {soak.work}")
        else:
            shutil.rmtree(soak.work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
