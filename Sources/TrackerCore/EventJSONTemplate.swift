import Rewrite
import Store

/// The JSON of the events of one message, with what they share rendered once.
///
/// Keys are sorted, so the message's fields (campaign, message id, recipient, tags, …) and an
/// event's own fields (kind, first, id, ip, link index, timestamp, url, user agent) interleave;
/// the template holds the message's parts as ready bytes and writes only the event's fields
/// between them. The output is byte for byte ``EventJSON/bytes(of:)`` of the event
/// ``EventAssembler`` builds (tests compare the two on random hits and records).
struct EventJSONTemplate {
    /// `{` … `"client-info":{…},"event":`
    private let head: [UInt8]
    /// `"machine":{…}` … `"tags":[…],"timestamp":`
    private let middle: [UInt8]
    /// `,"tracking-id":"…"`
    private let tail: [UInt8]

    /// The template for `message`'s events.
    init(message: EventAssembler.Message) {
        // The message's fields as the assembler fills them in, from any of its events.
        let shared = EventAssembler.event(for: Self.anyEvent, message: message, first: false)

        var out = EventJSON.Writer()
        out.raw("{")
        out.membersBeforeEvent(of: shared)
        out.key("event")
        head = out.bytes

        out = EventJSON.Writer()
        out.membersFromMachineToTags(of: shared)
        out.key("timestamp")
        middle = out.bytes

        out = EventJSON.Writer()
        out.needsComma = true
        out.field("tracking-id", string: message.trackingID)
        tail = out.bytes
    }

    /// Appends the JSON of `pending`'s event (`first` as decided by the writer) to `bytes`;
    /// false, with nothing appended, when its timestamp is not a finite number.
    func append(_ pending: PendingEvent, first: Bool, to bytes: inout [UInt8]) -> Bool {
        let hit = pending.hit
        guard hit.timestamp.isFinite else { return false }
        let isOpen = hit.kind == .open
        bytes.append(contentsOf: head)
        bytes.append(contentsOf: isOpen ? Self.opened : Self.clicked)
        bytes.append(contentsOf: first ? Self.firstTrue : Self.firstFalse)
        EventJSON.appendString(pending.id, to: &bytes)
        bytes.append(contentsOf: Self.ipKey)
        EventJSON.appendString(hit.ip, to: &bytes)
        if !isOpen {
            bytes.append(contentsOf: Self.linkIndexKey)
            bytes.append(contentsOf: String(hit.linkIndex).utf8)
        }
        bytes.append(UInt8(ascii: ","))
        bytes.append(contentsOf: middle)
        bytes.append(contentsOf: EventJSON.number(hit.timestamp).utf8)
        bytes.append(contentsOf: tail)
        if !isOpen {
            bytes.append(contentsOf: Self.urlKey)
            hit.destination.withUnsafeBufferPointer { destination in
                if destination.allSatisfy({ $0 < 0x80 }) {
                    EventJSON.appendString(utf8: destination, to: &bytes)
                } else {
                    EventJSON.appendString(String(decoding: destination, as: UTF8.self), to: &bytes)  // repaired as the event's `url`
                }
            }
        }
        bytes.append(contentsOf: Self.userAgentKey)
        EventJSON.appendString(hit.userAgent, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return true
    }

    /// Stands for the message's events when the template is made (only their message counts).
    private static let anyEvent = PendingEvent(id: "", hit: TrackedHit(
        kind: .open, trackingID: TrackingID(bytes: [UInt8](repeating: 0, count: TrackingID.byteCount)), timestamp: 0, ip: "", userAgent: ""))

    private static let opened = Array(#""opened""#.utf8)
    private static let clicked = Array(#""clicked""#.utf8)
    private static let firstTrue = Array(#","first":true,"id":"#.utf8)
    private static let firstFalse = Array(#","first":false,"id":"#.utf8)
    private static let ipKey = Array(#","ip":"#.utf8)
    private static let linkIndexKey = Array(#","link-index":"#.utf8)
    private static let urlKey = Array(#","url":"#.utf8)
    private static let userAgentKey = Array(#","user-agent":"#.utf8)
}
