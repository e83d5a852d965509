"""Events and enrichment records written the way the tracker and the milter write them, so that
`mailtrail feed`, `events tail` and `stats` can be tested against exactly known data.

Shapes: TrackingEvent (Sources/Store/TrackingEvent.swift): compact JSON with sorted keys, kebab-case,
nil fields left out, on `mt:events` as fields `id` and `json`. EnrichmentRecord
(Sources/Store/EnrichmentRecord.swift): hash `mt:msg:<tracking id>`."""

from __future__ import annotations

import json


def event(event_id: str, kind: str, tracking_id: str, timestamp: float, *, recipient: str | None = None,
          url: str | None = None, link_index: int | None = None, campaign: str | None = None,
          ip: str = "192.0.2.10", user_agent: str = "Mozilla/5.0", machine: str | None = None,
          first: bool = False, client: tuple[str, str, str, str] = ("Thunderbird", "email client", "Linux", "desktop"),
          tags: list[str] | None = None) -> dict:
    """One TrackingEvent as a dict (`kind`: opened or clicked; `machine`: a reason makes it a machine)."""
    doc = {
        "id": event_id,
        "event": kind,
        "timestamp": timestamp,
        "tracking-id": tracking_id,
        "ip": ip,
        "user-agent": user_agent,
        "client-info": {"client-name": client[0], "client-type": client[1], "client-os": client[2],
                        "device-type": client[3]},
        "machine": {"is-machine": machine is not None, **({"reason": machine} if machine else {})},
        "first": first,
        "tags": tags or [],
    }
    if recipient is not None:
        doc["recipient"] = recipient
        doc["recipient-domain"] = recipient.rsplit("@", 1)[1].lower()
    if url is not None:
        doc["url"] = url
    if link_index is not None:
        doc["link-index"] = link_index
    if campaign is not None:
        doc["campaign"] = campaign
    return doc


def event_json(doc: dict) -> bytes:
    """TrackingEvent.jsonBytes(): sorted keys, no spaces, slashes unescaped."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def xadd_event(doc: dict, stream_id: str = "*", stream: str = "mt:events") -> tuple:
    """The tracker's XADD (TrackingEvent.xaddCommand) with an explicit entry id when given."""
    return ("XADD", stream, stream_id, "id", doc["id"], "json", event_json(doc))


def enrichment(tracking_id: str, *, sent_at: int, recipients: list[str], campaign: str | None = None,
               sender: str = "news@example.com", message_id: str | None = None, links: int = 2) -> tuple:
    """The milter's HSET of EnrichmentRecord.commands (without the EXPIRE)."""
    args = ["HSET", f"mt:msg:{tracking_id}", "sender", sender]
    if len(recipients) == 1:
        args += ["recipient", recipients[0]]
    args += ["recipients", json.dumps(recipients), "rcpt_count", str(len(recipients))]
    if message_id is not None:
        args += ["message_id", message_id]
    if campaign is not None:
        args += ["campaign", campaign]
    args += ["sent_at", str(sent_at), "links", str(links)]
    return tuple(args)
