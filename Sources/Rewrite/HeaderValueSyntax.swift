/// Lexical helpers for structured MIME header values (RFC 2045 / RFC 5322): comments,
/// quoted strings, tokens and whitespace, shared by `ContentType`,
/// `ContentDisposition`, `TransferEncoding` and `MIMEParameters`.
enum HeaderValueSyntax {
    /// `value` with every comment `( ... )` (nested, with backslash escapes) replaced by a
    /// single space; quoted strings are left intact. An unclosed comment runs to the end.
    static func removingComments<C: Collection>(_ value: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        var depth = 0
        var inQuote = false
        var escaped = false
        for b in value {
            if escaped {
                escaped = false
                if depth == 0 { out.append(b) }
                continue
            }
            if depth > 0 {
                if b == ASCII.backslash { escaped = true }
                else if b == ASCII.leftParen { depth += 1 }
                else if b == ASCII.rightParen {
                    depth -= 1
                    if depth == 0 { out.append(ASCII.space) }
                }
                continue
            }
            if inQuote {
                if b == ASCII.backslash { escaped = true }
                else if b == ASCII.quote { inQuote = false }
                out.append(b)
                continue
            }
            if b == ASCII.quote { inQuote = true }
            else if b == ASCII.leftParen {
                depth = 1
                continue
            }
            out.append(b)
        }
        return out
    }

    /// `bytes[range]` without leading and trailing whitespace.
    static func trimmed(_ bytes: [UInt8], _ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound, hi = range.upperBound
        while lo < hi && ASCII.isSpace(bytes[lo]) { lo += 1 }
        while hi > lo && ASCII.isSpace(bytes[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    /// A token character (RFC 2045): printable ASCII except space and tspecials.
    static func isTokenCharacter(_ b: UInt8) -> Bool {
        guard b > ASCII.space && b < 0x7F else { return false }
        switch b {
        case ASCII.leftParen, ASCII.rightParen, ASCII.lessThan, ASCII.greaterThan, UInt8(ascii: "@"),
             ASCII.comma, ASCII.semicolon, ASCII.colon, ASCII.backslash, ASCII.quote,
             ASCII.slash, ASCII.leftBracket, ASCII.rightBracket, ASCII.question, ASCII.equals:
            return false
        default:
            return true
        }
    }

    /// `bytes` with ASCII letters lower-cased, as a string (invalid UTF-8 is replaced).
    static func lowercasedString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes.map { ASCII.lower($0) }, as: UTF8.self)
    }

    /// The index of the first `;` at or after `start` that is outside a quoted string.
    static func nextSemicolon(_ bytes: [UInt8], from start: Int) -> Int {
        var i = start
        var inQuote = false
        while i < bytes.count {
            let b = bytes[i]
            if inQuote {
                if b == ASCII.backslash { i += 1 }
                else if b == ASCII.quote { inQuote = false }
            } else if b == ASCII.quote {
                inQuote = true
            } else if b == ASCII.semicolon {
                return i
            }
            i += 1
        }
        return bytes.count
    }
}
