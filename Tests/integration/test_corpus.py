"""`mailtrail rewrite` on every corpus message, checked by the independent mailcheck.compare:
links wrapped and decoding (`mailtrail link decode --json`) to their destinations, one pixel,
everything else unchanged, valid encodings. Rewriting is deterministic and idempotent."""

from __future__ import annotations

import hashlib

import pytest

import mailcheck
from harness import CORPUS

CORPUS_FILES = sorted(CORPUS.glob("*.eml"))
ISSUED_AT = 1795000000      # fixed issue time of the links (rewrite --issued-at)


def tracking_id_for(name: str) -> str:
    """A fixed 32-hex tracking ID per corpus file."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def test_corpus_is_present():
    assert len(CORPUS_FILES) == 35


@pytest.mark.needs_mailtrail
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_rewrite_corpus_message(path, mailtrail_cli, tracking_base):
    original = path.read_bytes()
    tracking_id = tracking_id_for(path.name)

    def decode_link(url: str) -> str:
        fields = mailtrail_cli.decode(url)
        assert fields["valid"] is True, f"{url}: {fields}"
        for key in ("tracking_id", "tracking-id"):
            if key in fields:
                assert fields[key] == tracking_id, f"{url}: {fields}"
        return fields["url"]

    rewritten = mailtrail_cli.rewrite(original, tracking_id, ISSUED_AT)
    summary = mailcheck.compare(original, rewritten, tracking_base, decode_link)
    print(f"{path.name}: {summary}")
    assert summary.links_wrapped > 0
    assert summary.tracking_id in (None, tracking_id)

    # Same input, tracking ID and issue time: the same output, byte for byte.
    assert mailtrail_cli.rewrite(original, tracking_id, ISSUED_AT) == rewritten, \
        f"{path.name}: two rewrites of the same message differ"

    # A message that already carries X-MailTrail-ID is never touched (re-injection).
    if summary.tracking_id is not None:
        assert mailtrail_cli.rewrite(rewritten, tracking_id, ISSUED_AT) == rewritten
