"""Independent checker for messages rewritten by MailTrail (standard library only).

`compare(original, rewritten, tracking_base, decode_link)` parses both messages with the
standard `email` package (never with MailTrail's own code) and checks the rewriting rules of
DESIGN.md: the same MIME tree; everything that is not an inline text part identical; in HTML
every http(s) link wrapped on the tracking base and decoding back to its destination, every
other link and every other byte of the document unchanged, exactly one open pixel; in plain
text every http(s) URL wrapped; no line over 998 octets; every transfer encoding valid.

All problems are collected and raised together as one `MailCheckError`; on success a
`Summary` tells what was checked.

`decode_link(url) -> str` is provided by the caller (the tests run
`mailtrail link decode --json URL`); it returns the destination a click token carries and
raises when the token does not verify.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Callable, Iterable

MAX_LINE = 998          # RFC 5322 line limit, without CRLF
MAX_ENCODED_LINE = 76   # RFC 2045 limit for quoted-printable and base64 lines
LINK_TAGS = ("a", "area", "v:roundrect")    # tags whose href MailTrail wraps
OPT_OUT_ATTRIBUTES = ("data-mailtrail", "clicktracking")   # with the value "off"
HTML_SPACE = " \t\n\r\f"


class MailCheckError(AssertionError):
    """Every problem found in one comparison, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s):\n  - " + "\n  - ".join(problems))


@dataclass
class Summary:
    """What one comparison checked."""

    parts: int = 0
    html_parts: int = 0
    text_parts: int = 0
    links_checked: int = 0      # link tags (a, area, v:roundrect) compared in HTML parts
    links_wrapped: int = 0      # of which wrapped on the tracking base
    links_unchanged: int = 0    # of which left alone (non-http, opted out, already tracked)
    text_urls_wrapped: int = 0  # tracking URLs in text/plain parts
    pixels: int = 0
    tracking_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.parts} parts ({self.html_parts} html, {self.text_parts} text), "
                f"{self.links_checked} links checked ({self.links_wrapped} wrapped, "
                f"{self.links_unchanged} left alone), {self.text_urls_wrapped} text URLs wrapped, "
                f"{self.pixels} pixel(s)")


# ---------------------------------------------------------------------------------------------
# Bytes-level helpers


def to_crlf(data: bytes) -> bytes:
    """Every line ending as CRLF (bare LF and bare CR included)."""
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


def long_lines(data: bytes, limit: int = MAX_LINE) -> list[tuple[int, int]]:
    """(line number, length) of every line longer than `limit` octets, terminator excluded."""
    found = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > limit:
            found.append((number, len(line)))
    return found


def has_bare_lf(data: bytes) -> bool:
    return re.search(rb"(?<!\r)\n", data) is not None


def parse(data: bytes) -> email.message.Message:
    return email.message_from_bytes(data, policy=email.policy.compat32)


# ---------------------------------------------------------------------------------------------
# MIME tree


@dataclass
class Node:
    path: str                       # "" for the message itself, then "1", "1.2", "1.2.m" ...
    message: email.message.Message
    in_rfc822: bool

    @property
    def content_type(self) -> str:
        return self.message.get_content_type()

    @property
    def is_attachment(self) -> bool:
        return (self.message.get_content_disposition() or "") == "attachment"

    @property
    def rewritable(self) -> bool:
        """An inline text/html or text/plain leaf outside any message/rfc822."""
        return (not self.message.is_multipart()
                and self.content_type in ("text/html", "text/plain")
                and not self.is_attachment and not self.in_rfc822)

    @property
    def cte(self) -> str:
        value = self.message.get("Content-Transfer-Encoding")
        return str(value).strip().lower() if value is not None else ""


def tree(message: email.message.Message, path: str = "", in_rfc822: bool = False) -> list[Node]:
    """Every node of the MIME tree in document order, containers before their children."""
    nodes = [Node(path, message, in_rfc822)]
    if message.is_multipart():
        inner = in_rfc822 or message.get_content_type() == "message/rfc822"
        for index, child in enumerate(message.get_payload(), start=1):
            if message.get_content_type() == "message/rfc822":
                child_path = f"{path}.m" if path else "m"
            else:
                child_path = f"{path}.{index}" if path else str(index)
            nodes.extend(tree(child, child_path, inner))
    return nodes


def _label(node: Node) -> str:
    return f"part {node.path or '(message)'} {node.content_type}"


def _normalize_value(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _headers(message: email.message.Message) -> list[tuple[str, str]]:
    return [(name.lower(), _normalize_value(str(value))) for name, value in message.raw_items()]


def _raw_payload(message: email.message.Message) -> bytes:
    """The body of a leaf exactly as in the message. (get_payload() would decode 8-bit bytes
    with the part's charset; the parser keeps them as surrogate escapes in _payload.)"""
    payload = message._payload
    if isinstance(payload, str):
        return payload.encode("ascii", "surrogateescape")
    return b""


def _decoded_payload(message: email.message.Message) -> bytes:
    data = message.get_payload(decode=True)
    return data if data is not None else b""


def _text(message: email.message.Message, data: bytes) -> str:
    """Decoded text of a part: its charset, every undecodable byte kept (surrogateescape)."""
    charset = message.get_content_charset() or "utf-8"
    if charset in ("us-ascii", "ascii"):
        charset = "utf-8"
    try:
        return data.decode(charset, "surrogateescape")
    except LookupError:
        return data.decode("latin-1")


# ---------------------------------------------------------------------------------------------
# Transfer encodings

_QP_SAFE = re.compile(rb"^(?:[\x21-\x3c\x3e-\x7e\t ]|=[0-9A-Fa-f]{2})*=?$")
_B64_LINE = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")


def cte_problems(cte: str, raw: bytes) -> list[str]:
    """Why `raw` (a part's body as it stands in the message) is not valid for `cte`."""
    lines = raw.split(b"\r\n")
    problems = []
    if cte in ("", "7bit", "8bit"):
        if cte in ("", "7bit") and any(byte >= 128 for byte in raw):
            problems.append("8-bit bytes in a 7bit part")
        if b"\0" in raw:
            problems.append("NUL byte in a text part")
        over = [n for n, line in enumerate(lines, 1) if len(line) > MAX_LINE]
        if over:
            problems.append(f"{len(over)} line(s) over {MAX_LINE} octets (first: line {over[0]})")
    elif cte == "quoted-printable":
        for number, line in enumerate(lines, 1):
            if len(line) > MAX_ENCODED_LINE:
                problems.append(f"quoted-printable line {number} has {len(line)} octets")
                break
            if not _QP_SAFE.match(line):
                problems.append(f"quoted-printable line {number} has an invalid character or escape: {line[:80]!r}")
                break
            if line.endswith((b" ", b"\t")):
                problems.append(f"quoted-printable line {number} ends in unencoded white space")
                break
    elif cte == "base64":
        for number, line in enumerate(lines, 1):
            if len(line) > MAX_ENCODED_LINE:
                problems.append(f"base64 line {number} has {len(line)} octets")
                break
            if not _B64_LINE.match(line):
                problems.append(f"base64 line {number} has characters outside the alphabet: {line[:80]!r}")
                break
        compact = re.sub(rb"\s", b"", raw)
        if len(compact) % 4 != 0:
            problems.append(f"base64 data length {len(compact)} is not a multiple of 4")
        elif b"=" in compact.rstrip(b"="):
            problems.append("base64 padding in the middle of the data")
    return problems


# ---------------------------------------------------------------------------------------------
# HTML scanning


@dataclass
class Tag:
    name: str
    attrs: list[tuple[str, str | None]]
    raw: str            # the start tag exactly as written
    start: int          # offset of "<" in the document

    @property
    def end(self) -> int:
        return self.start + len(self.raw)

    def attr(self, name: str) -> str | None:
        for key, value in self.attrs:
            if key == name:
                return value
        return None

    def has_attr(self, name: str) -> bool:
        return any(key == name for key, _ in self.attrs)


class _TagScanner(HTMLParser):
    """Start tags with their exact source text and offset, conditional comments included."""

    def __init__(self, text: str, base: int = 0):
        super().__init__(convert_charrefs=True)
        self.text = text
        self.base = base
        self.tags: list[Tag] = []
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        raw = self.get_starttag_text() or ""
        start = self._offset()
        if self.text[start:start + len(raw)] != raw:
            raise RuntimeError(f"mailcheck: cannot locate tag {raw[:60]!r} at offset {start}")
        self.tags.append(Tag(tag, attrs, raw, self.base + start))

    def handle_comment(self, data):
        # Outlook conditional comments: <!--[if mso]> ... <![endif]-->; their tags count too.
        match = re.match(r"\s*\[if[^\]]*\]>", data, re.IGNORECASE)
        if not match:
            return
        inner_end = data.lower().rfind("<![endif]")
        inner = data[match.end():inner_end if inner_end >= match.end() else len(data)]
        start = self._offset() + 4 + match.end()      # after "<!--" and "[if ...]>"
        if self.text[start:start + len(inner)] != inner:
            raise RuntimeError(f"mailcheck: cannot locate conditional comment at offset {start}")
        self.tags.extend(scan_tags(inner, self.base + start))


def scan_tags(text: str, base: int = 0) -> list[Tag]:
    scanner = _TagScanner(text, base)
    scanner.feed(text)
    scanner.close()
    return scanner.tags


_ATTR = re.compile(r"""([^\s/>=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")


def attribute_spans(raw_tag: str) -> dict[str, tuple[int, int]]:
    """Lower-case attribute name -> (start, end) of its value as written, quotes included."""
    spans: dict[str, tuple[int, int]] = {}
    match = re.match(r"<[^\s/>]+", raw_tag)
    pos = match.end() if match else 1
    while pos < len(raw_tag):
        if raw_tag[pos] in HTML_SPACE + "/>":
            pos += 1
            continue
        attr = _ATTR.match(raw_tag, pos)
        if not attr or attr.end() == pos:
            break
        if attr.group(2) is not None:
            spans.setdefault(attr.group(1).lower(), attr.span(2))
        pos = attr.end()
    return spans


def _is_opted_out(tag: Tag) -> bool:
    return any((tag.attr(name) or "").strip().lower() == "off" for name in OPT_OUT_ATTRIBUTES)


def _is_http(url: str) -> bool:
    return re.match(r"(?i)https?://", url.strip(HTML_SPACE)) is not None


def _on_base(url: str, base: str) -> bool:
    return url.strip(HTML_SPACE).lower().startswith(base.lower())


def _first_difference(a: str, b: str) -> str:
    index = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (f"first difference at offset {index}: expected {a[max(0, index - 30):index + 50]!r}, "
            f"got {b[max(0, index - 30):index + 50]!r}")


# ---------------------------------------------------------------------------------------------
# Part checks


class _Checker:
    def __init__(self, base: str, decode_link: Callable[[str], str], clicks: bool, opens: bool,
                 text_links: bool):
        self.base = base
        self.click_prefix = base + "c/"
        self.pixel_prefix = base + "o/"
        self.decode_link = decode_link
        self.clicks = clicks
        self.opens = opens
        self.text_links = text_links
        self.problems: list[str] = []
        self.summary = Summary()

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def decode(self, where: str, url: str) -> str | None:
        try:
            return self.decode_link(url)
        except Exception as error:  # the caller's decoder says why the token is bad
            self.problem(where, f"tracking URL {url} does not decode: {error}")
            return None

    # -- HTML ------------------------------------------------------------------------------

    def check_html(self, where: str, original: str, rewritten: str) -> None:
        self.summary.html_parts += 1
        old_tags = scan_tags(original)
        new_tags = scan_tags(rewritten)
        edits: list[tuple[int, int, str]] = []

        if any(t.name == "img" and _on_base(t.attr("src") or "", self.pixel_prefix) for t in old_tags):
            self.problem(where, "the original already has a pixel on the tracking base")
        pixels = [t for t in new_tags
                  if t.name == "img" and _on_base(t.attr("src") or "", self.pixel_prefix)]
        self.summary.pixels += len(pixels)
        wanted = 1 if self.opens else 0
        if len(pixels) != wanted:
            self.problem(where, f"{len(pixels)} pixel(s), expected {wanted}")
        for pixel in pixels:
            edits.append((pixel.start, pixel.end, ""))
        if len(pixels) == 1 and self.opens:
            self.check_pixel(where, pixels[0], rewritten)

        old_links = [t for t in old_tags if t.name in LINK_TAGS]
        new_links = [t for t in new_tags if t.name in LINK_TAGS]
        if [t.name for t in old_links] != [t.name for t in new_links]:
            self.problem(where, f"link tags differ: {len(old_links)} in the original, "
                                f"{len(new_links)} after rewriting")
            return
        for index, (old, new) in enumerate(zip(old_links, new_links)):
            self.summary.links_checked += 1
            self.check_link(f"{where} link {index}", old, new)
            edits.append((new.start, new.end, old.raw))

        # With every link tag put back and the pixel taken out, the document must be the original.
        rebuilt, position = [], 0
        for start, end, text in sorted(edits):
            if start < position:
                self.problem(where, f"overlapping tags at offset {start}")
                return
            rebuilt.append(rewritten[position:start])
            rebuilt.append(text)
            position = end
        rebuilt.append(rewritten[position:])
        if "".join(rebuilt) != original:
            self.problem(where, "the HTML changed outside the wrapped links and the pixel; "
                                + _first_difference(original, "".join(rebuilt)))

    def check_pixel(self, where: str, pixel: Tag, document: str) -> None:
        for name, expected in (("width", "1"), ("height", "1"), ("alt", "")):
            value = pixel.attr(name)
            if value is None or value.strip() != expected:
                self.problem(where, f"pixel {name}={value!r}, expected {expected!r}: {pixel.raw}")
        closes = [m.start() for m in re.finditer(r"(?i)</body\s*>", document)]
        if closes and pixel.end <= closes[-1]:
            gap = document[pixel.end:closes[-1]]
        elif closes:
            gap = "after the last </body>"
        else:
            gap = document[pixel.end:]
        if gap.strip(HTML_SPACE):
            self.problem(where, f"pixel not right before the last </body> (or at the end): "
                                f"followed by {gap[:60]!r}")

    def check_link(self, where: str, old: Tag, new: Tag) -> None:
        href = old.attr("href")
        if href is None:
            if new.raw != old.raw:
                self.problem(where, f"tag without href changed: {old.raw!r} -> {new.raw!r}")
            self.summary.links_unchanged += 1
            return
        if _is_opted_out(old):
            self.summary.links_unchanged += 1
            kept = [(k, v) for k, v in old.attrs if k not in OPT_OUT_ATTRIBUTES]
            if new.attrs != kept:
                self.problem(where, f"opted-out link: expected attributes {kept}, got {new.attrs}")
            return
        if not (self.clicks and _is_http(href) and not _on_base(href, self.base)):
            self.summary.links_unchanged += 1
            if new.raw != old.raw:
                self.problem(where, f"link that must stay as it is changed: {old.raw!r} -> {new.raw!r}")
            return

        new_href = new.attr("href") or ""
        if not new_href.startswith(self.click_prefix):
            self.problem(where, f"not wrapped: {href!r} (now {new_href!r})")
            return
        self.summary.links_wrapped += 1
        destination = self.decode(where, new_href)
        if destination is not None and destination != href.strip(HTML_SPACE):
            self.problem(where, f"decodes to {destination!r}, expected {href.strip(HTML_SPACE)!r}")
        # Only the href value changed: same attributes around it, same quoting.
        old_span = attribute_spans(old.raw).get("href")
        new_span = attribute_spans(new.raw).get("href")
        if old_span is None or new_span is None:
            self.problem(where, f"cannot find the href value in {old.raw!r} / {new.raw!r}")
            return
        if (old.raw[:old_span[0]] != new.raw[:new_span[0]]
                or old.raw[old_span[1]:] != new.raw[new_span[1]:]):
            self.problem(where, f"tag changed beyond its href: {old.raw!r} -> {new.raw!r}")
        old_value = old.raw[old_span[0]:old_span[1]]
        new_value = new.raw[new_span[0]:new_span[1]]
        old_quote = old_value[:1] if old_value[:1] in "\"'" else ""
        new_quote = new_value[:1] if new_value[:1] in "\"'" else ""
        if old_quote != new_quote:
            self.problem(where, f"href re-quoted: {old_value!r} -> {new_value!r}")

    # -- plain text ------------------------------------------------------------------------

    def check_text(self, where: str, original: str, rewritten: str) -> None:
        self.summary.text_parts += 1
        token = re.compile(re.escape(self.click_prefix) + r"[A-Za-z0-9_-]+")
        rebuilt, position, wrapped = [], 0, 0
        for match in token.finditer(rewritten):
            destination = self.decode(where, match.group(0))
            rebuilt.append(rewritten[position:match.start()])
            rebuilt.append(destination if destination is not None else match.group(0))
            position = match.end()
            wrapped += 1
        rebuilt.append(rewritten[position:])
        self.summary.text_urls_wrapped += wrapped
        if "".join(rebuilt) != original:
            self.problem(where, "the text changed beyond the wrapped URLs; "
                                + _first_difference(original, "".join(rebuilt)))
        if self.clicks and self.text_links:
            rest = token.sub("", rewritten)
            left = [m.group(0) for m in re.finditer(r"(?i)\bhttps?://[^\s<>()\"']+", rest)
                    if not _on_base(m.group(0), self.base)]
            if left:
                self.problem(where, f"{len(left)} URL(s) not wrapped, first: {left[0]!r}")
        elif wrapped:
            self.problem(where, f"{wrapped} URL(s) wrapped though text links are off")


# ---------------------------------------------------------------------------------------------
# Entry point


def compare(original: bytes, rewritten: bytes, tracking_base: str,
            decode_link: Callable[[str], str], *, clicks: bool = True, opens: bool = True,
            text_links: bool = True, tracking_id: str | None = None,
            added_headers: Iterable[str] = ("x-mailtrail-id", "received")) -> Summary:
    """Checks that `rewritten` is `original` as MailTrail must rewrite it; raises MailCheckError.

    `tracking_base` is the configured base URL (a trailing "/" is added when missing); clicks
    are `{base}c/<token>`, the pixel `{base}o/<token>.gif`. `clicks`, `opens` and
    `text_links` say what the rewrite was asked to do (X-MailTrail-Track, configuration).
    `tracking_id`, when given, must be the X-MailTrail-ID value. `added_headers` may appear in
    the rewritten top-level header in addition to the original ones (Postfix adds Received).
    Line endings: both inputs are compared as CRLF; a rewritten message with bare LF when
    the original has none is a problem.
    """
    base = tracking_base if tracking_base.endswith("/") else tracking_base + "/"
    check = _Checker(base, decode_link, clicks, opens, text_links)
    summary = check.summary

    for number, length in long_lines(rewritten)[:3]:
        check.problem("message", f"line {number} has {length} octets (limit {MAX_LINE})")
    if not has_bare_lf(original) and has_bare_lf(rewritten):
        check.problem("message", "bare LF line endings in the rewritten message")

    old_nodes = tree(parse(to_crlf(original)))
    new_nodes = tree(parse(to_crlf(rewritten)))
    old_shape = [(n.path, n.content_type) for n in old_nodes]
    new_shape = [(n.path, n.content_type) for n in new_nodes]
    if old_shape != new_shape:
        check.problem("message", f"MIME tree differs: {old_shape} -> {new_shape}")
        raise MailCheckError(check.problems)
    summary.parts = len(new_nodes)

    ids = new_nodes[0].message.get_all("X-MailTrail-ID") or []
    if len(ids) > 1:
        check.problem("message", f"{len(ids)} X-MailTrail-ID headers")
    if ids:
        summary.tracking_id = str(ids[0]).strip()
        if not re.fullmatch(r"[0-9a-f]{32}", summary.tracking_id):
            check.problem("message", f"X-MailTrail-ID {summary.tracking_id!r} is not 32 hex digits")
    if tracking_id is not None and summary.tracking_id != tracking_id:
        check.problem("message", f"X-MailTrail-ID {summary.tracking_id!r}, expected {tracking_id!r}")

    for old, new in zip(old_nodes, new_nodes):
        where = _label(new)
        _check_headers(check, where, old, new, set(h.lower() for h in added_headers))
        if new.message.is_multipart():
            for name in ("preamble", "epilogue"):
                a, b = getattr(old.message, name), getattr(new.message, name)
                if _normalize_value(a or "") != _normalize_value(b or ""):
                    check.problem(where, f"{name} changed")
            continue
        raw_old, raw_new = _raw_payload(old.message), _raw_payload(new.message)
        for problem in cte_problems(new.cte, raw_new):
            if problem not in cte_problems(old.cte, raw_old):
                check.problem(where, f"Content-Transfer-Encoding {new.cte or '(none)'}: {problem}")
        if not new.rewritable:
            if raw_old != raw_new or new.cte != old.cte:
                check.problem(where, "changed, but only inline text parts may change")
            if _decoded_payload(old.message) != _decoded_payload(new.message):
                check.problem(where, "decoded content changed")
            continue
        text_old = _text(old.message, _decoded_payload(old.message))
        text_new = _text(new.message, _decoded_payload(new.message))
        if new.content_type == "text/html":
            check.check_html(where, text_old, text_new)
        elif text_links:
            check.check_text(where, text_old, text_new)
        elif text_old != text_new:
            check.problem(where, "text/plain changed though text links are off")

    if check.problems:
        raise MailCheckError(check.problems)
    return summary


def _check_headers(check: _Checker, where: str, old: Node, new: Node, added: set[str]) -> None:
    """Headers are never re-serialized: the same (name, value) pairs in the same order. The
    one allowed change inside a part is its Content-Transfer-Encoding going from
    7bit/8bit/none to quoted-printable; the message header may also gain `added` headers and
    loses X-MailTrail-Track."""
    old_headers = _headers(old.message)
    new_headers = _headers(new.message)
    cte_changed = (new.rewritable and old.cte in ("", "7bit", "8bit")
                   and new.cte == "quoted-printable")
    if cte_changed:
        old_value = next((v for k, v in old_headers if k == "content-transfer-encoding"), None)
        if old_value is None:
            new_headers = [(k, v) for k, v in new_headers if k != "content-transfer-encoding"]
        else:
            new_headers = [(k, old_value if k == "content-transfer-encoding" else v)
                           for k, v in new_headers]
    if old.path:
        if old_headers != new_headers:
            check.problem(where, f"part headers changed: {old_headers} -> {new_headers}")
        return
    old_headers = [(k, v) for k, v in old_headers if k != "x-mailtrail-track"]
    remaining = iter(new_headers)
    for header in old_headers:
        for candidate in remaining:
            if candidate == header:
                break
            if candidate[0] not in added:
                check.problem(where, f"unexpected or changed header {candidate[0]}: {candidate[1][:80]!r}")
        else:
            check.problem(where, f"header missing or changed: {header[0]}: {header[1][:80]!r}")
            return
    for name, value in remaining:
        if name not in added:
            check.problem(where, f"unexpected header {name}: {value[:80]!r}")
    if any(k == "x-mailtrail-track" for k, _ in new_headers):
        check.problem(where, "X-MailTrail-Track was not removed")
