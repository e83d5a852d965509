#!/usr/bin/env python3
"""Writes the decoded text/html parts of the corpus messages given as arguments into the
directory given first: seeds for FuzzHTMLRewrite (generated, not committed)."""
import email
import email.policy
import hashlib
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
for path in sys.argv[2:]:
    message = email.message_from_bytes(pathlib.Path(path).read_bytes(), policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_payload(decode=True) or b""
            (out / hashlib.sha1(html).hexdigest()).write_bytes(html)
