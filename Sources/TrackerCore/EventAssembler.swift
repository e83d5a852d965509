import Rewrite
import Store

/// Turns a pending hit into the published ``TrackingEvent``, joined with what the milter
/// recorded about the message (the `mt:msg:<id>` hash).
///
/// A hash that is absent, expired, or holds only the tracker's own counters (the milter's
/// write still spooled) gives an event without recipient, campaign, etc.; it is still recorded.
/// So does a hash the milter's fields are in but that cannot be read (``Message/unreadable``),
/// which the writer reports.
public enum EventAssembler {
    /// What every event of one message shares, decoded once per batch rather than per event.
    public struct Message: Sendable {
        /// The tracking id, 32 lowercase hex digits.
        public let trackingID: String
        /// The enrichment record; nil when the hash is absent or not a milter record.
        public let record: EnrichmentRecord?
        /// Why the hash holds fields besides the tracker's counters yet gives no record
        /// (a field missing or not in its format: written by hand, or by another program).
        public let unreadable: EnrichmentDecodingError?
        /// The lower-cased domain of the record's single recipient.
        public let recipientDomain: String?

        /// - Parameter enrichment: the `HGETALL` answer for the message, nil or empty when there is none.
        public init(trackingID: TrackingID, enrichment: [String: [UInt8]]?) {
            let hex = trackingID.hex
            self.trackingID = hex
            if let enrichment {
                do throws(EnrichmentDecodingError) {
                    record = try EnrichmentRecord(trackingID: hex, fields: enrichment)
                    unreadable = nil
                } catch {
                    record = nil
                    // The tracker's counters alone are no milter record, and not a fault.
                    unreadable = enrichment.keys.allSatisfy(Self.trackerFields.contains) ? nil : error
                }
            } else {
                record = nil
                unreadable = nil
            }
            recipientDomain = record?.singleRecipient.flatMap(TrackingEvent.domain(of:))
        }

        /// The fields the tracker itself writes, which alone make no milter record.
        static let trackerFields: Set<String> = Set([EnrichmentField.opens, .clicks, .firstOpenAt, .firstClickAt].map(\.rawValue))
    }

    /// The event for `pending`.
    ///
    /// - Parameters:
    ///   - enrichment: the `HGETALL` answer for the message, nil or empty when there is none.
    ///   - first: whether this is the first open (or click) recorded for the message.
    public static func event(for pending: PendingEvent, enrichment: [String: [UInt8]]?, first: Bool) -> TrackingEvent {
        event(for: pending, message: Message(trackingID: pending.hit.trackingID, enrichment: enrichment), first: first)
    }

    /// The event for `pending`, whose message is `message` (same tracking id).
    public static func event(for pending: PendingEvent, message: Message, first: Bool) -> TrackingEvent {
        let hit = pending.hit
        let record = message.record
        let isOpen = hit.kind == .open
        return TrackingEvent(
            id: pending.id,
            event: isOpen ? .opened : .clicked,
            timestamp: hit.timestamp,
            trackingID: message.trackingID,
            messageID: record?.messageID,
            recipient: record?.singleRecipient,
            recipientDomain: message.recipientDomain,
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
