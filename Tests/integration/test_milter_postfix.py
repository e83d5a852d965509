"""mailtrail-milter inside a real Postfix (scripts/postfix-instance.sh, smtp-sink capturing what
is delivered), one Redis, one milter and one Postfix shared by the module (milter_stack):

- every corpus message, over SMTP and through sendmail (pickup): the delivered message passes
  the independent mailcheck.compare, carries X-MailTrail-ID, and its enrichment hash in Redis
  has the right sender, recipient, queue id (the one in the maillog) and a 10-day TTL;
- 3 recipients; 5 messages on one SMTP connection; re-injection with postsuper -r;
- an S/MIME-signed message and an opted-out message (X-MailTrail-Track: off);
- bounded memory: a 20 MiB message with a 40 KB HTML part is tracked from a body spilled to
  disk; a message over max_message_size (25M here) passes untouched, and the log says why.
"""

from __future__ import annotations

import base64
import json
import os
import re
from functools import lru_cache

import pytest

import mailcheck
from harness import (CORPUS, MailtrailCLI, PostfixInstance, free_ports, received_queue_id, run,
                     strip_leading_received, tracked_lines)

MILTER_SETTINGS = {"max_message_size": "25M", "memory_buffer_size": "1M"}
CORPUS_FILES = sorted(CORPUS.glob("*.eml"))
SENDER = "app@mail.example.com"
TTL = 10 * 86400
ROUTES = ("smtp", "sendmail")


def message_id(data: bytes) -> str:
    match = re.search(rb"(?im)^message-id:\s*(<[^>]+>)", data)
    assert match, "no Message-ID"
    return match.group(1).decode()


def header_values(message: bytes, name: str) -> list[str]:
    header = message.split(b"\r\n\r\n", 1)[0]
    return [m.group(1).decode().strip()
            for m in re.finditer(rb"(?im)^" + name.encode() + rb":[ \t]*(.*)$", header)]


def recipient_for(index: int, route: str) -> str:
    return f"{route}-{index}@example.net"


@pytest.fixture(scope="module")
def cli(milter_stack):
    """`mailtrail link decode` with the milter's configuration, each URL decoded once."""
    _, milter, _ = milter_stack
    tool = MailtrailCLI(milter.binary.parent / "mailtrail", milter.config)
    return lru_cache(maxsize=None)(tool.decode_link)


@pytest.fixture(scope="module")
def corpus_delivery(milter_stack):
    """The whole corpus sent once over ONE SMTP connection and once through sendmail, each
    message to its own recipient. Returns {(name, route): (queue id or None, Captured)}."""
    _, _, postfix = milter_stack
    originals = [path.read_bytes() for path in CORPUS_FILES]
    smtp_ids = postfix.smtp_send([(SENDER, [recipient_for(i, "smtp")], data)
                                  for i, data in enumerate(originals)])
    for i, data in enumerate(originals):
        postfix.sendmail(data, SENDER, [recipient_for(i, "sendmail")])
    captured = postfix.wait_for_recipients(
        [recipient_for(i, route) for i in range(len(originals)) for route in ROUTES], timeout=120)
    result = {}
    for i, path in enumerate(CORPUS_FILES):
        result[(path.name, "smtp")] = (smtp_ids[i], captured[recipient_for(i, "smtp")])
        result[(path.name, "sendmail")] = (None, captured[recipient_for(i, "sendmail")])
    return result


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_message_is_tracked_end_to_end(path, route, corpus_delivery, milter_stack, cli,
                                              tracking_base):
    redis, milter, postfix = milter_stack
    index = CORPUS_FILES.index(path)
    recipient = recipient_for(index, route)
    smtp_queue_id, got = corpus_delivery[(path.name, route)]
    original = path.read_bytes()

    assert got.mail_from == SENDER and got.recipients == [recipient]
    summary = mailcheck.compare(original, got.message, tracking_base, cli)
    assert summary.links_wrapped > 0 and summary.pixels == 1, summary
    [tracking_id] = header_values(got.message, "X-MailTrail-ID")
    assert summary.tracking_id == tracking_id

    # The queue id: in Postfix's Received header, in the maillog, and in the record.
    queue_id = received_queue_id(got.message)
    assert queue_id, strip_leading_received(got.message)[0]
    if smtp_queue_id is not None:
        assert queue_id == smtp_queue_id
    log = postfix.maillog()
    assert re.search(rf"cleanup\[\d+\]: {queue_id}: message-id={re.escape(message_id(original))}", log)
    assert re.search(rf"{queue_id}: to=<{re.escape(recipient)}>, relay=127\.0\.0\.1.*status=sent", log)
    if route == "sendmail":
        assert re.search(rf"pickup\[\d+\]: {queue_id}: uid=0 from=<{re.escape(SENDER)}>", log)

    record = redis.hash(f"mt:msg:{tracking_id}")
    assert record["sender"] == SENDER
    assert record["recipient"] == recipient
    assert json.loads(record["recipients"]) == [recipient]
    assert record["rcpt_count"] == "1"
    assert record["queue_id"] == queue_id
    assert record["message_id"] == message_id(original)
    assert record["client_addr"] == "127.0.0.1"
    assert int(record["links"]) >= summary.links_wrapped
    assert TTL - 600 <= redis.command("TTL", f"mt:msg:{tracking_id}") <= TTL

    # The milter's own log line for the message, led by the same queue id.
    line = tracked_lines(milter.log())[queue_id]
    assert line["id"] == tracking_id and line["enrichment"] == "redis", line
    assert line["buffer"] == "memory" and int(line["links"]) == int(record["links"])


def test_three_recipients_share_one_record(milter_stack, cli, tracking_base):
    redis, _, postfix = milter_stack
    recipients = ["three-a@example.net", "three-b@example.org", "three-c@example.com"]
    original = (CORPUS / "postmark-basic-welcome.alt-b64.eml").read_bytes()
    [queue_id] = postfix.smtp_send([(SENDER, recipients, original)])
    got = postfix.wait_for_recipients(recipients)
    # smtp-sink sees one delivery with three RCPT TO (same destination, one transaction;
    # Postfix orders them its own way). The record keeps the RCPT TO order of the submission.
    assert sorted(got[recipients[0]].recipients) == sorted(recipients)
    assert all(got[r] is got[recipients[0]] for r in recipients)
    mailcheck.compare(original, got[recipients[0]].message, tracking_base, cli)
    [tracking_id] = header_values(got[recipients[0]].message, "X-MailTrail-ID")
    record = redis.hash(f"mt:msg:{tracking_id}")
    assert record["rcpt_count"] == "3"
    assert json.loads(record["recipients"]) == recipients
    assert "recipient" not in record
    assert record["queue_id"] == queue_id


def test_five_messages_on_one_connection_get_five_ids(milter_stack, cli, tracking_base):
    redis, milter, postfix = milter_stack
    names = [p.name for p in CORPUS_FILES[:5]]
    originals = [(CORPUS / n).read_bytes() for n in names]
    recipients = [f"five-{i}@example.net" for i in range(5)]
    queue_ids = postfix.smtp_send([(f"sender{i}@mail.example.com", [recipients[i]], originals[i])
                                   for i in range(5)])
    got = postfix.wait_for_recipients(recipients)
    ids = []
    for i, recipient in enumerate(recipients):
        message = got[recipient].message
        mailcheck.compare(originals[i], message, tracking_base, cli)
        [tracking_id] = header_values(message, "X-MailTrail-ID")
        ids.append(tracking_id)
        record = redis.hash(f"mt:msg:{tracking_id}")
        # Per-message state was reset at every MAIL FROM: each record has its own envelope.
        assert (record["sender"], record["recipient"], record["queue_id"]) == \
            (f"sender{i}@mail.example.com", recipient, queue_ids[i])
    assert len(set(ids)) == 5
    lines = tracked_lines(milter.log())
    assert [lines[q]["id"] for q in queue_ids] == ids


def test_reinjected_message_is_not_tracked_twice(milter_stack, module_work_dir):
    """postsuper -r moves queued mail through pickup and cleanup again. Postfix 3.7 does not
    run milters on it (postsuper(1): "not subjected to the smtpd_milters or non_smtpd_milters
    settings"), so it keeps its one X-MailTrail-ID and gets no second record. The same tracked
    message submitted again (here with sendmail, as a relay loop or a re-sending application
    would) does reach the milter, which leaves it alone: same ID, no new record."""
    redis, milter, _ = milter_stack
    smtp_port, sink_port = free_ports(2)
    held = PostfixInstance(module_work_dir / "postfix-hold", smtp_port, sink_port,
                           milter.postfix_socket, "tempfail", hold=True).start()
    try:
        original = (CORPUS / "munroe-email-inlined.alt-qp.eml").read_bytes()
        [queue_id] = held.smtp_send([(SENDER, ["requeue@example.net"], original)])
        held.wait_for_log(rf"{queue_id}: to=<requeue@example\.net>.*status=deferred")
        first_id = tracked_lines(milter.log())[queue_id]["id"]
        keys_before = set(redis.command("KEYS", "mt:msg:*"))

        held.requeue()
        new_queue_id = held.wait_for_log(rf"pickup\[\d+\]: (\w+): uid=\d+ from=<{re.escape(SENDER)}> "
                                         rf"orig_id={queue_id}").group(1)
        held.release()
        got = held.wait_for_recipients(["requeue@example.net"])["requeue@example.net"]
        received, rest = strip_leading_received(got.message)
        assert len(received) == 2 and received_queue_id(got.message) == new_queue_id
        assert header_values(got.message, "X-MailTrail-ID") == [first_id]
        assert f": {new_queue_id}: " not in milter.log()

        # The delivered, tracked message submitted again: the milter sees it and skips it.
        held.sendmail(rest, SENDER, ["resent@example.net"])
        again = held.wait_for_recipients(["resent@example.net"])["resent@example.net"]
        resent_queue_id = received_queue_id(again.message)
        milter.wait_for_log(rf": {resent_queue_id}: not tracked: already tracked "
                            rf"\(X-MailTrail-ID present\)")
        assert strip_leading_received(again.message)[1] == rest
        assert header_values(again.message, "X-MailTrail-ID") == [first_id]
        assert set(redis.command("KEYS", "mt:msg:*")) == keys_before
        assert redis.hash(f"mt:msg:{first_id}")["queue_id"] == queue_id
    finally:
        held.stop()


@pytest.fixture(scope="module")
def smime_message(module_work_dir) -> bytes:
    """An HTML message signed with `openssl smime -sign` (multipart/signed, detached)."""
    directory = module_work_dir / "smime"
    directory.mkdir()
    key, cert = directory / "key.pem", directory / "cert.pem"
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=shop@example.com", "-keyout", key, "-out", cert])
    content = directory / "content.eml"
    content.write_bytes(b"Content-Type: text/html; charset=utf-8\r\n\r\n"
                        b"<html><body><p><a href=\"https://shop.example.com/signed\">signed link</a>"
                        b"</p></body></html>\r\n")
    signed = run(["openssl", "smime", "-sign", "-in", content, "-signer", cert, "-inkey", key,
                  "-crlfeol"]).stdout
    signed = re.sub(rb"\r?\n", b"\r\n", signed)
    assert re.search(rb"(?i)^Content-Type: multipart/signed;", signed, re.MULTILINE), signed[:300]
    return (b"From: Shop <shop@example.com>\r\nTo: smime@example.net\r\nSubject: Signed\r\n"
            b"Message-ID: <smime.1@example.com>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n" + signed)


def test_smime_signed_message_is_delivered_byte_identical(milter_stack, smime_message,
                                                           module_work_dir):
    redis, milter, postfix = milter_stack
    keys_before = set(redis.command("KEYS", "mt:msg:*"))
    [queue_id] = postfix.smtp_send([(SENDER, ["smime@example.net"], smime_message)])
    got = postfix.wait_for_recipients(["smime@example.net"])["smime@example.net"]
    received, rest = strip_leading_received(got.message)
    assert len(received) == 1 and b"(Postfix)" in received[0]
    assert rest == smime_message
    milter.wait_for_log(rf": {queue_id}: not tracked: signed or encrypted \(multipart/signed\)")
    assert set(redis.command("KEYS", "mt:msg:*")) == keys_before
    # The signature still verifies on what was delivered.
    delivered = module_work_dir / "smime" / "delivered.eml"
    delivered.write_bytes(rest)
    run(["openssl", "smime", "-verify", "-noverify", "-in", delivered, "-out", os.devnull])


def test_opted_out_message_loses_only_the_opt_out_header(milter_stack):
    redis, milter, postfix = milter_stack
    original = (CORPUS / "postmark-plain-welcome.html-8bit.eml").read_bytes()
    head, body = original.split(b"\r\n\r\n", 1)
    opted_out = head + b"\r\nX-MailTrail-Track: off\r\n\r\n" + body
    keys_before = set(redis.command("KEYS", "mt:msg:*"))
    [queue_id] = postfix.smtp_send([(SENDER, ["optout@example.net"], opted_out)])
    got = postfix.wait_for_recipients(["optout@example.net"])["optout@example.net"]
    received, rest = strip_leading_received(got.message)
    assert len(received) == 1
    assert rest == original
    milter.wait_for_log(rf": {queue_id}: not tracked: opted out \(X-MailTrail-Track: off\)")
    assert set(redis.command("KEYS", "mt:msg:*")) == keys_before


def big_message(html_bytes: int, total_bytes: int, recipient: str) -> bytes:
    """A multipart/mixed message: an HTML part of about `html_bytes` (a link every 2 KB),
    then a base64 attachment making the message about `total_bytes` long."""
    paragraphs, size, i = [], 0, 0
    filler = f"<p>{'Lorem ipsum dolor sit amet, consectetur adipiscing elit. ' * 15}</p>\r\n"
    while size < html_bytes:
        p = (f'<p>Item {i}: <a href="https://shop.example.com/item/{i}?ref=big&amp;n={i}">item {i}</a>'
             f"</p>\r\n{filler}{filler}")
        paragraphs.append(p)
        size += len(p)
        i += 1
    html = ("<html><body>\r\n" + "".join(paragraphs) + "</body></html>\r\n").encode()
    head = (f"From: Shop <shop@example.com>\r\nTo: {recipient}\r\nSubject: Big\r\n"
            f"Message-ID: <big.{recipient}>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"BIG-BOUNDARY\"\r\n\r\n"
            "--BIG-BOUNDARY\r\nContent-Type: text/html; charset=utf-8\r\n\r\n").encode() + html
    attachment_head = (b"--BIG-BOUNDARY\r\nContent-Type: application/octet-stream\r\n"
                       b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
                       b"Content-Transfer-Encoding: base64\r\n\r\n")
    tail = b"--BIG-BOUNDARY--\r\n"
    raw = os.urandom(max(0, (total_bytes - len(head) - len(attachment_head) - len(tail)) * 57 // 78))
    encoded = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    return head + attachment_head + encoded + tail


def test_20_mib_message_is_tracked_from_a_spilled_body(milter_stack, cli, tracking_base):
    redis, milter, postfix = milter_stack
    original = big_message(40_000, (20 << 20) + (64 << 10), "big20@example.net")
    assert len(original) > 20 << 20
    [queue_id] = postfix.smtp_send([(SENDER, ["big20@example.net"], original)])
    got = postfix.wait_for_recipients(["big20@example.net"], timeout=60)["big20@example.net"]
    summary = mailcheck.compare(original, got.message, tracking_base, cli)
    assert summary.links_wrapped == 23 and summary.pixels == 1
    line = tracked_lines(milter.log())[queue_id]
    assert line["buffer"] == "file", line           # over memory_buffer_size: spilled to disk
    assert int(line["size"]) > 20 << 20 and int(line["links"]) == 23
    assert redis.hash(f"mt:msg:{line['id']}")["queue_id"] == queue_id
    # Spilled bodies live in unlinked files: nothing is left in the body directory.
    assert os.listdir(milter.config.parent / "spool" / "bodies") == []


def test_message_over_max_message_size_passes_untouched(milter_stack):
    redis, milter, postfix = milter_stack
    original = big_message(40_000, 26 << 20, "big26@example.net")
    keys_before = set(redis.command("KEYS", "mt:msg:*"))
    [queue_id] = postfix.smtp_send([(SENDER, ["big26@example.net"], original)])
    got = postfix.wait_for_recipients(["big26@example.net"], timeout=60)["big26@example.net"]
    received, rest = strip_leading_received(got.message)
    assert rest == original
    body_size = len(original.split(b"\r\n\r\n", 1)[1])
    milter.wait_for_log(rf": {queue_id}: not tracked: larger than max_message_size "
                        rf"\({25 << 20} bytes\) size={body_size}$")
    assert set(redis.command("KEYS", "mt:msg:*")) == keys_before
