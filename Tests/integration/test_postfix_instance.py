"""The throwaway Postfix (scripts/postfix-instance.sh) works without a milter: SMTP and sendmail
submissions reach the smtp-sink unchanged, it listens on loopback only, and stopping it leaves
no process and no listening socket behind."""

from __future__ import annotations

import re

import pytest

from harness import (CORPUS, listeners, listening_on, parse_capture, pid_alive, processes_in,
                     strip_leading_received)

SENDER = "app@mail.example.com"
SMTP_MESSAGES = [
    ("munroe-email.alt-qp.eml", ["maria@example.net"]),
    ("postmark-basic-example.mixed-attach.eml", ["one@example.net", "two@example.org"]),
    ("postmark-plain-welcome.html-8bit.eml", ["maria@example.net"]),
]
SENDMAIL_MESSAGE = ("postmark-basic-invoice.related.eml", ["billing@example.org"])


def message_id(data: bytes) -> str:
    match = re.search(rb"(?im)^message-id:\s*(<[^>]+>)", data)
    assert match, "no Message-ID"
    return match.group(1).decode()


def test_smtp_and_sendmail_deliver_messages_unchanged(postfix_instance):
    instance = postfix_instance(milter=None)
    originals = {name: (CORPUS / name).read_bytes() for name, _ in SMTP_MESSAGES + [SENDMAIL_MESSAGE]}

    queue_ids = instance.smtp_send([(SENDER, rcpts, originals[name]) for name, rcpts in SMTP_MESSAGES])
    assert len(queue_ids) == 3 and all(queue_ids), queue_ids
    name, rcpts = SENDMAIL_MESSAGE
    instance.sendmail(originals[name], SENDER, rcpts)

    captured = instance.wait_for_messages(4, timeout=30)
    assert len(captured) == 4, [c.path.name for c in captured]
    by_id = {message_id(c.message): c for c in captured}
    for name, rcpts in SMTP_MESSAGES + [SENDMAIL_MESSAGE]:
        original = originals[name]
        got = by_id[message_id(original)]
        received, rest = strip_leading_received(got.message)
        # Postfix adds exactly one Received header and changes nothing else, byte for byte.
        assert len(received) == 1 and b"(Postfix" in received[0], received
        assert rest == original, f"{name}: delivered message differs from the submitted one"
        assert got.mail_from == SENDER
        assert got.recipients == rcpts
    # The SMTP and the sendmail (pickup) paths both went through this instance.
    log = instance.maillog()
    for queue_id in queue_ids:
        assert re.search(rf"{queue_id}: to=<[^>]+>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                         rf"{instance.sink_port}, .*status=sent", log), queue_id
    assert re.search(r"pickup\[\d+\]: \w+: uid=0 from=<" + re.escape(SENDER) + ">", log)
    assert instance.queue_size() == 0


def test_listens_on_loopback_only_and_stop_leaves_nothing(postfix_instance):
    instance = postfix_instance(milter=None)
    master, sink = instance.master_pid, instance.sink_pid
    assert master and pid_alive(master, "master")
    assert sink and pid_alive(sink, "smtp-sink")
    assert instance.status()

    ours = [entry for entry in listeners()
            if f"pid={master}," in entry[2] or f"pid={sink}," in entry[2]]
    assert sorted(port for _, port, _ in ours) == sorted([instance.smtp_port, instance.sink_port])
    assert all(address == "127.0.0.1" for address, _, _ in ours), ours

    instance.stop()
    assert not pid_alive(master, "master")
    assert not pid_alive(sink, "smtp-sink")
    assert listening_on(instance.smtp_port) == []
    assert listening_on(instance.sink_port) == []
    assert processes_in(instance.directory) == []
    assert not instance.status()
    instance.stop()     # stopping twice is harmless


def test_capture_parsing_separates_envelope_and_message():
    capture = (b"X-Client-Addr: 127.0.0.1\n"
               b"X-Client-Proto: ESMTP\n"
               b"X-Helo-Args: mailtrail-test.localhost\n"
               b"X-Mail-Args: <a@example.com> SIZE=42\n"
               b"X-Rcpt-Args: <b@example.net> ORCPT=rfc822;b@example.net\n"
               b"X-Rcpt-Args: <c@example.org>\n"
               b"Received: from mailtrail-test.localhost ([127.0.0.1])\n"
               b"\tby smtp-sink (smtp-sink) with ESMTP id 3f7a55bb;\n"
               b"\tSun, 22 Nov 2026 18:28:42 +0000 (UTC)\n"
               b"Received: from vm (unknown [127.0.0.1])\n"
               b"\tby mailtrail-test.localhost (Postfix) with ESMTP id E15A0F78345\n"
               b"Subject: s\n"
               b"\n"
               b"body\n"
               b"\n")
    got = parse_capture(capture)
    assert got.mail_from == "a@example.com"
    assert got.recipients == ["b@example.net", "c@example.org"]
    assert got.message == (b"Received: from vm (unknown [127.0.0.1])\r\n"
                           b"\tby mailtrail-test.localhost (Postfix) with ESMTP id E15A0F78345\r\n"
                           b"Subject: s\r\n\r\nbody\r\n")
    received, rest = strip_leading_received(got.message)
    assert len(received) == 1
    assert rest == b"Subject: s\r\n\r\nbody\r\n"


def test_requeue_sends_held_mail_through_pickup_again(postfix_instance):
    instance = postfix_instance(milter=None, hold=True)
    original = (CORPUS / "munroe-email-inlined.alt-qp.eml").read_bytes()
    [queue_id] = instance.smtp_send([(SENDER, ["maria@example.net"], original)])
    instance.wait_for_log(rf"{queue_id}: to=<maria@example\.net>.*status=deferred \(deferred transport\)")
    assert instance.queue_size() == 1

    instance.requeue()
    reinjected = instance.wait_for_log(rf"pickup\[\d+\]: (\w+): uid=\d+ from=<{re.escape(SENDER)}> "
                                       rf"orig_id={queue_id}").group(1)
    instance.release()
    [got] = instance.wait_for_messages(1)
    assert re.search(rf"{reinjected}: to=<maria@example\.net>, relay=127\.0\.0\.1.*status=sent",
                     instance.maillog())
    received, rest = strip_leading_received(got.message)
    # Re-injection adds a second Received header (from pickup); the message is otherwise intact.
    assert len(received) == 2 and b"(Postfix, from userid" in received[0], received
    assert rest == original
    assert instance.queue_size() == 0


def test_milter_settings_come_from_the_operator_snippet(postfix_instance, port):
    instance = postfix_instance(milter=f"inet:127.0.0.1:{port}", default_action="tempfail")
    assert instance.postconf("smtpd_milters") == f"inet:127.0.0.1:{port}"
    assert instance.postconf("non_smtpd_milters") == "$smtpd_milters"
    assert instance.postconf("milter_default_action") == "tempfail"
    assert instance.postconf("milter_protocol") == "6"
    assert "{client_addr}" in instance.postconf("milter_connect_macros").split()
    assert instance.postconf("milter_content_timeout") == "60s"


def test_milter_down_with_tempfail_refuses_smtp_and_keeps_sendmail_mail(postfix_instance, port):
    instance = postfix_instance(milter=f"inet:127.0.0.1:{port}", default_action="tempfail")
    original = (CORPUS / "postmark-plain-welcome.html-8bit.eml").read_bytes()
    with pytest.raises(AssertionError, match=r"refused: 451 .*4\.7\.1"):
        instance.smtp_send([(SENDER, ["maria@example.net"], original)])
    instance.sendmail(original, SENDER, ["maria@example.net"])
    # pickup's cleanup cannot reach the milter either: the message waits in maildrop/.
    instance.wait_for_log(rf"cleanup\[\d+\]: warning: connect to Milter service "
                          rf"inet:127\.0\.0\.1:{port}: Connection refused")
    instance.wait_for_log(r"cleanup\[\d+\]: \w+: milter-reject: CONNECT from localhost\[127\.0\.0\.1\]: "
                          r"4\.7\.1 Service unavailable - try again later; from=<" + re.escape(SENDER) + ">")
    assert instance.capture_paths() == []
    assert instance.queue_size() == 1


def test_milter_down_with_accept_delivers_untouched(postfix_instance, port):
    instance = postfix_instance(milter=f"inet:127.0.0.1:{port}", default_action="accept")
    original = (CORPUS / "postmark-plain-welcome.html-8bit.eml").read_bytes()
    instance.smtp_send([(SENDER, ["maria@example.net"], original)])
    [got] = instance.wait_for_messages(1)
    assert strip_leading_received(got.message)[1] == original
    assert re.search(rf"connect to Milter service inet:127\.0\.0\.1:{port}: Connection refused",
                     instance.maillog())
