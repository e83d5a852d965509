/// Splices rewritten text parts into a message body, leaving every other byte identical.
///
/// It walks the MIME tree and hands each inline `text/html` and `text/plain` leaf
/// (no `Content-Disposition: attachment`; never inside `message/rfc822`,
/// `multipart/signed` or `multipart/encrypted`) to a transform, decoded from its
/// Content-Transfer-Encoding. A transform result is re-encoded in the part's own encoding
/// and line ending (quoted-printable and base64 with lines of at most 76 characters);
/// `7bit`, `8bit` and `binary` parts are replaced in place unless a line would exceed
/// `maximumLineLength` octets, in which case that part alone becomes quoted-printable and
/// its Content-Transfer-Encoding field is changed (for the top-level part this is returned
/// as a header edit, since the milter changes top-level headers separately). Should a line
/// of a re-encoded part read as a delimiter of an enclosing multipart (a quoted-printable
/// soft break landing before `--boundary`, say), the part is encoded as quoted-printable
/// with no line starting with `-` instead, so the MIME tree never changes. A part that
/// cannot be decoded is left as it is and reported. Preamble, epilogue, boundaries, other
/// parts and all header bytes not named above are copied verbatim.
public struct MIMEBodyRewriter: Sendable {
    /// The longest line, in octets without its line break, an identity-encoded part may
    /// have (RFC 5322 section 2.1.1).
    public var maximumLineLength: Int
    public var parser: MIMEParser

    public init(maximumLineLength: Int = 998, parser: MIMEParser = MIMEParser()) {
        self.maximumLineLength = maximumLineLength
        self.parser = parser
    }

    /// Rewrites `body`, whose top-level header section is `header` (for the milter: the
    /// fields from the header callbacks). `transform` returns the new decoded content of a
    /// part, or nil to leave the part byte-identical.
    public func rewrite(header: HeaderBlock, body: [UInt8], transform: (TextPart) -> [UInt8]?) -> BodyRewriteResult {
        let root = parser.parse(header: header, body: body)
        var walk = Walk(body: body, maximumLineLength: maximumLineLength)
        walk.visit(root, path: [], boundaries: [], isRoot: true, transform: transform)
        let newBody = walk.splicer.isEmpty ? body : walk.splicer.apply(to: body, in: body.indices)
        return BodyRewriteResult(body: newBody, topLevelHeaderEdits: walk.headerEdits,
                                 partsRewritten: walk.rewritten, partsFailed: walk.failures)
    }

    /// Rewrites a whole message held in one buffer (the CLI's case) and applies the
    /// top-level header edits to its header section; returns the new message and what was
    /// done. Untouched header bytes and the empty line after them are kept verbatim.
    public func rewrite(message: [UInt8], transform: (TextPart) -> [UInt8]?) -> (message: [UInt8], result: BodyRewriteResult) {
        let (header, bodyRange) = HeaderBlock.split(message: message)
        let result = rewrite(header: header, body: Array(message[bodyRange]), transform: transform)
        if result.isUnchanged { return (message, result) }
        var out: [UInt8] = []
        out.reserveCapacity(header.bodyStart + result.body.count + 64)
        out += message[..<header.range.lowerBound]
        out += result.topLevelHeaderEdits.isEmpty ? Array(message[header.range]) : header.applying(result.topLevelHeaderEdits).bytes
        var separator = Array(message[header.range.upperBound..<header.bodyStart])
        if separator.isEmpty && !result.body.isEmpty {
            // The message had no empty line (all header); the new body needs one.
            if let last = out.last, last != ASCII.lf { separator += header.lineEnding.bytes }
            separator += header.lineEnding.bytes
        }
        out += separator
        out += result.body
        return (out, result)
    }

    // MARK: - The walk

    /// State of one rewrite: the splices and edits collected so far.
    private struct Walk {
        let body: [UInt8]
        let maximumLineLength: Int
        var splicer = ByteSplicer()
        var headerEdits: [HeaderEdit] = []
        var rewritten = 0
        var failures: [PartFailure] = []
        var textParts = 0

        init(body: [UInt8], maximumLineLength: Int) {
            self.body = body
            self.maximumLineLength = maximumLineLength
        }

        /// `boundaries`: those of the multiparts enclosing `entity`.
        mutating func visit(
            _ entity: MIMEEntity, path: [Int], boundaries: [[UInt8]], isRoot: Bool, transform: (TextPart) -> [UInt8]?
        ) {
            if let multipart = entity.multipart {
                // Signed or encrypted content must stay exactly as it is.
                let subtype = entity.contentType.subtype
                guard subtype != "signed" && subtype != "encrypted" else { return }
                for (i, child) in multipart.parts.enumerated() {
                    visit(child, path: path + [i], boundaries: boundaries + [multipart.boundary], isRoot: false,
                          transform: transform)
                }
                return
            }
            let type = entity.contentType
            guard type.type == "text", entity.isInline else { return }
            let subtype: TextPart.Subtype
            switch type.subtype {
            case "html": subtype = .html
            case "plain": subtype = .plain
            default: return
            }
            guard entity.hasBody else {
                failures.append(PartFailure(path: path, reason: .missingBody))
                return
            }
            rewrite(entity, subtype: subtype, path: path, boundaries: boundaries, isRoot: isRoot, transform: transform)
        }

        private mutating func rewrite(
            _ entity: MIMEEntity, subtype: TextPart.Subtype, path: [Int], boundaries: [[UInt8]], isRoot: Bool,
            transform: (TextPart) -> [UInt8]?
        ) {
            let encoded = body[entity.bodyRange]
            let decoded: [UInt8]
            switch entity.transferEncoding {
            case .sevenBit, .eightBit, .binary:
                decoded = Array(encoded)
            case .quotedPrintable:
                guard let d = QuotedPrintable.decode(encoded) else {
                    failures.append(PartFailure(path: path, reason: .brokenQuotedPrintable))
                    return
                }
                decoded = d
            case .base64:
                guard let d = Base64Transfer.decode(encoded) else {
                    failures.append(PartFailure(path: path, reason: .brokenBase64))
                    return
                }
                decoded = d
            case .unknown(let name):
                failures.append(PartFailure(path: path, reason: .unsupportedTransferEncoding(name)))
                return
            }
            let bodyEnding = LineEnding.detect(in: body, range: entity.bodyRange)
                ?? LineEnding.detect(in: entity.header.bytes, range: entity.header.range)
                ?? .crlf
            let part = TextPart(subtype: subtype, contentType: entity.contentType,
                                transferEncoding: entity.transferEncoding, path: path, index: textParts,
                                lineEnding: LineEnding.detect(in: decoded) ?? bodyEnding, content: decoded)
            textParts += 1
            guard let replacement = transform(part) else { return }

            var newBody: [UInt8]
            var becomesQuotedPrintable = false
            switch entity.transferEncoding {
            case .quotedPrintable:
                newBody = QuotedPrintable.encode(replacement, lineEnding: bodyEnding)
            case .base64:
                newBody = Base64Transfer.encode(replacement, lineEnding: bodyEnding)
                newBody += encoded[Self.trailingWhitespaceStart(encoded)...]
            default:
                if Self.longestLine(replacement) > maximumLineLength {
                    newBody = QuotedPrintable.encode(replacement, lineEnding: bodyEnding)
                    becomesQuotedPrintable = true
                } else {
                    newBody = replacement
                }
            }
            if MIMEParser.holdsDelimiterLine(newBody, boundaries: boundaries) {
                newBody = QuotedPrintable.encode(replacement, lineEnding: bodyEnding, escapingLineStartHyphens: true)
                becomesQuotedPrintable = entity.transferEncoding != .quotedPrintable
            }
            splicer.replace(entity.bodyRange, with: newBody)
            rewritten += 1
            guard becomesQuotedPrintable else { return }
            let edit = HeaderEdit.set(name: "Content-Transfer-Encoding", value: TransferEncoding.quotedPrintable.name)
            if isRoot {
                headerEdits.append(edit)
            } else {
                splicer.replace(entity.header.range, with: entity.header.applying([edit]).bytes)
            }
        }

        /// Where the run of whitespace that ends `bytes` starts (kept verbatim after a
        /// re-encoded base64 body, so the layout before the next boundary is unchanged).
        private static func trailingWhitespaceStart(_ bytes: ArraySlice<UInt8>) -> Int {
            var i = bytes.endIndex
            while i > bytes.startIndex && ASCII.isSpace(bytes[i - 1]) { i -= 1 }
            return i
        }

        /// The length in octets of the longest line of `bytes`, line breaks excluded.
        private static func longestLine(_ bytes: [UInt8]) -> Int {
            bytes.withUnsafeBufferPointer { buf in
                var longest = 0
                var lineStart = 0
                for i in 0..<buf.count where buf[i] == ASCII.lf {
                    let end = i > lineStart && buf[i - 1] == ASCII.cr ? i - 1 : i
                    longest = max(longest, end - lineStart)
                    lineStart = i + 1
                }
                return max(longest, buf.count - lineStart)
            }
        }
    }
}
