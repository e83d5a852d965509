import Rewrite

/// Compares a message with its rewritten form, part by part, and stops (see `require`)
/// at the first difference the rewrite engine must never make:
/// - the tree differs: a content type, a boundary, the number of parts, leaf or multipart;
/// - a byte outside an inline `text/html` or `text/plain` leaf changed: headers of other
///   parts, preambles, delimiters, epilogues, attachments, anything under
///   `multipart/signed` or `multipart/encrypted`;
/// - a rewritten text part cannot be decoded in its (possibly new) transfer encoding, has
///   over-long lines, changed its header other than by turning into quoted-printable, or
///   holds more bare CRs or bare LFs than before (line endings are the part's own).
public struct MIMETreeCheck {
    public let original: [UInt8]
    /// The rewritten message without the `X-MailTrail-ID` field the engine puts on top.
    public let rewritten: [UInt8]
    /// The top-level header edits the engine reported.
    public let topLevelEdits: [HeaderEdit]
    let parser = MIMEParser()

    public init(original: [UInt8], rewritten: [UInt8], topLevelEdits: [HeaderEdit]) {
        self.original = original
        self.rewritten = rewritten
        self.topLevelEdits = topLevelEdits
    }

    public func verify() {
        let a = parser.parse(message: original)
        let b = parser.parse(message: rewritten)
        let edited = a.header.applying(topLevelEdits)
        var expected = Array(edited.bytes[edited.range])
        if a.header.bodyStart == a.header.range.upperBound, b.header.bodyStart > b.header.range.upperBound,
           let last = expected.last, last != 0x0A {
            // A message that was all header, its last line unterminated, got a body.
            expected += a.header.lineEnding.bytes
        }
        require(expected.elementsEqual(rewritten[b.header.range]),
                "top-level header is not the original with \(topLevelEdits) applied:\n"
                + describe(rewritten[b.header.range]))
        compare(a, b, path: [], rewritable: true)
    }

    private func compare(_ a: MIMEEntity, _ b: MIMEEntity, path: [Int], rewritable: Bool) {
        let at = "part \(path)"
        require(a.contentType.mimeType == b.contentType.mimeType,
                "\(at): type \(a.contentType.mimeType) became \(b.contentType.mimeType)")
        require(a.hasBody == b.hasBody, "\(at): hasBody changed")
        switch (a.multipart, b.multipart) {
        case let (ma?, mb?):
            if !path.isEmpty { requireSame(a.header.range, b.header.range, "\(at): header") }
            require(ma.boundary == mb.boundary, "\(at): boundary changed")
            require(ma.parts.count == mb.parts.count, "\(at): \(ma.parts.count) parts became \(mb.parts.count)")
            requireSame(ma.preamble, mb.preamble, "\(at): preamble")
            for (da, db) in zip(ma.delimiters, mb.delimiters) { requireSame(da, db, "\(at): delimiter") }
            require((ma.closeDelimiter == nil) == (mb.closeDelimiter == nil), "\(at): close delimiter appeared or vanished")
            if let ca = ma.closeDelimiter, let cb = mb.closeDelimiter { requireSame(ca, cb, "\(at): close delimiter") }
            requireSame(ma.epilogue, mb.epilogue, "\(at): epilogue")
            let sealed = a.contentType.subtype == "signed" || a.contentType.subtype == "encrypted"
            for (i, (pa, pb)) in zip(ma.parts, mb.parts).enumerated() {
                compare(pa, pb, path: path + [i], rewritable: rewritable && !sealed)
            }
        case (nil, nil):
            let subtype = a.contentType.subtype
            let isText = a.contentType.type == "text" && (subtype == "html" || subtype == "plain")
            if rewritable && isText && a.isInline && a.hasBody {
                compareText(a, b, path: path)
            } else {
                if !path.isEmpty { requireSame(a.header.range, b.header.range, "\(at): header of a part never rewritten") }
                requireSame(a.bodyRange, b.bodyRange, "\(at): body of a part never rewritten (\(a.contentType.mimeType))")
            }
        default:
            require(false, "\(at): a multipart became a leaf or the reverse")
        }
    }

    /// An inline text leaf: unchanged, or re-encoded so that it still decodes.
    private func compareText(_ a: MIMEEntity, _ b: MIMEEntity, path: [Int]) {
        let at = "text part \(path)"
        let bodyChanged = !original[a.bodyRange].elementsEqual(rewritten[b.bodyRange])
        if !path.isEmpty && !original[a.header.range].elementsEqual(rewritten[b.header.range]) {
            // The one header change allowed: an identity-encoded part becoming quoted-printable.
            let expected = a.header.applying([.set(name: "Content-Transfer-Encoding", value: "quoted-printable")])
            require(bodyChanged && a.transferEncoding.isIdentity
                        && expected.bytes[expected.range].elementsEqual(rewritten[b.header.range]),
                    "\(at): header changed:\n" + describe(rewritten[b.header.range]))
        }
        guard bodyChanged else {
            require(a.transferEncoding == b.transferEncoding, "\(at): transfer encoding changed, body did not")
            return
        }
        let body = rewritten[b.bodyRange]
        switch b.transferEncoding {
        case .quotedPrintable:
            require(QuotedPrintable.decode(body) != nil, "\(at): rewritten quoted-printable does not decode")
            require(Lines.longest(body) <= QuotedPrintable.maximumLineLength, "\(at): quoted-printable line over 76")
        case .base64:
            require(Base64Transfer.decode(body) != nil, "\(at): rewritten base64 does not decode")
            require(Lines.longest(body) <= Base64Transfer.lineLength, "\(at): base64 line over 76")
        case .sevenBit, .eightBit, .binary:
            require(Lines.longest(body) <= 998, "\(at): rewritten line over 998 octets")
        case .unknown(let name):
            require(false, "\(at): a part in unknown encoding \(name) was rewritten")
        }
        if b.transferEncoding != a.transferEncoding {
            require(a.transferEncoding.isIdentity && b.transferEncoding == .quotedPrintable,
                    "\(at): transfer encoding \(a.transferEncoding.name) became \(b.transferEncoding.name)")
        }
        if let before = Self.decoded(original[a.bodyRange], a.transferEncoding),
           let after = Self.decoded(body, b.transferEncoding) {
            let (crBefore, lfBefore) = Self.bareBreaks(before)
            let (crAfter, lfAfter) = Self.bareBreaks(after)
            require(crAfter <= crBefore && lfAfter <= lfBefore,
                    "\(at): bare CR/LF went from \(crBefore)/\(lfBefore) to \(crAfter)/\(lfAfter):\n" + describe(after))
        }
    }

    /// `body` decoded from `encoding`; nil when it does not decode.
    public static func decoded(_ body: ArraySlice<UInt8>, _ encoding: TransferEncoding) -> [UInt8]? {
        switch encoding {
        case .quotedPrintable: return QuotedPrintable.decode(body)
        case .base64: return Base64Transfer.decode(body)
        case .sevenBit, .eightBit, .binary: return Array(body)
        case .unknown: return nil
        }
    }

    /// CRs not followed by LF, and LFs not preceded by CR.
    public static func bareBreaks(_ bytes: [UInt8]) -> (cr: Int, lf: Int) {
        var cr = 0, lf = 0
        for (i, b) in bytes.enumerated() {
            if b == 0x0D && (i + 1 == bytes.count || bytes[i + 1] != 0x0A) { cr += 1 }
            if b == 0x0A && (i == 0 || bytes[i - 1] != 0x0D) { lf += 1 }
        }
        return (cr, lf)
    }

    private func requireSame(_ ra: Range<Int>, _ rb: Range<Int>, _ what: String) {
        require(original[ra].elementsEqual(rewritten[rb]),
                "\(what) changed:\n" + describe(original[ra]) + "\nbecame:\n" + describe(rewritten[rb]))
    }
}
