/// The per-message decision taken before any body byte is looked at: track this message
/// or not, and what (opens, clicks), from the configuration, the sender rules and the
/// message's own `X-MailTrail-Track` header.
public struct TrackingPolicy: Sendable {
    /// Set by the milter on every message it tracks.
    public static let idHeader = "X-MailTrail-ID"
    /// Per-message opt-out set by the sending application; removed from the output.
    public static let trackHeader = "X-MailTrail-Track"

    public var mode: TrackingMode
    public var skipDKIMSigned: Bool
    public var senderRules: [SenderRule]

    public init(mode: TrackingMode = .all, skipDKIMSigned: Bool = true, senderRules: [SenderRule] = []) {
        self.mode = mode
        self.skipDKIMSigned = skipDKIMSigned
        self.senderRules = senderRules
    }

    /// The outcome for one message.
    public struct Decision: Equatable, Sendable {
        /// What to track; empty when `skip` is set.
        public var mode: TrackingMode
        public var skip: SkipReason?
        /// Header edits due whatever happens to the body (removing `X-MailTrail-Track`).
        public var headerEdits: [HeaderEdit]
    }

    /// Decides from the top-level header section. `sender` is the envelope sender when
    /// known (the milter), else the `From` address is used for the sender rules.
    public func decide(headers: HeaderBlock, sender: String?) -> Decision {
        let trackFields = headers.fields(named: Self.trackHeader)
        let edits: [HeaderEdit] = trackFields.isEmpty ? [] : [.removeAll(name: Self.trackHeader)]
        func skip(_ reason: SkipReason, edits: [HeaderEdit] = edits) -> Decision {
            Decision(mode: .off, skip: reason, headerEdits: edits)
        }

        // Re-injection must be idempotent: leave the message exactly as it is.
        if headers.first(named: Self.idHeader) != nil { return skip(.alreadyTracked, edits: []) }
        if let type = headers.value(named: "Content-Type").flatMap(ContentType.init(parsing:)),
           Self.isSignedOrEncrypted(type) {
            return skip(.signedOrEncrypted(contentType: type.mimeType), edits: [])
        }
        if skipDKIMSigned, headers.first(named: "DKIM-Signature") != nil { return skip(.dkimSigned, edits: []) }

        var mode = self.mode
        if let field = trackFields.last,
           let requested = TrackingMode(parsing: String(decoding: headers.unfoldedValue(of: field), as: UTF8.self)) {
            if requested == .off { return skip(.optedOutByHeader) }
            mode.formIntersection(requested)
        }
        let from = sender ?? headers.value(named: "From").map { Self.address(in: $0) } ?? ""
        if let rule = SenderRule.match(for: from, in: senderRules) {
            if rule.mode == .off { return skip(.senderRule(pattern: rule.pattern)) }
            mode.formIntersection(rule.mode)
        }
        if mode == .off { return skip(.trackingDisabled) }
        return Decision(mode: mode, skip: nil, headerEdits: edits)
    }

    /// True for the content types that must never be modified.
    public static func isSignedOrEncrypted(_ type: ContentType) -> Bool {
        switch type.mimeType {
        case "multipart/signed", "multipart/encrypted", "application/pkcs7-mime", "application/x-pkcs7-mime":
            return true
        default:
            return false
        }
    }

    /// The bare address of a `From` value: the part in angle brackets, else the value.
    static func address(in value: [UInt8]) -> String {
        let text = String(decoding: value, as: UTF8.self)
        if let open = text.lastIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            return String(text[text.index(after: open)..<close])
        }
        return text
    }
}
