/// The base64 content-transfer-encoding (RFC 2045 section 6.8), on raw octets.
///
/// Decoding ignores whitespace anywhere (CR, LF, space, tab, any line length) and refuses
/// (returns nil) anything else that is not base64: a character outside the alphabet,
/// padding that does not complete the final quantum, data after the padding, or a final
/// quantum left incomplete without padding (a sign of truncation). Unused low bits in the
/// last quantum are ignored.
public enum Base64Transfer {
    /// Encoded characters per line (RFC 2045), line break not included.
    public static let lineLength = 76

    /// Decodes a base64 body; nil when it is not valid base64 (see the type's rules).
    public static func decode(_ encoded: [UInt8]) -> [UInt8]? {
        decode(encoded[...])
    }

    /// Decodes a base64 body held in a slice of a larger buffer.
    public static func decode(_ encoded: ArraySlice<UInt8>) -> [UInt8]? {
        var valid = true
        let decoded = decodeTable.withUnsafeBufferPointer { table in
            encoded.withUnsafeBufferPointer { src in
                [UInt8](unsafeUninitializedCapacity: src.count / 4 * 3 + 3) { out, written in
                    written = decode(src, table: table, into: out, valid: &valid)
                }
            }
        }
        return valid ? decoded : nil
    }

    /// Encodes `bytes` as base64 in lines of 76 characters separated by `lineEnding`.
    /// No line ending follows the last line; empty input gives empty output.
    public static func encode(_ bytes: [UInt8], lineEnding: LineEnding) -> [UInt8] {
        encode(bytes[...], lineEnding: lineEnding)
    }

    /// Encodes a slice of a larger buffer; see `encode(_:lineEnding:)`.
    public static func encode(_ bytes: ArraySlice<UInt8>, lineEnding: LineEnding) -> [UInt8] {
        let characters = (bytes.count + 2) / 3 * 4
        let lines = (characters + lineLength - 1) / lineLength
        let breakLength = lineEnding == .crlf ? 2 : 1
        let total = characters + max(lines - 1, 0) * breakLength
        return alphabet.withUnsafeBufferPointer { abc in
            bytes.withUnsafeBufferPointer { src in
                [UInt8](unsafeUninitializedCapacity: total) { out, written in
                    encode(src, alphabet: abc, lineEnding: lineEnding, into: out)
                    written = total
                }
            }
        }
    }

    // MARK: - Tables

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let whitespace: UInt8 = 0x40
    private static let padding: UInt8 = 0x41
    private static let invalid: UInt8 = 0xFF

    /// Maps an encoded octet to its 6-bit value, or to `whitespace`, `padding`, `invalid`.
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, char) in alphabet.enumerated() { table[Int(char)] = UInt8(value) }
        for char in [ASCII.space, ASCII.tab, ASCII.cr, ASCII.lf] { table[Int(char)] = whitespace }
        table[Int(ASCII.equals)] = padding
        return table
    }()

    // MARK: - Loops

    private static func decode(
        _ src: UnsafeBufferPointer<UInt8>, table: UnsafeBufferPointer<UInt8>,
        into out: UnsafeMutableBufferPointer<UInt8>, valid: inout Bool
    ) -> Int {
        let n = src.count
        var o = 0
        var i = 0
        var quantum: UInt32 = 0
        var held = 0  // characters of the current quantum seen so far
        while i < n {
            if held == 0 {
                // Fast path: whole quanta of four alphabet characters.
                while i + 4 <= n {
                    let a = table[Int(src[i])], b = table[Int(src[i + 1])]
                    let c = table[Int(src[i + 2])], d = table[Int(src[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 { break }
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[o] = UInt8(truncatingIfNeeded: v >> 16)
                    out[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    out[o + 2] = UInt8(truncatingIfNeeded: v)
                    o += 3
                    i += 4
                }
                if i >= n { break }
            }
            let v = table[Int(src[i])]
            i += 1
            if v < 64 {
                quantum = quantum << 6 | UInt32(v)
                held += 1
                if held == 4 {
                    out[o] = UInt8(truncatingIfNeeded: quantum >> 16)
                    out[o + 1] = UInt8(truncatingIfNeeded: quantum >> 8)
                    out[o + 2] = UInt8(truncatingIfNeeded: quantum)
                    o += 3
                    held = 0
                    quantum = 0
                }
            } else if v == whitespace {
                continue
            } else if v == padding {
                // "xx==" or "xxx=": the padding completes the quantum, then only whitespace.
                var pads = 1
                while i < n {
                    let w = table[Int(src[i])]
                    if w == padding {
                        pads += 1
                    } else if w != whitespace {
                        valid = false
                        return o
                    }
                    i += 1
                }
                switch (held, pads) {
                case (2, 2):
                    out[o] = UInt8(truncatingIfNeeded: quantum >> 4)
                    return o + 1
                case (3, 1):
                    out[o] = UInt8(truncatingIfNeeded: quantum >> 10)
                    out[o + 1] = UInt8(truncatingIfNeeded: quantum >> 2)
                    return o + 2
                default:
                    valid = false
                    return o
                }
            } else {
                valid = false
                return o
            }
        }
        if held != 0 { valid = false }
        return o
    }

    private static func encode(
        _ src: UnsafeBufferPointer<UInt8>, alphabet abc: UnsafeBufferPointer<UInt8>,
        lineEnding: LineEnding, into out: UnsafeMutableBufferPointer<UInt8>
    ) {
        let n = src.count
        let bytesPerLine = lineLength / 4 * 3
        var i = 0
        var o = 0
        while i < n {
            if i > 0 && i % bytesPerLine == 0 {
                if lineEnding == .crlf {
                    out[o] = ASCII.cr
                    o += 1
                }
                out[o] = ASCII.lf
                o += 1
            }
            let lineEnd = min(i + bytesPerLine, n)
            while i + 3 <= lineEnd {
                let v = UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
                out[o] = abc[Int(v >> 18)]
                out[o + 1] = abc[Int(v >> 12 & 0x3F)]
                out[o + 2] = abc[Int(v >> 6 & 0x3F)]
                out[o + 3] = abc[Int(v & 0x3F)]
                o += 4
                i += 3
            }
            if i < lineEnd {
                // The last one or two octets of the input.
                let b0 = UInt32(src[i])
                let b1: UInt32 = i + 1 < n ? UInt32(src[i + 1]) : 0
                let v = b0 << 16 | b1 << 8
                out[o] = abc[Int(v >> 18)]
                out[o + 1] = abc[Int(v >> 12 & 0x3F)]
                out[o + 2] = i + 1 < n ? abc[Int(v >> 6 & 0x3F)] : ASCII.equals
                out[o + 3] = ASCII.equals
                o += 4
                i = n
            }
        }
    }
}
