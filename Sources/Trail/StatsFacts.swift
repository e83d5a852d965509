import Store

/// What `mailtrail stats` knows of one message, from its `mt:msg:<id>` enrichment hash.
struct MessageFacts: Equatable, Sendable {
    var trackingID: String
    var campaign: String?
    /// nil when the hash has no `sent_at` (created by the tracker's counters alone).
    var sentAt: Int64?
    var recipient: String?
    var messageID: String?

    init(trackingID: String, campaign: String? = nil, sentAt: Int64? = nil, recipient: String? = nil, messageID: String? = nil) {
        self.trackingID = trackingID
        self.campaign = campaign
        self.sentAt = sentAt
        self.recipient = recipient
        self.messageID = messageID
    }

    /// The enrichment fields stats reads, in the order ``init(trackingID:values:)`` expects them.
    static let fields: [EnrichmentField] = [.campaign, .sentAt, .recipient, .messageID]

    /// From the values of `HMGET key campaign sent_at recipient message_id` (nil: absent).
    init(trackingID: String, values: [[UInt8]?]) {
        precondition(values.count == Self.fields.count)
        func text(_ index: Int) -> String? { values[index].map { String(decoding: $0, as: UTF8.self) } }
        self.init(trackingID: trackingID, campaign: text(0).flatMap { $0.isEmpty ? nil : $0 },
                  sentAt: text(1).flatMap { Int64($0) }, recipient: text(2), messageID: text(3))
    }
}

/// What `mailtrail stats` needs of one event, with the time its stream entry was added.
struct EventFacts: Equatable, Sendable {
    var trackingID: String
    var kind: TrackingEvent.Kind
    var url: String?
    var campaign: String?
    var isMachine: Bool
    /// The stream entry's time (unix milliseconds): windows select on it.
    var addedAt: UInt64

    init(trackingID: String, kind: TrackingEvent.Kind, url: String? = nil, campaign: String? = nil,
         isMachine: Bool = false, addedAt: UInt64) {
        self.trackingID = trackingID
        self.kind = kind
        self.url = url
        self.campaign = campaign
        self.isMachine = isMachine
        self.addedAt = addedAt
    }

    init(_ event: TrackingEvent, addedAt: UInt64) {
        self.init(trackingID: event.trackingID, kind: event.event, url: event.url, campaign: event.campaign,
                  isMachine: event.machine.isMachine, addedAt: addedAt)
    }
}
