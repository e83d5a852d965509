import Store

/// The JSON of a ``Store/TrackingEvent`` written directly, byte for byte what
/// ``Store/TrackingEvent/jsonBytes()`` produces (keys sorted, slashes unescaped, nil fields
/// left out), without Codable.
///
/// The writer thread encodes every event; through `JSONEncoder` that was about a third of its
/// CPU time, which on a small machine is taken from the request handlers. Tests compare the
/// two encoders on random events, so the published format stays the one `TrackingEvent` defines.
enum EventJSON {
    /// The event's JSON; nil when its timestamp is not a finite number (JSON has no NaN).
    static func bytes(of event: TrackingEvent) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(640)
        return append(event, to: &bytes) ? bytes : nil
    }

    /// Appends the event's JSON to `buffer` (which the writer reuses from event to event);
    /// false, with nothing appended, when its timestamp is not a finite number.
    static func append(_ event: TrackingEvent, to buffer: inout [UInt8]) -> Bool {
        guard event.timestamp.isFinite else { return false }
        var out = Writer()
        swap(&out.bytes, &buffer)
        defer { swap(&out.bytes, &buffer) }
        out.raw("{")
        out.membersBeforeEvent(of: event)
        out.field("event", string: event.event.rawValue)
        out.field("first", raw: event.first ? "true" : "false")
        out.field("id", string: event.id)
        out.field("ip", string: event.ip)
        if let linkIndex = event.linkIndex { out.field("link-index", raw: String(linkIndex)) }
        out.membersFromMachineToTags(of: event)
        out.field("timestamp", raw: number(event.timestamp))
        out.field("tracking-id", string: event.trackingID)
        if let url = event.url { out.field("url", string: url) }
        out.field("user-agent", string: event.userAgent)
        out.raw("}")
        return true
    }

    /// `XADD mt:events * id <id> json <json>`, as ``Store/TrackingEvent/xaddCommand(schema:)``
    /// builds it.
    static func xaddCommand(for event: TrackingEvent, schema: KeySchema) -> RedisCommand? {
        guard let json = bytes(of: event) else { return nil }
        return [
            xadd, Array(schema.events.utf8), autoID,
            Array(TrackingEvent.streamIDField.utf8), Array(event.id.utf8),
            Array(TrackingEvent.streamJSONField.utf8), json,
        ]
    }

    /// Appends the ``xaddCommand(for:schema:)`` of `event` to `commands`, its JSON written
    /// through `scratch` (cleared first, kept for the next event); false, with nothing
    /// appended, when the event cannot be encoded.
    static func appendXADD(for event: TrackingEvent, schema: KeySchema,
                           to commands: inout RESPCommands, scratch: inout [UInt8]) -> Bool {
        scratch.removeAll(keepingCapacity: true)
        guard append(event, to: &scratch) else { return false }
        appendXADD(head: xaddHead(schema: schema), id: event.id, json: scratch, to: &commands)
        return true
    }

    /// What every `XADD` of the writer starts with: `XADD mt:events * id`.
    static func xaddHead(schema: KeySchema) -> RESPCommands.Prepared {
        RESPCommands.Prepared([xadd, Array(schema.events.utf8), autoID, Array(TrackingEvent.streamIDField.utf8)])
    }

    /// Appends `<head> <id> json <json>` (``xaddHead(schema:)``) to `commands`.
    static func appendXADD(head: RESPCommands.Prepared, id: String, json: [UInt8], to commands: inout RESPCommands) {
        commands.begin(head.count + 3)
        commands.arguments(head)
        commands.argument(id)
        commands.argument(jsonField)
        commands.argument(json)
    }

    private static let jsonField = Array(TrackingEvent.streamJSONField.utf8)

    private static let xadd = Array("XADD".utf8)
    private static let autoID = Array("*".utf8)

    /// A number as JSONEncoder writes a Double: the shortest round-trip form, without ".0".
    static func number(_ value: Double) -> String {
        let text = value.description
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// Writes JSON members in order, with the commas between them.
    struct Writer {
        var bytes: [UInt8] = []
        /// Whether the next key needs a comma before it.
        var needsComma = false

        mutating func raw(_ text: String) {
            bytes.append(contentsOf: text.utf8)
            needsComma = text != "{" && text != "["
        }

        mutating func key(_ name: String) {
            if needsComma { bytes.append(UInt8(ascii: ",")) }
            string(name)
            bytes.append(UInt8(ascii: ":"))
            needsComma = false
        }

        mutating func field(_ name: String, string value: String) {
            key(name)
            string(value)
        }

        mutating func field(_ name: String, raw value: String) {
            key(name)
            bytes.append(contentsOf: value.utf8)
            needsComma = true
        }

        mutating func string(_ text: String) {
            EventJSON.appendString(text, to: &bytes)
            needsComma = true
        }

        /// The members that sort before `event`: `campaign` and `client-info`. Shared by
        /// every event of a message (``EventJSONTemplate`` renders them once).
        mutating func membersBeforeEvent(of event: TrackingEvent) {
            if let campaign = event.campaign { field("campaign", string: campaign) }
            key("client-info")
            raw("{")
            field("client-name", string: event.clientInfo.clientName)
            field("client-os", string: event.clientInfo.clientOS)
            field("client-type", string: event.clientInfo.clientType)
            field("device-type", string: event.clientInfo.deviceType)
            raw("}")
        }

        /// The members from `machine` to `tags`, between `link-index` and `timestamp`; shared
        /// by every event of a message, like ``membersBeforeEvent(of:)``.
        mutating func membersFromMachineToTags(of event: TrackingEvent) {
            key("machine")
            raw("{")
            field("is-machine", raw: event.machine.isMachine ? "true" : "false")
            if let reason = event.machine.reason { field("reason", string: reason) }
            raw("}")
            if let messageID = event.messageID { field("message-id", string: messageID) }
            if let queueID = event.queueID { field("queue-id", string: queueID) }
            if let recipient = event.recipient { field("recipient", string: recipient) }
            if let domain = event.recipientDomain { field("recipient-domain", string: domain) }
            if let sentAt = event.sentAt { field("sent-at", raw: String(sentAt)) }
            key("tags")
            raw("[")
            for (index, tag) in event.tags.enumerated() {
                if index > 0 { raw(",") }
                string(tag)
            }
            raw("]")
        }
    }

    /// Appends `text` as a JSON string: `"` and `\` escaped, control characters as
    /// `\b \t \n \f \r` or `\u00xx`, everything else (slashes, non-ASCII) as is. Runs
    /// without escapes are copied in one piece.
    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendString(utf8: $0, to: &bytes) }
    }

    /// ``appendString(_:to:)`` for text given as valid UTF-8.
    static func appendString(utf8: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            runStart = index + 1
            bytes.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
            case 0x08: bytes.append(UInt8(ascii: "b"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0C: bytes.append(UInt8(ascii: "f"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            default:
                bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                          hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}
