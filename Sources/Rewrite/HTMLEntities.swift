/// HTML character references, as they matter for URLs in attribute values.
///
/// Decoding follows the WHATWG tokenizer's rules for attribute values, so the destination
/// that gets signed is the one a browser would have followed: numeric references
/// (`&#38;`, `&#x26;`, with the Windows-1252 remapping of 0x80–0x9F), the named references
/// that browsers accept without `;` (all of Latin-1 plus `amp`, `lt`, `gt`, `quot`) and a
/// set of `;`-terminated names for ASCII punctuation and common typography. Decoded
/// characters are written as UTF-8.
public enum HTMLEntities {
    /// Decodes the character references in an attribute value.
    ///
    /// Returns nil when the value holds a `;`-terminated name this table does not know
    /// (`&notin;`): a browser might decode it, so the caller must not guess a destination.
    public static func decodeAttributeValue<C: RandomAccessCollection>(_ value: C) -> [UInt8]?
    where C.Element == UInt8, C.Index == Int {
        guard value.contains(ASCII.ampersand) else { return Array(value) }
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        let end = value.endIndex
        var i = value.startIndex
        while i < end {
            let b = value[i]
            guard b == ASCII.ampersand, i + 1 < end else {
                out.append(b)
                i += 1
                continue
            }
            if value[i + 1] == ASCII.hash {
                if let (scalar, next) = numericReference(value, from: i + 2) {
                    appendUTF8(scalar, to: &out)
                    i = next
                } else {
                    out.append(b)
                    i += 1
                }
                continue
            }
            var nameEnd = i + 1
            while nameEnd < end, isAlphanumeric(value[nameEnd]) { nameEnd += 1 }
            if nameEnd == i + 1 {
                out.append(b)
                i += 1
                continue
            }
            let name = Array(value[(i + 1)..<nameEnd])
            if nameEnd < end, value[nameEnd] == ASCII.semicolon {
                guard let scalar = legacy[name] ?? terminated[name] else { return nil }
                appendUTF8(scalar, to: &out)
                i = nameEnd + 1
            } else if let scalar = legacy[name], !(nameEnd < end && value[nameEnd] == ASCII.equals) {
                appendUTF8(scalar, to: &out)
                i = nameEnd
            } else {
                // Not a reference in an attribute (`&copy=1`, `&utm_source`): literal text.
                out.append(contentsOf: value[i..<nameEnd])
                i = nameEnd
            }
        }
        return out
    }

    /// Escapes bytes for use inside an attribute value: `&` → `&amp;`, `"` → `&quot;`,
    /// `'` → `&#39;`, so the value is safe inside either quote and decodes back unchanged.
    public static func escapeAttributeValue(_ value: [UInt8]) -> [UInt8] {
        guard value.contains(where: needsEscape) else { return value }
        var out: [UInt8] = []
        out.reserveCapacity(value.count + 16)
        for b in value {
            switch b {
            case ASCII.ampersand: out.append(contentsOf: ampEscape)
            case ASCII.quote: out.append(contentsOf: quoteEscape)
            case ASCII.apostrophe: out.append(contentsOf: apostropheEscape)
            default: out.append(b)
            }
        }
        return out
    }

    private static func needsEscape(_ b: UInt8) -> Bool {
        b == ASCII.ampersand || b == ASCII.quote || b == ASCII.apostrophe
    }

    /// Parses the digits of `&#…` starting at `start` (just after `#`). Returns the
    /// scalar value and the index after the reference, or nil when no digit follows.
    private static func numericReference<C: RandomAccessCollection>(
        _ value: C, from start: Int
    ) -> (UInt32, Int)? where C.Element == UInt8, C.Index == Int {
        let end = value.endIndex
        var i = start
        var radix: UInt32 = 10
        if i < end, value[i] | 0x20 == UInt8(ascii: "x") {
            radix = 16
            i += 1
        }
        let digitsStart = i
        var code: UInt32 = 0
        while i < end {
            let digit: UInt8
            if radix == 16 {
                guard let d = ASCII.hexValue(value[i]) else { break }
                digit = d
            } else {
                guard ASCII.isDigit(value[i]) else { break }
                digit = value[i] - 0x30
            }
            // Saturate: anything past U+10FFFF becomes U+FFFD below.
            code = min(code * radix + UInt32(digit), 0x110000)
            i += 1
        }
        guard i > digitsStart else { return nil }
        if i < end, value[i] == ASCII.semicolon { i += 1 }
        return (replacementForCodePoint(code), i)
    }

    /// The character a browser substitutes for numeric reference `code`.
    private static func replacementForCodePoint(_ code: UInt32) -> UInt32 {
        switch code {
        case 0, 0xD800...0xDFFF, 0x110000...: return 0xFFFD
        case 0x80...0x9F: return windows1252[Int(code - 0x80)] ?? code
        default: return code
        }
    }

    private static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(0xC0 | UInt8(scalar >> 6))
            out.append(0x80 | UInt8(scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(0xE0 | UInt8(scalar >> 12))
            out.append(0x80 | UInt8((scalar >> 6) & 0x3F))
            out.append(0x80 | UInt8(scalar & 0x3F))
        default:
            out.append(0xF0 | UInt8(scalar >> 18))
            out.append(0x80 | UInt8((scalar >> 12) & 0x3F))
            out.append(0x80 | UInt8((scalar >> 6) & 0x3F))
            out.append(0x80 | UInt8(scalar & 0x3F))
        }
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool { ASCII.isAlpha(b) || ASCII.isDigit(b) }

    private static let ampEscape: [UInt8] = Array("&amp;".utf8)
    private static let quoteEscape: [UInt8] = Array("&quot;".utf8)
    private static let apostropheEscape: [UInt8] = Array("&#39;".utf8)

    /// What numeric references 0x80–0x9F mean (Windows-1252); nil keeps the code point.
    private static let windows1252: [UInt32?] = [
        0x20AC, nil, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, nil, 0x017D, nil,
        nil, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, nil, 0x017E, 0x0178,
    ]

    /// Names browsers decode even without a trailing `;`: Latin-1 (U+00A0–U+00FF, in
    /// code point order) plus the markup characters in both spellings.
    private static let legacy: [[UInt8]: UInt32] = {
        let latin1 = """
            nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr \
            deg plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 \
            frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute \
            Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml \
            times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc \
            atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml \
            eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml \
            yacute thorn yuml
            """
        var table: [[UInt8]: UInt32] = [:]
        for (offset, name) in latin1.split(separator: " ").enumerated() {
            table[Array(name.utf8)] = 0xA0 + UInt32(offset)
        }
        let markup: [(String, UInt32)] = [
            ("amp", 0x26), ("AMP", 0x26), ("lt", 0x3C), ("LT", 0x3C), ("gt", 0x3E), ("GT", 0x3E),
            ("quot", 0x22), ("QUOT", 0x22), ("COPY", 0xA9), ("REG", 0xAE),
        ]
        for (name, scalar) in markup { table[Array(name.utf8)] = scalar }
        return table
    }()

    /// Names decoded only with a trailing `;`: ASCII punctuation that can appear in URLs
    /// and the typographic characters common in mail.
    private static let terminated: [[UInt8]: UInt32] = {
        let names: [(String, UInt32)] = [
            ("apos", 0x27), ("Tab", 0x09), ("NewLine", 0x0A), ("excl", 0x21), ("num", 0x23),
            ("dollar", 0x24), ("percnt", 0x25), ("lpar", 0x28), ("rpar", 0x29), ("ast", 0x2A),
            ("midast", 0x2A), ("plus", 0x2B), ("comma", 0x2C), ("period", 0x2E), ("sol", 0x2F),
            ("colon", 0x3A), ("semi", 0x3B), ("equals", 0x3D), ("quest", 0x3F), ("commat", 0x40),
            ("lsqb", 0x5B), ("lbrack", 0x5B), ("bsol", 0x5C), ("rsqb", 0x5D), ("rbrack", 0x5D),
            ("Hat", 0x5E), ("lowbar", 0x5F), ("grave", 0x60), ("lcub", 0x7B), ("lbrace", 0x7B),
            ("verbar", 0x7C), ("vert", 0x7C), ("VerticalLine", 0x7C), ("rcub", 0x7D),
            ("rbrace", 0x7D), ("ensp", 0x2002), ("emsp", 0x2003), ("thinsp", 0x2009),
            ("zwnj", 0x200C), ("zwj", 0x200D), ("ndash", 0x2013), ("mdash", 0x2014),
            ("lsquo", 0x2018), ("rsquo", 0x2019), ("sbquo", 0x201A), ("ldquo", 0x201C),
            ("rdquo", 0x201D), ("bdquo", 0x201E), ("bull", 0x2022), ("hellip", 0x2026),
            ("euro", 0x20AC), ("trade", 0x2122),
        ]
        var table: [[UInt8]: UInt32] = [:]
        for (name, scalar) in names { table[Array(name.utf8)] = scalar }
        return table
    }()
}
