import Foundation

/// One open or click, as published on the `mt:events` stream and sent to webhooks.
///
/// The JSON mirrors Mailgun's event objects so existing consumers map easily: kebab-case
/// keys, `timestamp` in unix seconds with a fraction, and nil fields left out.
/// ``jsonBytes()`` sorts keys, so equal events always encode to identical bytes.
public struct TrackingEvent: Codable, Equatable, Sendable {
    /// `opened` or `clicked`.
    public enum Kind: String, Codable, Sendable {
        case opened
        case clicked
    }

    /// What the user-agent parser made of the client; "unknown" where it could not tell.
    public struct ClientInfo: Codable, Equatable, Sendable {
        public var clientName: String
        /// e.g. "browser", "email client", "mobile browser", "library".
        public var clientType: String
        public var clientOS: String
        /// e.g. "desktop", "mobile", "tablet".
        public var deviceType: String

        public init(clientName: String, clientType: String, clientOS: String, deviceType: String) {
            self.clientName = clientName
            self.clientType = clientType
            self.clientOS = clientOS
            self.deviceType = deviceType
        }

        /// Nothing known about the client.
        public static let unknown = ClientInfo(clientName: "unknown", clientType: "unknown", clientOS: "unknown", deviceType: "unknown")

        enum CodingKeys: String, CodingKey {
            case clientName = "client-name"
            case clientType = "client-type"
            case clientOS = "client-os"
            case deviceType = "device-type"
        }
    }

    /// The bot verdict: mail-privacy proxies, link scanners and prefetchers are machines.
    public struct Machine: Codable, Equatable, Sendable {
        public var isMachine: Bool
        /// Why it was judged a machine (e.g. "apple-mpp", "scanner-ip", "too-fast"); nil for humans.
        public var reason: String?

        public init(isMachine: Bool, reason: String? = nil) {
            self.isMachine = isMachine
            self.reason = reason
        }

        enum CodingKeys: String, CodingKey {
            case isMachine = "is-machine"
            case reason
        }
    }

    /// Unique per event (see ``newID()``); consumers de-duplicate on it, since the spool
    /// delivers at least once.
    public var id: String
    public var event: Kind
    /// When the hit arrived, unix seconds with a fraction.
    public var timestamp: Double
    public var trackingID: String
    public var messageID: String?
    /// Set when the message had exactly one recipient.
    public var recipient: String?
    public var recipientDomain: String?
    /// Destination of a click; nil for opens.
    public var url: String?
    /// Position of the clicked link in the message (0-based); nil for opens.
    public var linkIndex: Int?
    public var ip: String
    public var userAgent: String
    public var clientInfo: ClientInfo
    public var machine: Machine
    /// True for the first open (or click) recorded for this message.
    public var first: Bool
    public var campaign: String?
    public var tags: [String]
    public var queueID: String?
    /// Unix seconds when the message was sent (from the enrichment record).
    public var sentAt: Int64?

    public init(
        id: String,
        event: Kind,
        timestamp: Double,
        trackingID: String,
        messageID: String? = nil,
        recipient: String? = nil,
        recipientDomain: String? = nil,
        url: String? = nil,
        linkIndex: Int? = nil,
        ip: String,
        userAgent: String,
        clientInfo: ClientInfo = .unknown,
        machine: Machine = Machine(isMachine: false),
        first: Bool,
        campaign: String? = nil,
        tags: [String] = [],
        queueID: String? = nil,
        sentAt: Int64? = nil
    ) {
        self.id = id
        self.event = event
        self.timestamp = timestamp
        self.trackingID = trackingID
        self.messageID = messageID
        self.recipient = recipient
        self.recipientDomain = recipientDomain
        self.url = url
        self.linkIndex = linkIndex
        self.ip = ip
        self.userAgent = userAgent
        self.clientInfo = clientInfo
        self.machine = machine
        self.first = first
        self.campaign = campaign
        self.tags = tags
        self.queueID = queueID
        self.sentAt = sentAt
    }

    enum CodingKeys: String, CodingKey {
        case id, event, timestamp
        case trackingID = "tracking-id"
        case messageID = "message-id"
        case recipient
        case recipientDomain = "recipient-domain"
        case url
        case linkIndex = "link-index"
        case ip
        case userAgent = "user-agent"
        case clientInfo = "client-info"
        case machine, first, campaign, tags
        case queueID = "queue-id"
        case sentAt = "sent-at"
    }

    /// Field names of an `mt:events` stream entry: the event id (for de-duplication without
    /// parsing) and the JSON document.
    public static let streamIDField = "id"
    public static let streamJSONField = "json"

    /// A fresh event id: 128 random bits as 32 lowercase hex digits.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return newID(using: &generator)
    }

    /// A fresh event id drawn from `generator` (a seeded generator makes tests repeatable).
    /// The tracker makes one per event, so the digits are written straight into the string's
    /// storage: one allocation per id.
    public static func newID<G: RandomNumberGenerator>(using generator: inout G) -> String {
        let high = generator.next()
        let low = generator.next()
        return String(unsafeUninitializedCapacity: 32) { text in
            for index in 0..<32 {
                let word = index < 16 ? high : low
                let digit = UInt8(truncatingIfNeeded: word >> (60 - 4 * UInt64(index % 16)) & 0xF)
                text[index] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
            }
            return 32
        }
    }

    /// The lower-cased part after the last `@` of an address, nil when there is none.
    public static func domain(of address: String) -> String? {
        guard let at = address.lastIndex(of: "@") else { return nil }
        let domain = address[address.index(after: at)...]
        return domain.isEmpty ? nil : domain.lowercased()
    }

    /// The event as compact JSON with sorted keys and unescaped slashes.
    ///
    /// Throws `EncodingError` only for a non-finite `timestamp`.
    public func jsonBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    /// Decodes an event from its JSON (as produced by ``jsonBytes()``).
    public static func decode(json: [UInt8]) throws -> TrackingEvent {
        try JSONDecoder().decode(TrackingEvent.self, from: Data(json))
    }

    /// `XADD mt:events * id <id> json <json>`. The stream is capped apart, once per batch of
    /// events (``trimCommand(schema:maxLength:)``).
    public func xaddCommand(schema: KeySchema = KeySchema()) throws -> RedisCommand {
        [
            Array("XADD".utf8), Array(schema.events.utf8), Array("*".utf8),
            Array(Self.streamIDField.utf8), Array(id.utf8),
            Array(Self.streamJSONField.utf8), try jsonBytes(),
        ]
    }

    /// `XTRIM mt:events MAXLEN ~ <maxLength>`: caps the stream at about `maxLength` entries.
    ///
    /// Once per batch rather than as `XADD … MAXLEN ~` on every event: Redis rewrites the
    /// arguments of each trimming `XADD` (for replicas and the AOF), and a batch of events
    /// costs it about a third more CPU that way (`bench/redis-stream`). Approximate trimming
    /// removes whole stream nodes either way, so the stream keeps about the same length.
    public static func trimCommand(schema: KeySchema = KeySchema(), maxLength: Int) -> RedisCommand {
        [Array("XTRIM".utf8), Array(schema.events.utf8), Array("MAXLEN".utf8), Array("~".utf8), Array(String(maxLength).utf8)]
    }
}
