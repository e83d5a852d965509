"""A real browser against mailtrail-tracker: headless Chromium renders a message rewritten by
`mailtrail rewrite` (the milter's engine) as an HTML page; its pixel request records an open,
and following a wrapped link lands on a local landing page and records the click with the
right link index."""

from __future__ import annotations

import email
import email.policy
import html.parser
import http.server
import shutil
import subprocess
import threading

import pytest

from harness import free_port, run
from tracker_process import tracker_factory, wait_for_events  # noqa: F401

TRACKING_ID = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"


class Landing(http.server.ThreadingHTTPServer):
    """The sender's web site: answers every GET with a page naming the path."""

    daemon_threads = True

    def __init__(self, port: int):
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", port), LandingHandler)


class LandingHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.paths.append(self.path)
        body = f"<html><body><h1 id='landed'>landed {self.path}</h1></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Anchors(html.parser.HTMLParser):
    """The href of every <a>, as the browser's DOM holds it."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href"]


def chromium(url: str, profile) -> str:
    """The DOM after the page (and its images) loaded, from headless Chromium."""
    result = subprocess.run(
        ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
         "--dump-dom", url],
        capture_output=True, timeout=90)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode()


MESSAGE = """\
From: Shop <news@shop.example>
To: Alice <alice@example.org>
Subject: Spring offers
Message-ID: <browser-test@shop.example>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Spring offers: {landing}/welcome

--b1
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<!DOCTYPE html><html><head><meta charset=3D"utf-8"><title>Spring</title></head>
<body><p>Hello Alice,</p>
<p><a href=3D"{landing}/welcome">Welcome</a></p>
<p><a href=3D"{landing}/offer?x=3D1&amp;y=3D2">See the offer</a></p>
</body></html>
--b1--
"""


@pytest.mark.needs_tracker
def test_chromium_opens_the_message_and_follows_a_wrapped_link(tracker_factory, redis_server, work_dir):
    if shutil.which("chromium") is None:
        pytest.fail("chromium is needed (apt-get install chromium)")
    landing = Landing(free_port())
    threading.Thread(target=landing.serve_forever, daemon=True).start()
    landing_base = f"http://127.0.0.1:{landing.server_address[1]}"
    try:
        tracker_port = free_port()
        tracker = tracker_factory(tracker_listen=f"127.0.0.1:{tracker_port}",
                                  tracking_base_url=f"http://127.0.0.1:{tracker_port}", track_text_parts=False)
        # What the milter stores for the message.
        redis_server.cli("HSET", f"mt:msg:{TRACKING_ID}", "sender", "news@shop.example",
                         "recipient", "alice@example.org", "recipients", '["alice@example.org"]', "rcpt_count", "1",
                         "message_id", "<browser-test@shop.example>", "sent_at", "1700000000", "links", "2")

        message = MESSAGE.format(landing=landing_base).replace("\n", "\r\n").encode()
        rewritten = run([tracker_factory.mailtrail, "rewrite", "--config", tracker.config,
                         "--tracking-id", TRACKING_ID], input=message).stdout
        parsed = email.message_from_bytes(rewritten, policy=email.policy.default)
        page = parsed.get_body(preferencelist=("html",)).get_content()
        assert f"http://127.0.0.1:{tracker_port}/o/" in page
        (work_dir / "message.html").write_text(page, encoding="utf-8")

        dom = chromium((work_dir / "message.html").as_uri(), work_dir / "profile1")
        opened = wait_for_events(redis_server, 1)[0]
        assert (opened["event"], opened["tracking-id"], opened["recipient"], opened["first"]) == \
            ("opened", TRACKING_ID, "alice@example.org", True)
        assert "HeadlessChrome" in opened["user-agent"]

        anchors = Anchors()
        anchors.feed(dom)
        assert len(anchors.hrefs) == 2
        assert all(href.startswith(f"http://127.0.0.1:{tracker_port}/c/") for href in anchors.hrefs)
        landed = chromium(anchors.hrefs[1], work_dir / "profile2")
        assert "landed /offer?x=1&amp;y=2" in landed
        assert landing.paths[0] == "/offer?x=1&y=2"
        assert set(landing.paths[1:]) <= {"/favicon.ico"}

        clicked = wait_for_events(redis_server, 2)[1]
        assert (clicked["event"], clicked["link-index"], clicked["url"], clicked["first"]) == \
            ("clicked", 1, f"{landing_base}/offer?x=1&y=2", True)
        assert clicked["message-id"] == "<browser-test@shop.example>"
        assert "HeadlessChrome" in clicked["user-agent"]
    finally:
        landing.shutdown()
        landing.server_close()
