import Store

/// Turns a pending hit into the published ``TrackingEvent``, joined with what the milter
/// recorded about the message (the `mt:msg:<id>` hash).
///
/// A hash that is absent, expired, or holds only the tracker's own counters (the milter's
/// write still spooled) gives an event without recipient, campaign, etc.; it is still recorded.
public enum EventAssembler {
    /// The event for `pending`.
    ///
    /// - Parameters:
    ///   - enrichment: the `HGETALL` answer for the message, nil or empty when there is none.
    ///   - first: whether this is the first open (or click) recorded for the message.
    public static func event(for pending: PendingEvent, enrichment: [String: [UInt8]]?, first: Bool) -> TrackingEvent {
        let hit = pending.hit
        let trackingID = hit.trackingID.hex
        let record = enrichment.flatMap { try? EnrichmentRecord(trackingID: trackingID, fields: $0) }
        let isOpen = hit.kind == .open
        let recipient = record?.singleRecipient
        return TrackingEvent(
            id: pending.id,
            event: isOpen ? .opened : .clicked,
            timestamp: hit.timestamp,
            trackingID: trackingID,
            messageID: record?.messageID,
            recipient: recipient,
            recipientDomain: recipient.flatMap(TrackingEvent.domain(of:)),
            url: isOpen ? nil : String(decoding: hit.destination, as: UTF8.self),
            linkIndex: isOpen ? nil : Int(hit.linkIndex),
            ip: hit.ip,
            userAgent: hit.userAgent,
            first: first,
            campaign: record?.campaign,
            tags: record?.tags ?? [],
            queueID: record?.queueID,
            sentAt: record?.sentAt)
    }
}
