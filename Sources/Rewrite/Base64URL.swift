/// Base64 with the URL- and filename-safe alphabet of RFC 4648 §5 (`-` and `_`), without
/// padding: the text form of tracking tokens.
///
/// Decoding is strict (one spelling per byte string) because tokens are compared and
/// logged as text: padding, characters outside the alphabet, impossible lengths and
/// non-zero unused bits in the last character are all errors.
public enum Base64URL {
    /// Why a text is not strict unpadded base64url.
    public enum DecodingError: Error, Equatable, Sendable {
        /// The text contains `=` padding.
        case padded
        /// A character outside `A-Z a-z 0-9 - _`.
        case badAlphabet
        /// The length leaves a single character in the last group, which no byte string encodes to.
        case badLength
        /// The last character has non-zero bits beyond the encoded bytes.
        case nonCanonical
    }

    /// The number of characters that `count` bytes encode to.
    @inlinable
    public static func encodedLength(of count: Int) -> Int {
        (count * 4 + 2) / 3
    }

    /// Encodes `bytes`.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let chars = encodeBytes(bytes)
        return String(decoding: chars, as: UTF8.self)
    }

    /// Encodes `bytes` to ASCII octets (what URL builders splice into a message).
    public static func encodeBytes(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let encodeBuffer = { (source: UnsafeRawBufferPointer) -> [UInt8] in
            [UInt8](unsafeUninitializedCapacity: encodedLength(of: source.count)) { out, count in
                count = encode(source, into: UnsafeMutableRawBufferPointer(out))
            }
        }
        return bytes.withContiguousStorageIfAvailable { encodeBuffer(UnsafeRawBufferPointer($0)) }
            ?? Array(bytes).withUnsafeBytes(encodeBuffer)
    }

    /// Encodes `source` into the start of `destination`, which must hold at least
    /// `encodedLength(of: source.count)` bytes; returns the number of bytes written.
    public static func encode(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        let length = encodedLength(of: source.count)
        precondition(destination.count >= length, "Base64URL.encode: destination too small")
        var o = 0
        var i = 0
        let whole = source.count - source.count % 3
        while i < whole {
            let n = UInt32(source[i]) << 16 | UInt32(source[i + 1]) << 8 | UInt32(source[i + 2])
            destination[o] = character(n >> 18)
            destination[o + 1] = character(n >> 12)
            destination[o + 2] = character(n >> 6)
            destination[o + 3] = character(n)
            i += 3
            o += 4
        }
        switch source.count - whole {
        case 1:
            let n = UInt32(source[i]) << 16
            destination[o] = character(n >> 18)
            destination[o + 1] = character(n >> 12)
        case 2:
            let n = UInt32(source[i]) << 16 | UInt32(source[i + 1]) << 8
            destination[o] = character(n >> 18)
            destination[o + 1] = character(n >> 12)
            destination[o + 2] = character(n >> 6)
        default:
            break
        }
        return length
    }

    /// Decodes strict unpadded base64url.
    public static func decode(_ text: some StringProtocol) throws(DecodingError) -> [UInt8] {
        try decode(utf8: text.utf8, lenient: false)
    }

    /// Decodes base64 as operators paste it into configuration: either alphabet
    /// (`+/` or `-_`), with or without `=` padding. Used for key secrets, not tokens.
    public static func decodeLenient(_ text: some StringProtocol) throws(DecodingError) -> [UInt8] {
        try decode(utf8: text.utf8, lenient: true)
    }

    // MARK: - Implementation

    @inline(__always)
    static func character(_ sextet: UInt32) -> UInt8 {
        let v = UInt8(truncatingIfNeeded: sextet) & 0x3F
        switch v {
        case 0..<26: return v &+ 0x41        // A-Z
        case 26..<52: return v &+ (0x61 - 26) // a-z
        case 52..<62: return v &- (52 - 0x30) // 0-9
        case 62: return UInt8(ascii: "-")
        default: return UInt8(ascii: "_")
        }
    }

    /// The 6-bit value of a base64url character, or nil.
    @inline(__always)
    static func value(_ c: UInt8, lenient: Bool) -> UInt8? {
        switch c {
        case 0x41...0x5A: return c &- 0x41
        case 0x61...0x7A: return c &- (0x61 - 26)
        case 0x30...0x39: return c &+ (52 - 0x30)
        case UInt8(ascii: "-"): return 62
        case UInt8(ascii: "_"): return 63
        case UInt8(ascii: "+") where lenient: return 62
        case UInt8(ascii: "/") where lenient: return 63
        default: return nil
        }
    }

    static func decode(utf8: some Collection<UInt8>, lenient: Bool) throws(DecodingError) -> [UInt8] {
        let attempt = { (text: UnsafeRawBufferPointer) in
            Result { () throws(DecodingError) in try decode(text, lenient: lenient) }
        }
        let result = utf8.withContiguousStorageIfAvailable { attempt(UnsafeRawBufferPointer($0)) }
            ?? Array(utf8).withUnsafeBytes(attempt)
        return try result.get()
    }

    static func decode(_ input: UnsafeRawBufferPointer, lenient: Bool) throws(DecodingError) -> [UInt8] {
        var text = input
        if lenient {
            // Up to two trailing '=' that complete the last group.
            var end = text.count
            while end > 0, text.count - end < 2, text[end - 1] == ASCII.equals { end -= 1 }
            if end != text.count, text.count % 4 != 0 { throw .badLength }
            text = UnsafeRawBufferPointer(rebasing: text[0..<end])
        }
        if text.contains(ASCII.equals) { throw .padded }
        let remainder = text.count % 4
        if remainder == 1 {
            // Report a bad character before the length: it says more about the input.
            for c in text where value(c, lenient: lenient) == nil { throw .badAlphabet }
            throw .badLength
        }
        let outputCount = text.count / 4 * 3 + (remainder == 0 ? 0 : remainder - 1)
        let values = lenient ? lenientValues : strictValues
        return try [UInt8](unsafeUninitializedCapacity: outputCount) { out, count throws(DecodingError) in
            // Four characters make three bytes; a value with either top bit set marks a bad character.
            var i = 0
            var o = 0
            let groupsEnd = text.count - remainder
            while i < groupsEnd {
                let a = values[Int(text[i])], b = values[Int(text[i + 1])]
                let c = values[Int(text[i + 2])], d = values[Int(text[i + 3])]
                guard (a | b | c | d) & 0xC0 == 0 else { throw .badAlphabet }
                let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                out[o] = UInt8(truncatingIfNeeded: group >> 16)
                out[o + 1] = UInt8(truncatingIfNeeded: group >> 8)
                out[o + 2] = UInt8(truncatingIfNeeded: group)
                i += 4
                o += 3
            }
            if remainder > 0 {
                // Two characters make one byte, three make two; the bits left over must be zero.
                let a = values[Int(text[i])], b = values[Int(text[i + 1])]
                let c = remainder == 3 ? values[Int(text[i + 2])] : 0
                guard (a | b | c) & 0xC0 == 0 else { throw .badAlphabet }
                let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                out[o] = UInt8(truncatingIfNeeded: group >> 16)
                o += 1
                if remainder == 3 {
                    out[o] = UInt8(truncatingIfNeeded: group >> 8)
                    o += 1
                }
                let leftOver = remainder == 2 ? b & 0x0F : c & 0x03
                if !lenient, leftOver != 0 { throw .nonCanonical }
            }
            count = o
        }
    }

    /// ``value(_:lenient:)`` of every byte, 0xFF for none.
    private static let strictValues: [UInt8] = (0...255).map { value(UInt8($0), lenient: false) ?? 0xFF }
    private static let lenientValues: [UInt8] = (0...255).map { value(UInt8($0), lenient: true) ?? 0xFF }
}
