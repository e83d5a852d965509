"""`mailtrail stats` on a scripted scenario written straight into a real Redis, in the shapes the
milter (EnrichmentRecord hashes) and the tracker (TrackingEvent stream entries, engagement
counters) write: known sends, opens and clicks with repeats, a machine open, events just outside
the window, a message sent before the window, one known only from its events, a hash without a
send time, a foreign key under the prefix and an unreadable stream entry.

The window is [T+1000, T+2000) with T = 1790000000 (2026-09-21 14:13:20 UTC); stream entry ids
carry the event times (T*1000 + offset ms)."""

from __future__ import annotations

import json
import subprocess

import pytest

from resp import Redis
from scenario import enrichment, event, xadd_event

pytestmark = pytest.mark.needs_mailtrail

T = 1790000000
A, B, C = "https://shop.example/a", "https://shop.example/b", "https://fall.example/c"


def tid(n: int) -> str:
    return f"{n:02d}" * 16


# name: (campaign, sent offset, recipient, Message-ID); m8 has no record at all.
MESSAGES = {
    1: ("spring", 1100, "ann@example.com", "<m1@example.com>"),
    2: ("spring", 1200, "bob@example.com", None),
    3: ("spring", 1300, "cat@example.com", None),
    4: ("autumn", 1400, "dan@example.com", None),
    5: (None, 1500, "eve@example.com", None),
    6: ("spring", 500, "fay@example.com", None),
    7: ("spring", 2500, "gus@example.com", None),
    9: ("autumn", 1450, None, None),
}

# (message, kind, url, offset ms, machine reason)
EVENTS = [
    (1, "opened", None, 1_150_000, None),
    (1, "opened", None, 1_160_000, None),
    (1, "opened", None, 1_170_000, None),
    (1, "clicked", A, 1_171_000, None),
    (1, "clicked", A, 1_172_000, None),
    (1, "clicked", B, 1_173_000, None),
    (2, "opened", None, 1_250_000, "apple-mpp"),
    (2, "opened", None, 1_260_000, None),
    (4, "opened", None, 1_450_000, None),
    (4, "clicked", C, 1_451_000, None),
    (5, "opened", None, 1_550_000, None),
    (5, "opened", None, 1_560_000, None),
    (6, "opened", None, 1_600_000, None),
    (6, "clicked", A, 1_610_000, None),
    (8, "clicked", C, 1_700_000, None),
    (1, "opened", None, 999_999, None),        # before the window
    (1, "clicked", B, 2_000_000, None),        # at its (exclusive) end
]


@pytest.fixture
def scenario(redis_server):
    with Redis(redis_server.port) as r:
        commands = []
        for n, (campaign, sent, recipient, message_id) in MESSAGES.items():
            commands.append(enrichment(tid(n), sent_at=T + sent, campaign=campaign, message_id=message_id,
                                       recipients=[recipient] if recipient else ["x@example.com", "y@example.com"]))
        # The tracker's counters on a message whose record never arrived (no sent_at): ignored.
        commands.append(("HSET", f"mt:msg:{tid(0)}", "opens", "1", "first_open_at", str(T + 1200)))
        commands.append(("SET", "mt:msg:not-a-hash", "x"))
        entries = [(1_800_000, ("XADD", "mt:events", f"{T * 1000 + 1_800_000}-0", "id", "broken", "json", "{"))]
        for index, (n, kind, url, offset, machine) in enumerate(EVENTS):
            campaign = "autumn" if n == 8 else MESSAGES[n][0]
            doc = event(f"e{index:02d}", kind, tid(n), T + offset / 1000, url=url, campaign=campaign,
                        recipient=MESSAGES.get(n, (None, 0, None))[2], machine=machine,
                        link_index=0 if url else None)
            entries.append((offset, xadd_event(doc, f"{T * 1000 + offset}-0")))
        # A stream only takes increasing ids.
        r.pipeline(commands + [command for _, command in sorted(entries)])
    return redis_server


def stats(binaries, config, *args) -> subprocess.CompletedProcess:
    result = subprocess.run([str(binaries.mailtrail), "stats", "-c", str(config),
                             "--since", f"@{T + 1000}", "--until", f"@{T + 2000}", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


def test_per_campaign_and_per_link_tables(scenario, mailtrail_config, binaries):
    result = stats(binaries, mailtrail_config(scenario), "--links")
    assert result.stdout == """\
Window: 2026-09-21 14:30:00 to 2026-09-21 14:46:40 UTC

CAMPAIGN  SENT  OPENS  UNIQUE OPENS  CLICKS  UNIQUE CLICKS     CTR
autumn       2      1             1       2              2  100.0%
spring       3      6             3       4              2   66.7%
(none)       1      2             1       0              0    0.0%
TOTAL        6      9             5       6              4   66.7%

CAMPAIGN  URL                     SENT  CLICKS  UNIQUE CLICKS     CTR
autumn    https://fall.example/c     2       2              2  100.0%
spring    https://shop.example/a     3       3              2   66.7%
spring    https://shop.example/b     3       1              1   33.3%
"""
    assert result.stderr == "mailtrail stats: skipped 1 unreadable stream entry in mt:events\n"


def test_one_campaign_per_message(scenario, mailtrail_config, binaries):
    result = stats(binaries, mailtrail_config(scenario), "--campaign", "spring")
    assert result.stdout == f"""\
Window: 2026-09-21 14:30:00 to 2026-09-21 14:46:40 UTC

CAMPAIGN  SENT  OPENS  UNIQUE OPENS  CLICKS  UNIQUE CLICKS    CTR
spring       3      6             3       4              2  66.7%
TOTAL        3      6             3       4              2  66.7%

MESSAGE                           CAMPAIGN  RECIPIENT        SENT AT              SENT  OPENS  UNIQUE OPENS  CLICKS  UNIQUE CLICKS     CTR
{tid(6)}  spring    fay@example.com  2026-09-21 14:21:40     0      1             1       1              1       -
{tid(1)}  spring    ann@example.com  2026-09-21 14:31:40     1      3             1       3              1  100.0%
{tid(2)}  spring    bob@example.com  2026-09-21 14:33:20     1      2             1       0              0    0.0%
{tid(3)}  spring    cat@example.com  2026-09-21 14:35:00     1      0             0       0              0    0.0%
"""


def test_humans_only(scenario, mailtrail_config, binaries):
    result = stats(binaries, mailtrail_config(scenario), "--humans-only")
    assert "spring       3      5             3       4              2   66.7%" in result.stdout
    assert "TOTAL        6      8             5       6              4   66.7%" in result.stdout


def test_json_for_one_message_with_links(scenario, mailtrail_config, binaries):
    result = stats(binaries, mailtrail_config(scenario), "--message", "<m1@example.com>", "--links", "--json")
    metrics = {"sent": 1, "opens": 3, "unique_opens": 1, "clicks": 3, "unique_clicks": 1, "ctr": 1}
    assert json.loads(result.stdout) == {
        "since": T + 1000,
        "until": T + 2000,
        "campaigns": [{"campaign": "spring", **metrics}],
        "total": metrics,
        "messages": [{"tracking_id": tid(1), "campaign": "spring", "recipient": "ann@example.com",
                      "sent_at": T + 1100, **metrics}],
        "links": [
            {"campaign": "spring", "url": A, "sent": 1, "clicks": 2, "unique_clicks": 1, "ctr": 1},
            {"campaign": "spring", "url": B, "sent": 1, "clicks": 1, "unique_clicks": 1, "ctr": 1},
        ],
    }


def test_json_per_campaign(scenario, mailtrail_config, binaries):
    result = stats(binaries, mailtrail_config(scenario), "--json")
    document = json.loads(result.stdout)
    assert document == {
        "since": T + 1000,
        "until": T + 2000,
        "campaigns": [
            {"campaign": "autumn", "sent": 2, "opens": 1, "unique_opens": 1, "clicks": 2, "unique_clicks": 2, "ctr": 1},
            {"campaign": "spring", "sent": 3, "opens": 6, "unique_opens": 3, "clicks": 4, "unique_clicks": 2,
             "ctr": 0.6667},
            {"campaign": None, "sent": 1, "opens": 2, "unique_opens": 1, "clicks": 0, "unique_clicks": 0, "ctr": 0},
        ],
        "total": {"sent": 6, "opens": 9, "unique_opens": 5, "clicks": 6, "unique_clicks": 4, "ctr": 0.6667},
    }


def test_empty_redis_and_relative_window(redis_server, mailtrail_config, binaries):
    result = subprocess.run([str(binaries.mailtrail), "stats", "-c", str(mailtrail_config(redis_server)),
                             "--since", "7d", "--json"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["until"] - document["since"] == 7 * 86400
    assert document["campaigns"] == []
    assert document["total"] == {"sent": 0, "opens": 0, "unique_opens": 0, "clicks": 0, "unique_clicks": 0,
                                 "ctr": None}


def test_bad_window_and_redis_down(mailtrail_config, binaries):
    config = mailtrail_config(None)
    result = subprocess.run([str(binaries.mailtrail), "stats", "-c", str(config), "--since", "yesterday"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert '--since "yesterday": use a duration ago (24h, 7d)' in result.stderr
    result = subprocess.run([str(binaries.mailtrail), "stats", "-c", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 69  # EX_UNAVAILABLE
    assert "connection refused (is redis-server running?)" in result.stderr
