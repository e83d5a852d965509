/// The quoted-printable content-transfer-encoding (RFC 2045 section 6.7), on raw octets.
///
/// Decoding is tolerant where the intent is unambiguous and refuses (returns nil) where it
/// is not, so that the caller leaves such a part byte-identical rather than guessing:
/// - accepted: lower-case hex digits; trailing spaces and tabs on any line (stripped, as
///   RFC 2045 rule 3 requires), also after a soft-break `=`; a soft break on the very last
///   line (`=` at the end of the data); lines longer than 76 octets; unencoded octets that
///   should have been encoded (8-bit, controls) are kept as they are; a CR that does not
///   start a line break is kept as a literal octet.
/// - refused: `=` not followed by two hex digits on the same line (for example
///   `href="x"`, which shows the body was never encoded at all, or an escape split by a
///   soft break). RFC 2045 allows keeping such an `=` literally, but then re-encoding would
///   silently change what the recipient sees.
///
/// Hard line breaks are kept exactly as they appear (CRLF or bare LF), so the decoded text
/// carries the part's own line endings.
public enum QuotedPrintable {
    /// The longest encoded line, soft-break `=` included (RFC 2045).
    public static let maximumLineLength = 76

    /// Decodes a quoted-printable body; nil when it is broken (see the type's rules).
    public static func decode(_ encoded: [UInt8]) -> [UInt8]? {
        decode(encoded[...])
    }

    /// Decodes a quoted-printable body held in a slice of a larger buffer.
    public static func decode(_ encoded: ArraySlice<UInt8>) -> [UInt8]? {
        var broken = false
        let decoded = encoded.withUnsafeBufferPointer { src -> [UInt8] in
            [UInt8](unsafeUninitializedCapacity: src.count) { out, written in
                written = decodeLines(src, into: out, broken: &broken)
            }
        }
        return broken ? nil : decoded
    }

    /// Encodes `bytes` as quoted-printable with lines of at most 76 octets.
    ///
    /// Every occurrence of `lineEnding` in `bytes` becomes a hard line break; any other CR
    /// or LF is escaped (`=0D`, `=0A`), as RFC 2045 requires for line-break octets that are
    /// not part of a line break, so `decode(encode(x, e)) == x` for every `x` and `e`.
    /// `=`, octets outside printable ASCII and a space or tab that ends a line are escaped;
    /// an escape is never split across a soft break. The line-splitting follows Python's
    /// `email.quoprimime.body_encode`, so bodies produced by Python's `email` package are
    /// reproduced byte for byte. No line ending is added after the last line: a trailing
    /// line break in `bytes` is a hard break like any other.
    ///
    /// With `escapingLineStartHyphens`, a `-` that would begin an encoded line (after a hard
    /// or a soft break) is written `=2D`, the lines still within 76 octets: no line then
    /// starts with `--`, so none can be taken for a MIME boundary delimiter. The rewriter
    /// asks for it only when the plain encoding would produce such a line.
    public static func encode(_ bytes: [UInt8], lineEnding: LineEnding, escapingLineStartHyphens: Bool = false) -> [UInt8] {
        encode(bytes[...], lineEnding: lineEnding, escapingLineStartHyphens: escapingLineStartHyphens)
    }

    /// Encodes a slice of a larger buffer; see `encode(_:lineEnding:escapingLineStartHyphens:)`.
    public static func encode(_ bytes: ArraySlice<UInt8>, lineEnding: LineEnding, escapingLineStartHyphens: Bool = false) -> [UInt8] {
        // Per content octet at most 3 encoded octets, plus at most 3 octets of soft break
        // per 73 encoded octets and 5 for a line's trailing-whitespace case: 4n bounds it.
        let capacity = bytes.count * 4 + 16
        return bytes.withUnsafeBufferPointer { src in
            [UInt8](unsafeUninitializedCapacity: capacity) { out, written in
                var writer = Writer(out: out, lineEnding: lineEnding)
                encodeLines(src, lineEnding: lineEnding, escapingLineStartHyphens: escapingLineStartHyphens, into: &writer)
                written = writer.count
            }
        }
    }

    // MARK: - Decoding

    /// Decodes line by line into `out` (which has room for `src.count` octets, the most a
    /// decoding can produce); sets `broken` on an invalid escape. Returns octets written.
    private static func decodeLines(
        _ src: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>, broken: inout Bool
    ) -> Int {
        let n = src.count
        var o = 0
        var lineStart = 0
        while lineStart < n {
            let lf = src.firstIndex(of: ASCII.lf, from: lineStart, to: n) ?? n
            // The line break is LF or CRLF; content ends before it.
            var end = lf
            if lf < n && lf > lineStart && src[lf - 1] == ASCII.cr { end = lf - 1 }
            let breakStart = end
            while end > lineStart && (src[end - 1] == ASCII.space || src[end - 1] == ASCII.tab) { end -= 1 }
            var soft = false
            if end > lineStart && src[end - 1] == ASCII.equals {
                soft = true
                end -= 1
            }
            var i = lineStart
            while i < end {
                // Copy the literal run up to the next escape in one go.
                let escape = src.firstIndex(of: ASCII.equals, from: i, to: end) ?? end
                if escape > i {
                    UnsafeMutableRawPointer(out.baseAddress! + o)
                        .copyMemory(from: src.baseAddress! + i, byteCount: escape - i)
                    o += escape - i
                    i = escape
                }
                guard i < end else { break }
                guard i + 2 < end, let hi = ASCII.hexValue(src[i + 1]),
                      let lo = ASCII.hexValue(src[i + 2]) else {
                    broken = true
                    return o
                }
                out[o] = hi << 4 | lo
                o += 1
                i += 3
            }
            if !soft && lf < n {
                var j = breakStart
                while j <= lf {
                    out[o] = src[j]
                    o += 1
                    j += 1
                }
            }
            lineStart = lf + 1
        }
        return o
    }

    // MARK: - Encoding

    /// True for octets written as themselves: printable ASCII except `=`, space and tab.
    @inline(__always)
    private static func isLiteral(_ b: UInt8) -> Bool {
        (b >= 0x21 && b <= 0x7E && b != ASCII.equals) || b == ASCII.space || b == ASCII.tab
    }

    /// Encoded width of every octet: 1 for a literal, 3 for an `=XX` escape.
    private static let widths: [UInt8] = (0...255).map { isLiteral(UInt8($0)) ? 1 : 3 }

    /// Splits `src` at every `lineEnding` and encodes each line, joining them with hard breaks.
    private static func encodeLines(
        _ src: UnsafeBufferPointer<UInt8>, lineEnding: LineEnding, escapingLineStartHyphens: Bool, into w: inout Writer
    ) {
        widths.withUnsafeBufferPointer { width in
            let n = src.count
            var lineStart = 0
            while true {
                // Find the next hard break, LF (LF mode) or CR LF (CRLF mode), adding up the
                // encoded width of the line on the way.
                var scan = lineStart
                var lineEnd = n
                var nextStart = -1
                var encodedWidth = 0
                while scan < n {
                    let b = src[scan]
                    if b == ASCII.lf {
                        if lineEnding == .lf {
                            lineEnd = scan
                            nextStart = scan + 1
                            break
                        }
                        if scan > lineStart && src[scan - 1] == ASCII.cr {
                            lineEnd = scan - 1
                            nextStart = scan + 1
                            encodedWidth -= 3   // the CR belongs to the break
                            break
                        }
                    }
                    encodedWidth &+= Int(width[Int(b)])
                    scan += 1
                }
                encodeLine(src, lineStart, lineEnd, encodedWidth: encodedWidth, widths: width,
                           escapingLineStartHyphens: escapingLineStartHyphens, into: &w)
                guard nextStart >= 0 else { return }
                w.lineBreak()
                lineStart = nextStart
            }
        }
    }

    /// Encodes one line (without its line break) of `encodedWidth` encoded octets,
    /// inserting soft breaks as needed.
    ///
    /// Mirrors Python's algorithm: while 77 or more encoded octets remain, emit as many whole
    /// tokens as fit in 75 columns plus `=`; a final whitespace octet is escaped, or kept
    /// before a soft break when escaping it would not fit. With `escapingLineStartHyphens`,
    /// a `-` starting an encoded line counts (and is written) as the 3-octet `=2D`.
    private static func encodeLine(_ src: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, encodedWidth: Int,
                                   widths width: UnsafeBufferPointer<UInt8>, escapingLineStartHyphens: Bool,
                                   into w: inout Writer) {
        var remaining = encodedWidth
        var pos = start
        // Whether the octet at `pos`, starting an encoded line, is a hyphen to escape.
        func hyphenStartsLine() -> Bool {
            escapingLineStartHyphens && pos < end && src[pos] == ASCII.hyphen
        }
        var escapeFirst = hyphenStartsLine()
        if escapeFirst { remaining += 2 }
        while remaining >= maximumLineLength + 1 {
            var column = 0
            while true {
                let b = src[pos]
                let bw = column == 0 && escapeFirst ? 3 : Int(width[Int(b)])
                guard column + bw <= maximumLineLength - 1 else { break }
                if bw == 1 { w.literal(b) } else { w.escape(b) }
                column += bw
                pos += 1
            }
            w.softBreak()
            remaining -= column
            escapeFirst = hyphenStartsLine()
            if escapeFirst { remaining += 2 }
        }
        if escapeFirst {
            w.escape(src[pos])
            pos += 1
        }
        guard end > pos, src[end - 1] == ASCII.space || src[end - 1] == ASCII.tab else {
            w.tokens(src, pos, end, widths: width)
            return
        }
        let last = src[end - 1]
        w.tokens(src, pos, end - 1, widths: width)
        if remaining <= maximumLineLength - 2 {
            w.escape(last)
        } else if remaining == maximumLineLength - 1 {
            w.literal(last)
            w.softBreak()
        } else {
            w.softBreak()
            w.escape(last)
        }
    }

    /// Appends encoded octets to a preallocated buffer.
    private struct Writer {
        let out: UnsafeMutableBufferPointer<UInt8>
        let lineEnding: LineEnding
        var count = 0

        @inline(__always)
        mutating func literal(_ b: UInt8) {
            out[count] = b
            count += 1
        }

        @inline(__always)
        mutating func escape(_ b: UInt8) {
            out[count] = ASCII.equals
            out[count + 1] = Self.hexDigit(b >> 4)
            out[count + 2] = Self.hexDigit(b & 0x0F)
            count += 3
        }

        /// Writes `src[from..<to]`, each octet as a literal or an escape.
        @inline(__always)
        mutating func tokens(_ src: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, widths: UnsafeBufferPointer<UInt8>) {
            var i = from
            while i < to {
                let b = src[i]
                if widths[Int(b)] == 1 { literal(b) } else { escape(b) }
                i += 1
            }
        }

        @inline(__always)
        mutating func lineBreak() {
            if lineEnding == .crlf { literal(ASCII.cr) }
            literal(ASCII.lf)
        }

        @inline(__always)
        mutating func softBreak() {
            literal(ASCII.equals)
            lineBreak()
        }

        @inline(__always)
        static func hexDigit(_ d: UInt8) -> UInt8 { d < 10 ? 0x30 + d : 0x37 + d }
    }
}
