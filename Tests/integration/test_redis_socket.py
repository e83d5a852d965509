"""Redis on its Unix socket (`redis_host = /path/to/redis.sock`), with nothing listening on
`redis_port`: a message through a real Postfix gets its enrichment record from the milter
through the socket, and the tracker records the click on it, joined with that record, through
the socket too. A socket where nothing listens sends the tracker's events to the spool; they
are replayed once Redis answers there."""
from __future__ import annotations

import re

import pytest

from harness import CORPUS, free_port, wait_until
from tracker_process import http_get, mint, path_of, tracker_factory, wait_for_events  # noqa: F401

SENDER = "app@mail.example.com"
RECIPIENT = "reader@example.net"


@pytest.mark.needs_milter
@pytest.mark.needs_tracker
def test_milter_and_tracker_use_the_socket(redis_server, milter, postfix_instance, tracker_factory):
    socket_path = str(redis_server.socket_path)
    process = milter(redis_server, redis_host=socket_path, redis_port=free_port())
    postfix = postfix_instance(milter=process.postfix_socket)
    [queue_id] = postfix.smtp_send([(SENDER, [RECIPIENT], (CORPUS / "postmark-basic-welcome.alt-b64.eml").read_bytes())])
    message = postfix.wait_for_recipients([RECIPIENT])[RECIPIENT].message
    tracking_id = re.search(rb"(?im)^X-MailTrail-ID:\s*([0-9a-f]{32})\s*$", message).group(1).decode()
    record = redis_server.hash(f"mt:msg:{tracking_id}")
    assert record["recipient"] == RECIPIENT and record["queue_id"] == queue_id, record

    tracker = tracker_factory(redis_host=socket_path, redis_port=free_port())
    click = mint(tracker_factory.mailtrail, tracker.config, tracking_id, "https://shop.example/socket", index=3)
    status, headers, _ = http_get(tracker.port, path_of(click))
    assert (status, headers["location"]) == (302, "https://shop.example/socket")
    [event] = wait_for_events(redis_server, 1)
    assert (event["event"], event["link-index"], event["first"]) == ("clicked", 3, True)
    assert (event["recipient"], event["queue-id"]) == (RECIPIENT, queue_id)
    assert tracker.metrics()["mailtrail_tracker_events_spooled_total"] == 0


@pytest.mark.needs_tracker
def test_socket_without_redis_spools_until_redis_answers_there(redis_server, tracker_factory, work_dir):
    socket_path = work_dir / "later" / "redis.sock"
    tracker = tracker_factory(redis_host=str(socket_path), redis_port=free_port())
    click = mint(tracker_factory.mailtrail, tracker.config, "50c7" * 8, "https://shop.example/later")
    assert http_get(tracker.port, path_of(click))[0] == 302
    wait_until(lambda: tracker.metrics()["mailtrail_tracker_events_spooled_total"] == 1, 10, "the event spooled")
    assert f"unix:{socket_path} db 0" in tracker.log_text()

    # Redis moves to that socket (a restart with another unixsocket): the spool is replayed.
    redis_server.stop()
    socket_path.parent.mkdir()
    redis_server.start(unixsocket=socket_path)
    [event] = wait_for_events(redis_server, 1)
    assert event["url"] == "https://shop.example/later"
    wait_until(lambda: tracker.metrics()["mailtrail_tracker_events_replayed_total"] == 1, 10, "the event replayed")
