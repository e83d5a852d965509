/// Builds the `MIMEEntity` tree of a message without copying or re-serializing anything.
///
/// Multiparts are split at their boundary at any depth. Delimiter lines are recognised
/// with or without transport padding (trailing spaces/tabs), with CRLF or bare LF, and
/// only when `--boundary` is followed by `--`, whitespace or the line break, so a boundary
/// that is a prefix of a nested one does not match. A missing close delimiter lets the
/// last part run to the end. Leaves, never descended into: every non-multipart, including
/// `message/rfc822` (an attached message stays opaque), a multipart without a usable
/// `boundary` parameter or whose boundary never occurs, and multiparts nested deeper than
/// `maximumDepth`.
public struct MIMEParser: Sendable {
    /// Nesting depth beyond which multiparts are left as opaque leaves (a guard against
    /// hostile input; real mail nests a handful of levels).
    public var maximumDepth: Int

    public init(maximumDepth: Int = 32) {
        self.maximumDepth = maximumDepth
    }

    /// Parses a message whose header section and body are held separately (as in the
    /// milter). Body ranges in the tree point into `body`.
    public func parse(header: HeaderBlock, body: [UInt8]) -> MIMEEntity {
        entity(header: header, buffer: body, bodyRange: body.indices, hasBody: true,
               defaultType: .textPlain, depth: 0)
    }

    /// Parses a whole message held in one buffer; every range points into `message`.
    public func parse(message: [UInt8]) -> MIMEEntity {
        let header = HeaderBlock(parsing: message)
        return entity(header: header, buffer: message, bodyRange: header.bodyStart..<message.count,
                      hasBody: true, defaultType: .textPlain, depth: 0)
    }

    // MARK: - Entities

    private func entity(
        header: HeaderBlock, buffer: [UInt8], bodyRange: Range<Int>, hasBody: Bool,
        defaultType: ContentType, depth: Int
    ) -> MIMEEntity {
        let type = ContentType.of(header, default: defaultType)
        var multipart: Multipart? = nil
        if type.isMultipart, depth < maximumDepth, let boundary = type.boundary {
            multipart = split(buffer, bodyRange, boundary: boundary,
                              childDefault: type.subtype == "digest" ? .messageRFC822 : .textPlain,
                              depth: depth + 1)
        }
        return MIMEEntity(header: header, bodyRange: bodyRange, hasBody: hasBody, contentType: type,
                          transferEncoding: TransferEncoding.of(header),
                          disposition: ContentDisposition.of(header), multipart: multipart)
    }

    /// A part: header section, then (after an empty line) its body.
    private func part(_ buffer: [UInt8], _ range: Range<Int>, defaultType: ContentType, depth: Int) -> MIMEEntity {
        let header = HeaderBlock(parsing: buffer, in: range)
        let hasBody = header.bodyStart > header.range.upperBound
        return entity(header: header, buffer: buffer, bodyRange: header.bodyStart..<range.upperBound,
                      hasBody: hasBody, defaultType: defaultType, depth: depth)
    }

    // MARK: - Multipart bodies

    /// One delimiter line found in the body.
    private struct Delimiter {
        /// `--boundary` starts here (at a line start).
        var lineStart: Int
        /// After the line's own line break (or the end of the body).
        var end: Int
        var isClose: Bool
    }

    /// Splits `buffer[range]` at `boundary`; nil when no delimiter line occurs.
    private func split(
        _ buffer: [UInt8], _ range: Range<Int>, boundary: [UInt8], childDefault: ContentType, depth: Int
    ) -> Multipart? {
        var found: [Delimiter] = []
        buffer.withUnsafeBufferPointer { buf in
            boundary.withUnsafeBufferPointer { bnd in
                var lineStart = range.lowerBound
                while lineStart < range.upperBound {
                    let lf = buf.firstIndex(of: ASCII.lf, from: lineStart, to: range.upperBound) ?? range.upperBound
                    let next = lf < range.upperBound ? lf + 1 : lf
                    if let isClose = Self.delimiter(buf, lineStart, lf, bnd) {
                        found.append(Delimiter(lineStart: lineStart, end: next, isClose: isClose))
                        if isClose { break }
                    }
                    lineStart = next
                }
            }
        }
        guard let first = found.first else { return nil }

        // The line break before a delimiter belongs to it, unless it is also the end of
        // the previous delimiter line (an empty part) or the start of the body.
        func leadingBreakStart(_ lineStart: Int, notBefore floor: Int) -> Int {
            guard lineStart > floor, buffer[lineStart - 1] == ASCII.lf else { return lineStart }
            if lineStart - 2 >= floor && buffer[lineStart - 2] == ASCII.cr { return lineStart - 2 }
            return lineStart - 1
        }

        let firstStart = leadingBreakStart(first.lineStart, notBefore: range.lowerBound)
        let preamble = range.lowerBound..<firstStart
        var delimiters: [Range<Int>] = []
        var parts: [MIMEEntity] = []
        var closeDelimiter: Range<Int>? = nil
        var epilogue = range.upperBound..<range.upperBound
        if first.isClose {
            // A close delimiter before any other: no parts at all.
            closeDelimiter = firstStart..<first.end
            epilogue = first.end..<range.upperBound
        } else {
            delimiters.append(firstStart..<first.end)
            var contentStart = first.end
            // The scan stops at the close delimiter, so it can only be the last one found.
            for d in found.dropFirst() {
                let start = leadingBreakStart(d.lineStart, notBefore: contentStart)
                parts.append(part(buffer, contentStart..<start, defaultType: childDefault, depth: depth))
                if d.isClose {
                    closeDelimiter = start..<d.end
                    epilogue = d.end..<range.upperBound
                } else {
                    delimiters.append(start..<d.end)
                    contentStart = d.end
                }
            }
            if closeDelimiter == nil {
                // No close delimiter: the last part runs to the end.
                parts.append(part(buffer, contentStart..<range.upperBound, defaultType: childDefault, depth: depth))
            }
        }
        return Multipart(boundary: boundary, preamble: preamble, delimiters: delimiters, parts: parts,
                         closeDelimiter: closeDelimiter, epilogue: epilogue)
    }

    /// Whether a line of `bytes`, spliced in as the body of a part, would be read as a
    /// delimiter of one of `boundaries` (those of the multiparts enclosing the part): such
    /// a body would split its multipart there and change the tree.
    static func holdsDelimiterLine(_ bytes: [UInt8], boundaries: [[UInt8]]) -> Bool {
        guard !boundaries.isEmpty else { return false }
        return bytes.withUnsafeBufferPointer { buf in
            var lineStart = 0
            while lineStart < buf.count {
                let lf = buf.firstIndex(of: ASCII.lf, from: lineStart, to: buf.count) ?? buf.count
                if buf[lineStart] == ASCII.hyphen {
                    for boundary in boundaries
                    where boundary.withUnsafeBufferPointer({ delimiter(buf, lineStart, lf, $0) }) != nil {
                        return true
                    }
                }
                lineStart = lf + 1
            }
            return false
        }
    }

    /// Whether `buf[start..<lf]` (a line, `lf` at its LF or the end) is a delimiter line:
    /// nil if not, else whether it closes the multipart.
    private static func delimiter(
        _ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ lf: Int, _ boundary: UnsafeBufferPointer<UInt8>
    ) -> Bool? {
        let length = 2 + boundary.count
        guard lf - start >= length, buf[start] == ASCII.hyphen, buf[start + 1] == ASCII.hyphen else { return nil }
        for k in 0..<boundary.count where buf[start + 2 + k] != boundary[k] { return nil }
        var i = start + length
        var isClose = false
        if i + 2 <= lf, buf[i] == ASCII.hyphen, buf[i + 1] == ASCII.hyphen {
            isClose = true
            i += 2
        }
        while i < lf {
            let b = buf[i]
            // Transport padding; a CR is allowed only as the last octet (CRLF).
            guard b == ASCII.space || b == ASCII.tab || (b == ASCII.cr && i == lf - 1) else { return nil }
            i += 1
        }
        return isClose
    }
}
