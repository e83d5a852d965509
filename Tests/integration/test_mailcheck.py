"""mailcheck.compare on a hand-made pair: an original and a hand-rewritten version that follows
every rule (it passes), and deliberately broken rewrites (each fails, for the right reason)."""

from __future__ import annotations

import base64
import quopri

import pytest

import mailcheck
from mailcheck import MailCheckError, compare, cte_problems

BASE = "https://t.example.test/"
TID = "0123456789abcdef0123456789abcdef"
PDF = base64.b64decode(
    "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8"
    "PC9Sb290IDEgMCBSPj4KJSVFT0YK")

# Hand-made tokens and what they decode to (stands in for `mailtrail link decode`).
LINKS = {
    BASE + "c/T1": "https://example.com/news?a=1&b=2",
    BASE + "c/T2": "https://example.com/news?a=1&b=2",
    BASE + "c/H1": "https://example.com/news?a=1&b=2",
    BASE + "c/H2": "http://example.org/x",
    BASE + "c/H3": "https://example.com/cta",
}


def decode_link(url: str) -> str:
    if url not in LINKS:
        raise ValueError(f"bad signature: {url}")
    return LINKS[url]


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


ORIGINAL = crlf("""\
From: Sender <sender@example.com>
To: rcpt@example.net
Subject: Hand-made pair
Message-ID: <hand.1@example.com>
X-MailTrail-Track: all
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="MIX"

This is a multi-part message.
--MIX
Content-Type: multipart/alternative;
 boundary="ALT"

--ALT
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

Hello,
read https://example.com/news?a=1&b=2 today (https://example.com/news?a=1&b=2).
Write to mailto:help@example.com.
--ALT
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body>
<p><a href=3D"https://example.com/news?a=3D1&amp;b=3D2">News</a>
<a href=3D'mailto:help@example.com'>Mail</a> <a href=3D"#top">Top</a>
<A class=3Dx HREF=3Dhttp://example.org/x>X</A>
<a data-mailtrail=3D"off" href=3D"https://example.com/private">P</a></p>
<link rel=3Dstylesheet href=3D"https://example.com/style.css">
<!--[if mso]><v:roundrect href=3D"https://example.com/cta" style=3D"w">
</v:roundrect><![endif]-->
</body></html>
--ALT--
--MIX
Content-Type: application/pdf; name="a.pdf"
Content-Disposition: attachment; filename="a.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8
PC9Sb290IDEgMCBSPj4KJSVFT0YK
--MIX
Content-Type: message/rfc822

From: a@example.com
Subject: forwarded
Content-Type: text/html; charset=utf-8

<a href="https://inner.example.com/">inner</a>
--MIX--
epilogue
""")

REWRITTEN = crlf("""\
X-MailTrail-ID: 0123456789abcdef0123456789abcdef
From: Sender <sender@example.com>
To: rcpt@example.net
Subject: Hand-made pair
Message-ID: <hand.1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="MIX"

This is a multi-part message.
--MIX
Content-Type: multipart/alternative;
 boundary="ALT"

--ALT
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

Hello,
read https://t.example.test/c/T1 today (https://t.example.test/c/T2).
Write to mailto:help@example.com.
--ALT
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body>
<p><a href=3D"https://t.example.test/c/H1">News</a>
<a href=3D'mailto:help@example.com'>Mail</a> <a href=3D"#top">Top</a>
<A class=3Dx HREF=3Dhttps://t.example.test/c/H2>X</A>
<a href=3D"https://example.com/private">P</a></p>
<link rel=3Dstylesheet href=3D"https://example.com/style.css">
<!--[if mso]><v:roundrect href=3D"https://t.example.test/c/H3" style=3D=
"w">
</v:roundrect><![endif]-->
<img src=3D"https://t.example.test/o/P1.gif" width=3D"1" height=3D"1" =
alt=3D"" border=3D"0" style=3D"display:block"></body></html>
--ALT--
--MIX
Content-Type: application/pdf; name="a.pdf"
Content-Disposition: attachment; filename="a.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8
PC9Sb290IDEgMCBSPj4KJSVFT0YK
--MIX
Content-Type: message/rfc822

From: a@example.com
Subject: forwarded
Content-Type: text/html; charset=utf-8

<a href="https://inner.example.com/">inner</a>
--MIX--
epilogue
""")


def problems_of(rewritten: bytes, **options) -> str:
    with pytest.raises(MailCheckError) as error:
        compare(ORIGINAL, rewritten, BASE, decode_link, **options)
    return "\n".join(error.value.problems)


def broken(old: str, new: str, count: int = 1) -> bytes:
    assert REWRITTEN.count(old.encode()) == count, old
    return REWRITTEN.replace(old.encode(), new.encode())


def test_hand_rewritten_pair_passes():
    summary = compare(ORIGINAL, REWRITTEN, BASE, decode_link, tracking_id=TID)
    assert summary.parts == 7
    assert (summary.html_parts, summary.text_parts) == (1, 1)
    # a News, a mailto, a #top, A X, a opted out, v:roundrect: 3 wrapped, 3 left alone.
    assert (summary.links_checked, summary.links_wrapped, summary.links_unchanged) == (6, 3, 3)
    assert summary.text_urls_wrapped == 2
    assert summary.pixels == 1
    assert summary.tracking_id == TID
    assert str(summary) == ("7 parts (1 html, 1 text), 6 links checked (3 wrapped, 3 left alone), "
                            "2 text URLs wrapped, 1 pixel(s)")


def test_line_endings_of_a_capture_do_not_matter():
    lf = REWRITTEN.replace(b"\r\n", b"\n")
    assert compare(ORIGINAL.replace(b"\r\n", b"\n"), lf, BASE, decode_link).pixels == 1
    assert compare(ORIGINAL, lf.replace(b"\n", b"\r\n"), BASE, decode_link).pixels == 1
    assert problems_of(lf) == "message: bare LF line endings in the rewritten message"


def test_changed_attachment_byte_fails():
    text = problems_of(broken("PC9Sb290IDEgMCBSPj4KJSVFT0YK", "PC9Sb290IDEgMCBSPj4KJSVFT0ZK"))
    assert "part 2 application/pdf: changed, but only inline text parts may change" in text
    assert "part 2 application/pdf: decoded content changed" in text


def test_changed_forwarded_message_fails():
    text = problems_of(broken('<a href="https://inner.example.com/">',
                              '<a href="https://t.example.test/c/H1">'))
    assert "part 3.m text/html: changed, but only inline text parts may change" in text


def test_unwrapped_html_link_fails():
    text = problems_of(broken("HREF=3Dhttps://t.example.test/c/H2>", "HREF=3Dhttp://example.org/x>"))
    assert "part 1.2 text/html link 3: not wrapped: 'http://example.org/x'" in text


def test_unwrapped_link_in_conditional_comment_fails():
    text = problems_of(broken('roundrect href=3D"https://t.example.test/c/H3"',
                              'roundrect href=3D"https://example.com/cta"'))
    assert "link 5: not wrapped: 'https://example.com/cta'" in text


def test_link_decoding_elsewhere_fails():
    text = problems_of(broken('<a href=3D"https://t.example.test/c/H1">',
                              '<a href=3D"https://t.example.test/c/H3">'))
    assert ("link 0: decodes to 'https://example.com/cta', "
            "expected 'https://example.com/news?a=1&b=2'") in text


def test_unverifiable_token_fails():
    text = problems_of(broken("c/H1", "c/XX"))
    assert "does not decode: bad signature" in text


def test_wrapped_mailto_fails():
    text = problems_of(broken("href=3D'mailto:help@example.com'", "href=3D'https://t.example.test/c/H1'"))
    assert "link 1: link that must stay as it is changed" in text


def test_requoted_href_fails():
    text = problems_of(broken("HREF=3Dhttps://t.example.test/c/H2>", 'HREF=3D"https://t.example.test/c/H2">'))
    assert "link 3: href re-quoted: 'http://example.org/x' -> '\"https://t.example.test/c/H2\"'" in text


def test_opt_out_attribute_kept_fails():
    text = problems_of(broken('<a href=3D"https://example.com/private">',
                              '<a data-mailtrail=3D"off" href=3D"https://example.com/private">'))
    assert "opted-out link: expected attributes" in text


def test_two_pixels_fail():
    text = problems_of(broken('<img src=3D"https://t.example.test/o/P1.gif"',
                              '<img src=3D"https://t.example.test/o/P0.gif"><img src=3D"https://t.example.test/o/P1.gif"'))
    assert "part 1.2 text/html: 2 pixel(s), expected 1" in text


def test_missing_pixel_fails():
    text = problems_of(broken('<img src=3D"https://t.example.test/o/P1.gif" width=3D"1" height=3D"1" =\r\n'
                              'alt=3D"" border=3D"0" style=3D"display:block">', ""))
    assert "0 pixel(s), expected 1" in text


def test_pixel_not_before_body_end_fails():
    moved = broken('<img src=3D"https://t.example.test/o/P1.gif" width=3D"1" height=3D"1" =\r\n'
                   'alt=3D"" border=3D"0" style=3D"display:block"></body></html>',
                   '</body></html><img src=3D"https://t.example.test/o/P1.gif" width=3D"1" height=3D=\r\n'
                   '"1" alt=3D"" border=3D"0" style=3D"display:block">')
    assert "pixel not right before the last </body>" in problems_of(moved)


def test_html_changed_elsewhere_fails():
    text = problems_of(broken("<html><body>", "<html><BODY>"))
    assert "the HTML changed outside the wrapped links and the pixel" in text


def test_overlong_line_fails():
    long_line = "x" * 1000
    text = problems_of(broken("Hello,\r\n", f"Hello,\r\n{long_line}\r\n"))
    assert "message: line 19 has 1000 octets (limit 998)" in text
    assert "Content-Transfer-Encoding 7bit: 1 line(s) over 998 octets" in text


def test_overlong_quoted_printable_line_fails():
    text = problems_of(broken('height=3D"1" =\r\nalt', 'height=3D"1" alt'))
    assert "part 1.2 text/html: Content-Transfer-Encoding quoted-printable: quoted-printable line 10 has 130 octets" in text


def test_unwrapped_text_url_fails():
    text = problems_of(broken("(https://t.example.test/c/T2)", "(https://example.com/news?a=1&b=2)"))
    assert "part 1.1 text/plain: 1 URL(s) not wrapped, first: 'https://example.com/news?a=1&b=2'" in text


def test_text_changed_beyond_urls_fails():
    text = problems_of(broken("Hello,", "Hello!"))
    assert "part 1.1 text/plain: the text changed beyond the wrapped URLs" in text


def test_changed_part_header_fails():
    text = problems_of(broken('Content-Disposition: attachment; filename="a.pdf"',
                              'Content-Disposition: attachment;\r\n filename="a.pdf"'))
    assert "part 2 application/pdf: part headers changed" in text


def test_changed_or_missing_message_header_fails():
    text = problems_of(broken("Subject: Hand-made pair", "Subject: Hand-made  pair"))
    assert "header missing or changed: subject" in text


def test_kept_track_header_fails():
    text = problems_of(broken("Message-ID: <hand.1@example.com>\r\n",
                              "Message-ID: <hand.1@example.com>\r\nX-MailTrail-Track: all\r\n"))
    assert "X-MailTrail-Track was not removed" in text


def test_wrong_tracking_id_fails():
    text = problems_of(REWRITTEN, tracking_id="f" * 32)
    assert f"X-MailTrail-ID '{TID}', expected '{'f' * 32}'" in text


def test_changed_mime_tree_fails():
    text = problems_of(broken("Content-Type: application/pdf;", "Content-Type: application/octet-stream;"))
    assert "MIME tree differs" in text


def test_seven_bit_part_reencoded_as_quoted_printable_passes():
    # A 7bit part whose rewritten line would pass 998 octets is re-encoded as quoted-printable;
    # only its Content-Transfer-Encoding header changes.
    destination = "https://example.com/" + "p" * 990
    original = crlf(f'Subject: s\nMIME-Version: 1.0\nContent-Type: text/html\n\n'
                    f'<a href="{destination}">x</a></body>\n')
    assert "1 line(s) over 998 octets" in " ".join(cte_problems("7bit", b"x" * 999))
    token = BASE + "c/LONG"
    html = (f'<a href="{token}">x</a><img src="{BASE}o/P.gif" width="1" height="1" alt="">'
            f'</body>\n').encode()
    rewritten = (crlf("Subject: s\nMIME-Version: 1.0\nContent-Type: text/html\n"
                      "Content-Transfer-Encoding: quoted-printable\n\n")
                 + quopri.encodestring(html).replace(b"\n", b"\r\n"))
    summary = compare(original, rewritten, BASE, {token: destination}.__getitem__)
    assert (summary.links_wrapped, summary.pixels) == (1, 1)
    other_header = rewritten.replace(b"Subject: s", b"Subject: t")
    assert "header missing or changed: subject" in "\n".join(
        pytest.raises(MailCheckError, compare, original, other_header, BASE,
                      {token: destination}.__getitem__).value.problems)


@pytest.mark.parametrize("cte, raw, expected", [
    ("7bit", b"caf\xc3\xa9", "8-bit bytes in a 7bit part"),
    ("8bit", b"caf\xc3\xa9\r\nx", None),
    ("quoted-printable", b"a=3Db=\r\nc", None),
    ("quoted-printable", b"a=3db", None),
    ("quoted-printable", b"a=G1", "invalid character or escape"),
    ("quoted-printable", b"a \r\nb", "ends in unencoded white space"),
    ("quoted-printable", b"caf\xc3\xa9", "invalid character or escape"),
    ("base64", b"YWJj\r\nZA==", None),
    ("base64", b"YWJ*", "outside the alphabet"),
    ("base64", b"YWJjZ", "not a multiple of 4"),
    ("base64", b"YQ==YWJj", "padding in the middle"),
    ("base64", b"A" * 77, "base64 line 1 has 77 octets"),
])
def test_transfer_encoding_rules(cte, raw, expected):
    problems = cte_problems(cte, raw)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


def test_html_scanner_finds_tags_in_conditional_comments_at_their_offsets():
    text = ('<p><!--[if mso]><v:roundrect HREF="https://a.example/">x</v:roundrect><![endif]-->'
            '<a\nhref=b>y</a><!-- plain comment <a href="c"> --></p>')
    tags = mailcheck.scan_tags(text)
    names = [(t.name, t.attr("href")) for t in tags]
    assert names == [("p", None), ("v:roundrect", "https://a.example/"), ("a", "b")]
    for tag in tags:
        assert text[tag.start:tag.end] == tag.raw
    assert mailcheck.attribute_spans('<a class="x" href = \'u\' data-x=y>') == {
        "class": (9, 12), "href": (20, 23), "data-x": (31, 32)}
