/// Byte constants and ASCII helpers shared by the MIME, encoding and HTML scanners.
///
/// Everything in Rewrite works on raw octets: charsets are never decoded, so only
/// ASCII-compatible structure (tags, headers, boundaries) is interpreted.
public enum ASCII {
    public static let tab: UInt8 = 0x09
    public static let lf: UInt8 = 0x0A
    public static let cr: UInt8 = 0x0D
    public static let space: UInt8 = 0x20
    public static let quote: UInt8 = 0x22       // "
    public static let hash: UInt8 = 0x23        // #
    public static let ampersand: UInt8 = 0x26   // &
    public static let apostrophe: UInt8 = 0x27  // '
    public static let leftParen: UInt8 = 0x28
    public static let rightParen: UInt8 = 0x29
    public static let hyphen: UInt8 = 0x2D
    public static let period: UInt8 = 0x2E
    public static let slash: UInt8 = 0x2F
    public static let colon: UInt8 = 0x3A
    public static let semicolon: UInt8 = 0x3B
    public static let lessThan: UInt8 = 0x3C
    public static let equals: UInt8 = 0x3D
    public static let greaterThan: UInt8 = 0x3E
    public static let question: UInt8 = 0x3F
    public static let bang: UInt8 = 0x21
    public static let comma: UInt8 = 0x2C
    public static let backslash: UInt8 = 0x5C
    public static let leftBracket: UInt8 = 0x5B
    public static let rightBracket: UInt8 = 0x5D

    /// Lower-cases an ASCII letter; every other byte is returned unchanged.
    @inlinable
    public static func lower(_ b: UInt8) -> UInt8 {
        (b &- 0x41) < 26 ? b | 0x20 : b
    }

    /// Space, tab, CR, LF or form feed: the whitespace of HTML and MIME headers.
    @inlinable
    public static func isSpace(_ b: UInt8) -> Bool {
        b == space || b == tab || b == lf || b == cr || b == 0x0C
    }

    @inlinable
    public static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }

    @inlinable
    public static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    /// Value of a hexadecimal digit (either case), or nil.
    @inlinable
    public static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    /// True when `bytes[at...]` starts with `prefix`, comparing ASCII letters without case.
    /// `prefix` must be lower-case.
    @inlinable
    public static func hasPrefixIgnoringCase<C: RandomAccessCollection>(
        _ bytes: C, at index: C.Index, _ prefix: [UInt8]
    ) -> Bool where C.Element == UInt8 {
        guard bytes.distance(from: index, to: bytes.endIndex) >= prefix.count else { return false }
        var i = index
        for p in prefix {
            if lower(bytes[i]) != p { return false }
            i = bytes.index(after: i)
        }
        return true
    }

    /// ASCII case-insensitive equality of two byte sequences (`b` lower-case).
    @inlinable
    public static func equalsIgnoringCase<C: Collection>(_ a: C, _ b: [UInt8]) -> Bool where C.Element == UInt8 {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { lower($0) == $1 }
    }
}
