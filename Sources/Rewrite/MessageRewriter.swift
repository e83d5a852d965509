/// The whole engine for one message: the skip rules and opt-outs, then every inline
/// HTML part gets its links wrapped and an open pixel, and (optionally) every inline
/// text part its URLs wrapped, each part re-encoded in its own transfer encoding.
///
/// The milter and `mailtrail rewrite` both call this, so a message file rewritten on
/// the command line comes out exactly as Postfix would deliver it.
public struct MessageRewriter: Sendable {
    public struct Options: Sendable {
        /// Public base of tracking links, e.g. `https://t.example.com`.
        public var trackingBase: String
        public var keyRing: KeyRing
        public var policy: TrackingPolicy
        /// Wrap URLs in inline `text/plain` parts too.
        public var trackTextParts: Bool
        /// A second pixel right after `<body>`.
        public var topPixel: Bool

        public init(trackingBase: String, keyRing: KeyRing, policy: TrackingPolicy = TrackingPolicy(),
                    trackTextParts: Bool = true, topPixel: Bool = false) {
            self.trackingBase = trackingBase
            self.keyRing = keyRing
            self.policy = policy
            self.trackTextParts = trackTextParts
            self.topPixel = topPixel
        }
    }

    /// What happened to one message.
    public struct Result: Sendable {
        /// Set when the message was not tracked; the body is then unchanged.
        public var skip: SkipReason?
        /// Edits to the top-level header section (removing `X-MailTrail-Track`, a changed
        /// `Content-Transfer-Encoding`). `X-MailTrail-ID` is not among them: the caller adds
        /// it when `isTracked`.
        public var headerEdits: [HeaderEdit] = []
        /// The new body, or nil when the body is unchanged.
        public var body: [UInt8]?
        public var trackingID: TrackingID
        public var linksWrapped = 0
        public var linksOptedOut = 0
        public var pixelsInserted = 0
        public var partsRewritten = 0
        /// Parts left as they were because they could not be decoded.
        public var partsFailed: [PartFailure] = []

        public var isTracked: Bool { skip == nil }
    }

    public var options: Options
    private let bodyRewriter = MIMEBodyRewriter()

    public init(options: Options) { self.options = options }

    /// Rewrites a message given as its top-level header section and body (the milter's view).
    /// `sender` is the envelope sender when known.
    public func rewrite(header: HeaderBlock, body: [UInt8], sender: String?,
                        trackingID: TrackingID, issuedAt: UInt32) -> Result {
        let decision = options.policy.decide(headers: header, sender: sender)
        var result = Result(skip: decision.skip, headerEdits: decision.headerEdits, body: nil, trackingID: trackingID)
        if decision.skip != nil { return result }

        let links = TrackingLinks(base: options.trackingBase, keyRing: options.keyRing,
                                  trackingID: trackingID, issuedAt: issuedAt)
        let base = links.base + [ASCII.slash]
        let wrapLinks = decision.mode.contains(.clicks)
        let pixel = decision.mode.contains(.opens) ? links.pixelURL() : nil
        var nextIndex: UInt32 = 0
        let wrap: LinkWrapper = { destination in
            defer { nextIndex += 1 }
            return links.clickURL(destination: destination, linkIndex: nextIndex)
        }

        let rewritten = bodyRewriter.rewrite(header: header, body: body) { part in
            switch part.subtype {
            case .html:
                let r = HTMLLinkRewriter.rewrite(
                    part.content,
                    options: HTMLRewriteOptions(trackingBase: base, wrapLinks: wrapLinks, pixelURL: pixel,
                                                topPixelURL: options.topPixel ? pixel : nil),
                    wrap: wrap)
                result.linksWrapped += r.linksWrapped
                result.linksOptedOut += r.linksOptedOut
                result.pixelsInserted += (r.pixelInserted ? 1 : 0) + (r.topPixelInserted ? 1 : 0)
                let changed = r.linksWrapped > 0 || r.linksOptedOut > 0 || r.pixelInserted || r.topPixelInserted
                return changed ? r.bytes : nil
            case .plain:
                guard wrapLinks, options.trackTextParts else { return nil }
                let r = TextLinkRewriter.rewrite(part.content, flowed: part.isFlowed, delSp: part.deletesSpace,
                                                 trackingBase: base, wrap: wrap)
                result.linksWrapped += r.linksWrapped
                return r.linksWrapped > 0 ? r.bytes : nil
            }
        }
        result.partsFailed = rewritten.partsFailed
        result.partsRewritten = rewritten.partsRewritten
        guard !rewritten.isUnchanged else {
            result.skip = .nothingToTrack
            return result
        }
        result.body = rewritten.body
        result.headerEdits += rewritten.topLevelHeaderEdits
        return result
    }

    /// Rewrites a whole message file (`mailtrail rewrite`): the same as the milter, with the
    /// header edits applied and `X-MailTrail-ID` inserted at the top, where the milter puts it.
    public func rewrite(message: [UInt8], sender: String? = nil,
                        trackingID: TrackingID, issuedAt: UInt32) -> (message: [UInt8], result: Result) {
        let (header, bodyRange) = HeaderBlock.split(message: message)
        let result = rewrite(header: header, body: Array(message[bodyRange]), sender: sender,
                             trackingID: trackingID, issuedAt: issuedAt)
        if result.headerEdits.isEmpty && result.body == nil && !result.isTracked { return (message, result) }

        var out: [UInt8] = []
        out.reserveCapacity(message.count + (result.body?.count ?? 0) - bodyRange.count + 64)
        if result.isTracked {
            out += Array("\(TrackingPolicy.idHeader): \(trackingID.hex)".utf8) + header.lineEnding.bytes
        }
        let edited = header.applying(result.headerEdits)
        out += edited.bytes[edited.range]
        var separator = Array(message[header.range.upperBound..<bodyRange.lowerBound])   // the empty line
        if separator.isEmpty, let body = result.body, !body.isEmpty {
            // A message that is all header has no empty line; the new body needs one.
            if out.last != ASCII.lf { separator += header.lineEnding.bytes }
            separator += header.lineEnding.bytes
        }
        out += separator
        if let body = result.body { out += body } else { out += message[bodyRange] }
        return (out, result)
    }
}
