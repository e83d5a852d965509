import Rewrite

/// One verified open or click, as the request handler hands it to the event pipeline:
/// only what the request itself tells. The writer later gives it an event id, joins the
/// message's enrichment record and decides whether it was the first.
public struct TrackedHit: Equatable, Sendable {
    /// `.open`, `.click` or `.unsubscribe` (recorded as a click event).
    public var kind: TokenKind
    public var trackingID: TrackingID
    /// Position of the clicked link in the message; 0 for opens.
    public var linkIndex: UInt32
    /// The signed destination of a click, raw bytes; empty for opens.
    public var destination: [UInt8]
    /// When the request arrived, unix seconds with a fraction.
    public var timestamp: Double
    /// The client address (see ``ClientAddress``).
    public var ip: String
    /// The `User-Agent` header as sent (empty when absent).
    public var userAgent: String

    public init(kind: TokenKind, trackingID: TrackingID, linkIndex: UInt32 = 0, destination: [UInt8] = [],
                timestamp: Double, ip: String, userAgent: String) {
        self.kind = kind
        self.trackingID = trackingID
        self.linkIndex = linkIndex
        self.destination = destination
        self.timestamp = timestamp
        self.ip = ip
        self.userAgent = userAgent
    }
}
