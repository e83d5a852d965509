"""mailtrail-milter driven by an independent milter client, Debian's `miltertest` (Lua script
milter/track.lua): connect ... eom on one connection, three messages. The script checks the
negotiated actions, the inserted X-MailTrail-ID, the exact replaced body (what
`mailtrail rewrite` makes of the same message with the same ID and issue time), the opt-out
header removal and that an already tracked message is left alone; this test then checks the
tracked message with the independent mailcheck and the enrichment record in Redis."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import mailcheck
from harness import MailtrailCLI, run, write_keys

SCRIPT = Path(__file__).resolve().parent / "milter" / "track.lua"


def miltertest(process, binaries, config: Path, work_dir: Path, check: bool = True):
    return run(["miltertest", "-s", SCRIPT, "-D", f"socket={process.socket}",
                "-D", f"mailtrail={binaries.mailtrail}", "-D", f"config={config}",
                "-D", f"workdir={work_dir}"], check=check, timeout=60)


@pytest.mark.parametrize("socket_kind", ["inet", "unix"])
def test_miltertest_sees_header_insert_and_exact_body(milter, redis_server, binaries, work_dir,
                                                      tracking_base, socket_kind):
    # The script checks the negotiated steps, which differ by socket kind (DATA is skipped
    # on a Unix socket only).
    sockets = {"unix": {"milter_socket": f"unix:{work_dir / 'milter.sock'}"}, "inet": {}}
    process = milter(redis_server, **sockets[socket_kind])
    result = miltertest(process, binaries, process.config, work_dir)
    out = result.stdout.decode()
    match = re.search(r"^tracked ([0-9a-f]{32}) issued-at (\d+)$", out, re.MULTILINE)
    assert match, out
    assert out.splitlines()[1:] == ["opted out", "already tracked", "ok"], out
    tracking_id = match.group(1)

    # What the filter delivered, checked independently of MailTrail's own parser.
    original = (work_dir / "miltertest-message.eml").read_bytes()
    tracked = (work_dir / "miltertest-tracked.eml").read_bytes()
    cli = MailtrailCLI(binaries.mailtrail, process.config)
    summary = mailcheck.compare(original, tracked, tracking_base, cli.decode_link,
                                tracking_id=tracking_id)
    assert (summary.links_wrapped, summary.links_unchanged, summary.pixels) == (1, 1, 1), summary
    assert cli.decode_link(re.search(rb'href="([^"]+/c/[^"]+)"', tracked).group(1).decode()) \
        == "https://shop.example.com/order?id=42&x=1"

    # One log line per message, led by the queue id the MTA sent in {i}.
    assert process.log_lines(r": MTQUEUE1: tracked ") and \
        f"id={tracking_id}" in process.log_lines(r": MTQUEUE1: tracked ")[0]
    assert process.log_lines(r": MTQUEUE2: not tracked: opted out")
    assert process.log_lines(r": MTQUEUE3: not tracked: already tracked")

    # The enrichment record of message 1, and none for the two others.
    assert redis_server.cli("KEYS", "mt:msg:*") == f"mt:msg:{tracking_id}"
    fields = redis_server.cli("HGETALL", f"mt:msg:{tracking_id}").split("\n")
    record = dict(zip(fields[::2], fields[1::2]))
    assert {k: v for k, v in record.items() if k != "sent_at"} == {
        "sender": "shop@example.com",
        "recipient": "maria@example.net",
        "recipients": json.dumps(["maria@example.net"]),
        "rcpt_count": "1",
        "message_id": "<miltertest.1@example.com>",
        "subject": "Your order",
        "queue_id": "MTQUEUE1",
        "client_addr": "192.0.2.7",
        "sasl_user": "shopuser",
        "links": "1",
    }
    assert int(record["sent_at"]) == pytest.approx(int(match.group(2)), abs=2)
    assert 863990 <= int(redis_server.cli("TTL", f"mt:msg:{tracking_id}")) <= 864000


def test_miltertest_script_fails_on_a_different_body(milter, redis_server, binaries, work_dir,
                                                      mailtrail_config):
    """The Lua script's exact body check can fail: with other signing keys for the expected
    body, the filter's body no longer matches."""
    process = milter(redis_server)
    other_keys = write_keys(work_dir / "other-keys", ["k9"])
    other = mailtrail_config(redis_server, keys_file=other_keys)
    result = miltertest(process, binaries, other, work_dir, check=False)
    assert result.returncode != 0
    assert result.stdout.decode().splitlines()[-1] == \
        "FAIL: 1: the replaced body is not the one mailtrail rewrite makes", result.stdout
