"""bench/echo-milter.c, the reference filter bench/milter measures beside MailTrail, does what
its figures claim inside a real Postfix: the body comes back unchanged, X-MailTrail-ID is added,
and one enrichment hash per message lands in Redis. A reference that silently passed mail
untouched would make MailTrail look slower than it is."""

from __future__ import annotations

import re

import pytest

from harness import CORPUS, EchoMilter, strip_leading_received

SENDER = "bench@mail.example.com"


def header_value(message: bytes, name: str) -> list[str]:
    head = message.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return [line.split(":", 1)[1].strip() for line in head.split("\r\n")
            if line.lower().startswith(name.lower() + ":")]


@pytest.mark.parametrize("kind,buffered", [("inet", True), ("unix", False)])
def test_echo_milter_replaces_the_body_with_itself_and_records_each_message(
        kind, buffered, work_dir, redis_server, postfix_instance, port):
    socket = f"inet:{port}@127.0.0.1" if kind == "inet" else f"unix:{work_dir / 'echo.sock'}"
    echo = EchoMilter(EchoMilter.build(work_dir), socket, redis_server.port, work_dir / "echo.log",
                      buffered).start()
    echo.wait_for_log(re.escape(f"listening on {socket}, {'buffered' if buffered else 'stock'} reads"), 10)
    try:
        plain = postfix_instance()
        echoed = postfix_instance(milter=echo.postfix_socket)
        messages = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))[:3]]
        jobs = [(SENDER, [f"echo-{i}@example.net"], data) for i, data in enumerate(messages)]
        plain.smtp_send(jobs)
        queue_ids = echoed.smtp_send(jobs)
        without = {c.recipients[0]: c for c in plain.wait_for_messages(len(jobs))}
        with_echo = {c.recipients[0]: c for c in echoed.wait_for_messages(len(jobs))}
    finally:
        assert echo.stop() == 0, echo.log()

    for index, (_, (recipient,), _) in enumerate(jobs):
        reference = strip_leading_received(without[recipient].message)[1]
        filtered = strip_leading_received(with_echo[recipient].message)[1]
        ids = header_value(filtered, "X-MailTrail-ID")
        assert len(ids) == 1, filtered[:2000]
        assert not header_value(reference, "X-MailTrail-ID")
        # The same message apart from the added header (Postfix appends it to the header block).
        assert filtered.replace(f"X-MailTrail-ID: {ids[0]}\r\n".encode(), b"", 1) == reference
        record = redis_server.hash(f"mt:msg:{ids[0]}")
        assert record == {"sender": SENDER, "recipient": recipient, "queue_id": queue_ids[index]}
        assert 0 < int(redis_server.command("TTL", f"mt:msg:{ids[0]}")) <= 7776000
        # The body went back through Postfix's body replacement, not only the header.
        body = filtered.split(b"\r\n\r\n", 1)[1]
        assert echo.log_lines(rf"^{queue_ids[index]}: body replaced, {len(body)} bytes, X-MailTrail-ID {ids[0]}$")
