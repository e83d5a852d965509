"""A real local webhook receiver for `mailtrail feed` tests, and the reference implementation of the
signature check that MailTrail documents for receivers.

Each request is recorded with its headers, its decompressed body, the events in it, whether its
signature verifies, and what the receiver answered. What to answer is decided per request by a
`behaviour(request) -> Action` callable (answer 200, answer 500, stall, drop the connection), and a
`check(request)` hook runs on receipt, before answering (e.g. to look at Redis meanwhile)."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify_signature(header: str, raw_body: bytes, secret: bytes, now: float | None = None,
                     tolerance: int = 300) -> bool:
    """MailTrail's webhook signature check (X-MailTrail-Signature: t=<unix>,v1=<hex>):
    1. split the header on ",", each part on the first "=": take t and every v1;
    2. refuse when |now - t| > tolerance (replays);
    3. expected = hex(HMAC-SHA256(secret, f"{t}." + raw_body)), raw_body being the body after
       gunzip (Content-Encoding: gzip);
    4. accept when some v1 equals expected (constant-time comparison)."""
    parts = {}
    candidates = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            return False
        if key == "v1":
            candidates.append(value)
        else:
            parts[key] = value
    t = parts.get("t", "")
    if not t.isdigit() or not candidates:
        return False
    if abs((time.time() if now is None else now) - int(t)) > tolerance:
        return False
    expected = hmac.new(secret, t.encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


@dataclass
class Action:
    """What the receiver does with one request."""
    status: int = 200            # status to answer (ignored when drop)
    delay: float = 0.0           # seconds to stall before answering
    drop: bool = False           # close the connection without answering
    hold: threading.Event | None = None   # wait for this event before answering


OK = Action()


@dataclass
class Received:
    arrived: float
    headers: dict[str, str]
    compressed: bytes
    body: bytes                  # after gunzip
    events: list[dict]
    signature_ok: bool
    attempt: int
    action: Action | None = None
    answered: int | None = None  # status actually written (None: dropped, stalled past the client, crashed)
    problems: list[str] = field(default_factory=list)

    @property
    def event_ids(self) -> list[str]:
        return [e["id"] for e in self.events]


class Receiver:
    def __init__(self, secret: bytes, behaviour=None, check=None):
        self.secret = secret
        self.behaviour = behaviour or (lambda request: OK)
        self.check = check
        self.lock = threading.Lock()
        self.requests: list[Received] = []
        self.arrivals = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True   # answer at once, not after the client's delayed ACK

            def log_message(self, *args):
                pass

            def do_POST(self):
                receiver._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/mailtrail"

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what arrived

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def accepted(self) -> list[Received]:
        """Requests answered with a 2xx."""
        return [r for r in self.snapshot() if r.answered is not None and 200 <= r.answered < 300]

    def accepted_ids(self) -> list[str]:
        return [i for r in self.accepted() for i in r.event_ids]

    def wait_for(self, condition, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        with self.arrivals:
            while not condition(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
                self.arrivals.wait(left)

    # -- handling

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        compressed = handler.rfile.read(length)
        problems = []
        body = compressed
        if handler.headers.get("Content-Encoding") == "gzip":
            try:
                body = gzip.decompress(compressed)
            except OSError as error:
                problems.append(f"gzip: {error}")
        else:
            problems.append("no Content-Encoding: gzip")
        events = []
        try:
            if handler.headers.get("Content-Type") == "application/x-ndjson":
                events = [json.loads(line) for line in body.decode().splitlines()]
            else:
                events = json.loads(body)
        except ValueError as error:
            problems.append(f"body: {error}")
        request = Received(
            arrived=time.monotonic(),
            headers={k.lower(): v for k, v in handler.headers.items()},
            compressed=compressed, body=body, events=events,
            signature_ok=verify_signature(handler.headers.get("X-MailTrail-Signature", ""), body, self.secret),
            attempt=int(handler.headers.get("X-MailTrail-Attempt", "0")),
            problems=problems)
        if self.check is not None:
            try:
                self.check(request)
            except Exception as error:  # recorded, asserted by the test
                request.problems.append(f"check: {error!r}")
        action = self.behaviour(request)
        request.action = action
        with self.arrivals:
            self.requests.append(request)
            self.arrivals.notify_all()
        if action.hold is not None:
            action.hold.wait(60)
        if action.delay:
            time.sleep(action.delay)
        if action.drop:
            handler.close_connection = True
            return
        payload = b"ok" if action.status < 300 else b"boom"
        try:
            handler.send_response(action.status)
            handler.send_header("Content-Type", "text/plain")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            handler.wfile.flush()
        except OSError:
            return   # the client gave up (timeout): nothing was answered
        with self.arrivals:
            request.answered = action.status
            self.arrivals.notify_all()
