"""mailtrail-milter never harms mail, whatever goes wrong around it:

- malformed messages (broken MIME boundaries, bad base64 in an HTML part, 8-bit junk, a 5 000
  line header block, no body, no headers) are all delivered, none rejected;
- Redis stopped while 200 messages are sent: all delivered and tracked without waiting for
  Redis (the milter's per-message time stays under the Redis timeout), and all 200 enrichment
  records reach Redis from the spool once it is back; Redis hung (SIGSTOP): same, bounded by
  the timeout;
- the milter killed (SIGKILL) mid-run: Postfix applies milter_default_action (accept: mail
  flows untracked; tempfail: SMTP gets 4xx and sendmail mail waits in the queue) and after
  the milter restarts, mail is tracked again and the waiting mail is delivered tracked.
"""

from __future__ import annotations

import os
import random
import re
import signal
import smtplib
import threading
import time

import mailcheck
from harness import CORPUS, SLOWDOWN, strip_leading_received, tracked_lines, wait_until

SENDER = "app@mail.example.com"
CORPUS_FILES = sorted(CORPUS.glob("*.eml"))
TTL = 10 * 86400
REDIS_TIMEOUT_MS = 200          # the default redis_timeout the milter runs with


def header_values(message: bytes, name: str) -> list[str]:
    header = message.split(b"\r\n\r\n", 1)[0]
    return [m.group(1).decode().strip()
            for m in re.finditer(rb"(?im)^" + name.encode() + rb":[ \t]*(.*)$", header)]


# ---------------------------------------------------------------------------------------------
# Malformed messages


def _head(subject: str, content_type: str | None, extra: str = "") -> bytes:
    lines = ["From: Shop <shop@example.com>", "To: someone@example.net", f"Subject: {subject}",
             f"Message-ID: <{subject}@example.com>", "Date: Sun, 22 Nov 2026 10:00:00 +0000",
             "MIME-Version: 1.0"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n" + extra).encode()


def malformed_messages() -> dict[str, bytes]:
    rng = random.Random(7)
    link = b'<a href="https://shop.example.com/x?a=1&amp;b=2">x</a>'
    junk_lines = []
    for _ in range(200):
        junk_lines.append(bytes(rng.choice([b for b in range(1, 256) if b not in (10, 13)])
                                for _ in range(rng.randint(0, 300))))
    return {
        # The declared boundary never appears; the parts use another one and never close.
        "broken-boundary": _head("broken-boundary", 'multipart/alternative; boundary="DECLARED"')
        + b"\r\n--ACTUAL\r\nContent-Type: text/html\r\n\r\n<html><body>" + link
        + b"</body></html>\r\n--ACTUAL\r\nContent-Type: text/plain\r\n\r\nhttps://shop.example.com/\r\n",
        # An HTML part whose base64 is not base64.
        "bad-base64": _head("bad-base64", 'multipart/alternative; boundary="B"')
        + b"\r\n--B\r\nContent-Type: text/plain\r\n\r\nplain https://shop.example.com/p\r\n"
        + b"--B\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b"PGh0bWw+PGJvZHk+!!!not*base64@@@\r\nPGEgaHJlZj0iaHR0cHM6Ly9zaG9wLmV4YW1wbGUuY29tL3kiPnk8L2E+=\r\n=x=\r\n"
        + b"--B--\r\n",
        # 8-bit junk in a text/html part declared 7bit.
        "eight-bit-junk": _head("eight-bit-junk", "text/html; charset=us-ascii")
        + b"Content-Transfer-Encoding: 7bit\r\n\r\n<html><body>" + link + b"\r\n"
        + b"\r\n".join(junk_lines) + b"\r\n</body></html>\r\n",
        # 5 000 header lines, then an HTML body.
        "huge-header": _head("huge-header", "text/html",
                             "".join(f"X-Filler-{i}: value {i} of a very long header block\r\n"
                                     for i in range(5000)))
        + b"\r\n<html><body>" + link + b"</body></html>\r\n",
        # Headers and no body at all (no empty line either).
        "no-body": _head("no-body", "text/html"),
        # No header at all: the first line is already body.
        "no-headers": b"<html><body>" + link + b"</body></html>\r\nmore text\r\n",
    }


def test_malformed_messages_are_delivered(milter_stack):
    redis, milter, postfix = milter_stack
    messages = malformed_messages()
    recipients = {name: f"{name}@example.net" for name in messages}
    queue_ids = {}
    for name, data in messages.items():
        # One connection each: a refusal must not hide the next message.
        [queue_ids[name]] = postfix.smtp_send([(SENDER, [recipients[name]], data)])
    got = postfix.wait_for_recipients(recipients.values())
    assert milter.running()
    log = milter.log()
    for name, data in messages.items():
        queue_id = queue_ids[name]
        # The milter gave a verdict for each, and each verdict matches what was delivered.
        verdict = re.search(rf": {queue_id}: (tracked|not tracked:) ", log)
        assert verdict, f"{name}: no milter log line for {queue_id}\n{log[-3000:]}"
        delivered = got[recipients[name]].message
        ids = header_values(delivered, "X-MailTrail-ID")
        if verdict.group(1) == "tracked":
            assert ids == [tracked_lines(log)[queue_id]["id"]], name
            assert redis.hash(f"mt:msg:{ids[0]}")["queue_id"] == queue_id
        else:
            assert ids == [], name
    # Content MailTrail cannot parse passes as it came (Postfix adds Received, and for the
    # message without headers the headers it always adds).
    for name in ("broken-boundary", "bad-base64"):
        rest = strip_leading_received(got[recipients[name]].message)[1]
        if not header_values(rest, "X-MailTrail-ID"):
            assert rest == messages[name], name
    # The junk and the long header block arrive intact, byte for byte.
    junk = messages["eight-bit-junk"].split(b"</a>\r\n", 1)[1].rsplit(b"\r\n</body>", 1)[0]
    assert len(junk) > 10_000 and junk in got[recipients["eight-bit-junk"]].message
    huge = got[recipients["huge-header"]].message
    assert len(header_values(huge, r"X-Filler-\d+")) == 5000


# ---------------------------------------------------------------------------------------------
# Redis down or hung


def corpus_batch(count: int, prefix: str) -> list[tuple[str, bytes]]:
    files = [p.read_bytes() for p in CORPUS_FILES]
    return [(f"{prefix}-{i}@example.net", files[i % len(files)]) for i in range(count)]


def send_in_parallel(postfix, batch: list[tuple[str, bytes]], connections: int) -> dict[str, str]:
    """Sends the batch over `connections` parallel SMTP connections; recipient -> queue id."""
    queue_ids: dict[str, str] = {}
    errors: list[BaseException] = []

    def worker(part):
        try:
            ids = postfix.smtp_send([(SENDER, [rcpt], data) for rcpt, data in part])
            queue_ids.update({rcpt: q for (rcpt, _), q in zip(part, ids)})
        except BaseException as error:   # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(batch[i::connections],))
               for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return queue_ids


def check_tracked_while_redis_was_away(milter, postfix, queue_ids, recipients):
    got = postfix.wait_for_recipients(recipients, timeout=120)
    lines = tracked_lines(milter.log())
    ids = {}
    for rcpt in recipients:
        queue_id = queue_ids[rcpt]
        line = lines[queue_id]
        assert line["enrichment"] == "spool", line
        # Not delayed: Redis cost the message at most its timeout, whatever the rewrite itself
        # took. The slack is for a busy test machine; without the timeout the wait would be
        # unbounded (a stopped Redis never answers).
        assert float(line["enrichment_ms"]) < REDIS_TIMEOUT_MS + 800 * SLOWDOWN, (queue_id, line)
        [ids[rcpt]] = header_values(got[rcpt].message, "X-MailTrail-ID")
        assert ids[rcpt] == line["id"]
    assert len(set(ids.values())) == len(recipients)
    return ids


def check_records_replayed(redis, ids, queue_ids, timeout=30):
    wait_until(lambda: all(redis.command("EXISTS", f"mt:msg:{i}") for i in ids.values()), timeout,
               f"{len(ids)} spooled enrichment records in Redis")
    for rcpt, tracking_id in ids.items():
        record = redis.hash(f"mt:msg:{tracking_id}")
        assert (record["sender"], record["recipient"], record["queue_id"]) == \
            (SENDER, rcpt, queue_ids[rcpt])
        assert TTL - 600 <= redis.command("TTL", f"mt:msg:{tracking_id}") <= TTL


def test_redis_stopped_while_200_messages_are_sent(milter_stack):
    redis, milter, postfix = milter_stack
    batch = corpus_batch(200, "redis-down")
    redis.stop()
    try:
        queue_ids = send_in_parallel(postfix, batch, connections=10)
        recipients = [rcpt for rcpt, _ in batch]
        ids = check_tracked_while_redis_was_away(milter, postfix, queue_ids, recipients)
        # Postfix saw no delay either: no message waited on the milter for seconds.
        for rcpt in recipients:
            delays = re.search(rf"{queue_ids[rcpt]}: to=<{re.escape(rcpt)}>.*delays=([\d.]+)/",
                               postfix.maillog())
            assert delays and float(delays.group(1)) < 3.0 * SLOWDOWN, (rcpt, delays and delays.group(0))
    finally:
        redis.start()
    check_records_replayed(redis, ids, queue_ids)
    milter.wait_for_log(r"replayed spooled enrichment records count=\d+")


def test_redis_hung_messages_wait_no_longer_than_the_timeout(milter_stack):
    """A Redis that accepts connections but never answers (SIGSTOP): each message waits at most
    the Redis timeout, then the record goes to the spool and reaches Redis once it answers."""
    redis, milter, postfix = milter_stack
    batch = corpus_batch(20, "redis-hung")
    os.kill(redis.pid, signal.SIGSTOP)
    try:
        queue_ids = send_in_parallel(postfix, batch, connections=4)
        recipients = [rcpt for rcpt, _ in batch]
        ids = check_tracked_while_redis_was_away(milter, postfix, queue_ids, recipients)
    finally:
        os.kill(redis.pid, signal.SIGCONT)
    check_records_replayed(redis, ids, queue_ids)


# ---------------------------------------------------------------------------------------------
# The milter killed mid-run


class Sender(threading.Thread):
    """Sends corpus messages one SMTP connection each, until told to stop; records each
    recipient's outcome: the queue id, or the refusal."""

    def __init__(self, postfix, prefix: str):
        super().__init__(daemon=True)
        self.postfix = postfix
        self.prefix = prefix
        self.outcomes: list[tuple[str, bytes, str | None, str | None]] = []  # rcpt, data, qid, refusal
        self.stop_after: int | None = None
        self.lock = threading.Lock()

    def run(self):
        files = [p.read_bytes() for p in CORPUS_FILES]
        i = 0
        while self.stop_after is None or i < self.stop_after:
            rcpt, data = f"{self.prefix}-{i}@example.net", files[i % len(files)]
            try:
                [queue_id] = self.postfix.smtp_send([(SENDER, [rcpt], data)])
                outcome = (rcpt, data, queue_id, None)
            except (AssertionError, smtplib.SMTPException) as error:
                outcome = (rcpt, data, None, str(error))
            with self.lock:
                self.outcomes.append(outcome)
            i += 1
            time.sleep(0.02)

    def count(self) -> int:
        with self.lock:
            return len(self.outcomes)

    def finish_after(self, more: int):
        self.stop_after = self.count() + more
        self.join(120)
        assert not self.is_alive()


def kill_mid_run(milters, first, postfix, prefix):
    """Starts sending, kills the milter once 5 messages are tracked, keeps sending while it is
    dead, restarts it on the same socket and sends some more. Returns (sender, restarted)."""
    sender = Sender(postfix, prefix)
    sender.start()
    wait_until(lambda: len(tracked_lines(first.log())) >= 5, 60, "5 tracked messages")
    first.kill()
    killed_at = sender.count()
    wait_until(lambda: sender.count() >= killed_at + 5, 60, "5 messages sent with the milter dead")
    restarted = milters(config=first.config)
    sender.finish_after(5)
    return sender, restarted


def test_milter_killed_with_default_action_accept(milter, postfix_instance, redis_server,
                                                  mailtrail_cli, tracking_base):
    cli = mailtrail_cli
    first = milter(redis_server)
    postfix = postfix_instance(milter=first.postfix_socket, default_action="accept")
    sender, restarted = kill_mid_run(milter, first, postfix, "kill-accept")
    # accept: nothing refused, everything delivered.
    assert all(refusal is None for _, _, _, refusal in sender.outcomes), sender.outcomes
    got = postfix.wait_for_recipients([rcpt for rcpt, _, _, _ in sender.outcomes], timeout=60)
    tracked = {**tracked_lines(first.log()), **tracked_lines(restarted.log())}
    untracked, cut_off = 0, []
    for rcpt, data, queue_id, _ in sender.outcomes:
        message = got[rcpt].message
        ids = header_values(message, "X-MailTrail-ID")
        if queue_id in tracked:
            assert ids == [tracked[queue_id]["id"]]
        elif ids:
            # The message at end of message when the milter died: its changes had all reached
            # Postfix (the ID comes last), only the log line had not been written.
            cut_off.append(rcpt)
            mailcheck.compare(data, message, tracking_base, cli.decode_link, tracking_id=ids[0])
            assert redis_server.hash(f"mt:msg:{ids[0]}")["recipient"] == rcpt
        else:
            # Passed while the milter was down: delivered as it came, untracked.
            untracked += 1
            assert strip_leading_received(message)[1] == data, rcpt
    assert untracked >= 5 and len(cut_off) <= 1, (untracked, cut_off)
    assert re.search(rf"connect to Milter service {re.escape(first.postfix_socket)}: "
                     rf"Connection refused", postfix.maillog())
    # After the restart mail is tracked again.
    assert len(tracked_lines(restarted.log())) >= 5


def test_milter_killed_with_default_action_tempfail(milter, postfix_instance, redis_server):
    first = milter(redis_server)
    postfix = postfix_instance(milter=first.postfix_socket, default_action="tempfail")
    sender = Sender(postfix, "kill-tempfail")
    sender.start()
    wait_until(lambda: len(tracked_lines(first.log())) >= 5, 60, "5 tracked messages")
    first.kill()
    killed_at = sender.count()
    wait_until(lambda: sender.count() >= killed_at + 5, 60, "5 messages sent with the milter dead")
    # Local submissions while the milter is down wait in the queue.
    waiting = [(f"kill-tempfail-pickup-{i}@example.net", CORPUS_FILES[i].read_bytes())
               for i in range(3)]
    for rcpt, data in waiting:
        postfix.sendmail(data, SENDER, [rcpt])
    postfix.wait_for_log(r"milter-reject: CONNECT from localhost\[127\.0\.0\.1\]: 4\.7\.1 ")
    sender.finish_after(0)
    refused = [(rcpt, data) for rcpt, data, queue_id, refusal in sender.outcomes if refusal]
    assert len(refused) >= 5
    # The refusal comes as the harness's "refused: 451 ..." or as smtplib's "(451, b'...')",
    # depending on the SMTP stage at which the dead milter is noticed: either way a 4xx.
    assert all(re.search(r"(refused: |\()4\d\d\b", refusal)
               for _, _, _, refusal in sender.outcomes if refusal), sender.outcomes
    assert postfix.queue_size() >= 3

    restarted = milter(config=first.config)
    postfix.flush()
    # SMTP clients retry their refused messages; the queued ones go out once flushed.
    retried = postfix.smtp_send([(SENDER, [rcpt], data) for rcpt, data in refused])
    everything = [rcpt for rcpt, _, _, refusal in sender.outcomes] + [r for r, _ in waiting]
    got = postfix.wait_for_recipients(everything, timeout=90)
    tracked = {**tracked_lines(first.log()), **tracked_lines(restarted.log())}
    tracked_ids = {line["id"] for line in tracked.values()}
    # tempfail: nothing was delivered untracked.
    for rcpt in everything:
        ids = header_values(got[rcpt].message, "X-MailTrail-ID")
        assert len(ids) == 1 and ids[0] in tracked_ids, rcpt
    assert all(q in tracked for q in retried)
    for rcpt, _ in waiting:
        queue_id = re.search(rb"\(Postfix, from userid 0\)\s+id (\w+)", got[rcpt].message).group(1).decode()
        assert queue_id in tracked_lines(restarted.log())
    assert postfix.queue_size() == 0
