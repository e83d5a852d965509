import Rewrite

/// JSON text for an array of strings, the form of the list-valued enrichment fields
/// (`recipients`, `tags`): written by the milter, read by the tracker for every message an
/// event belongs to.
///
/// Written by hand because a `JSONEncoder` per record cost the milter a few percent of its
/// work per message, and a `JSONDecoder` per list cost the tracker's event writer about 2 µs
/// (14 % of its time, with each message's lists read once per five events). Tests and a fuzz
/// target hold both directions to Foundation's results.
enum JSONStringArray {
    /// Compact JSON exactly as `JSONEncoder` with `.withoutEscapingSlashes` writes a
    /// `[String]` (`["a@x.test","b\"q@y.test"]`). Escapes what JSON requires and nothing
    /// more: `"` and `\`, control characters (`\b \t \n \f \r` in short form, the others as
    /// `\u00xx`); everything else, non-ASCII included, is copied as UTF-8.
    static func encode(_ values: [String]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(2 + values.reduce(0) { $0 + $1.utf8.count + 3 })
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    out += [UInt8(ascii: "\\"), byte]
                case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
                case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
                case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case 0x00..<0x20:
                    out += Array("\\u00".utf8)
                    out += [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
                default:
                    out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The strings of a JSON array of strings in UTF-8, as `JSONDecoder` reads a `[String]`:
    /// a leading byte-order mark, any whitespace between tokens, every JSON escape (surrogate
    /// pairs joined), a comma after the last string (JSONDecoder's one leniency here). Nil
    /// where `JSONDecoder` throws: another JSON value, a bare control character, invalid
    /// UTF-8, a lone surrogate, text after the array.
    ///
    /// One difference, by choice: `JSONDecoder` also guesses UTF-16 and UTF-32 (from a
    /// byte-order mark or NUL bytes at the start), which this refuses. RFC 8259 §8.1 makes
    /// UTF-8 JSON's only encoding between systems, and the milter writes nothing else.
    static func decode(_ bytes: [UInt8]) -> [String]? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(bytes: buffer)
            if buffer.starts(with: byteOrderMark) { reader.position = byteOrderMark.count }
            return reader.array()
        }
    }

    /// UTF-8's byte-order mark, which RFC 8259 lets a reader ignore and `JSONDecoder` does.
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// A cursor over the JSON text; every method returns nil at the first byte that does not fit.
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func array() -> [String]? {
            skipWhitespace()
            guard take(UInt8(ascii: "[")) else { return nil }
            var values: [String] = []
            skipWhitespace()
            while !take(UInt8(ascii: "]")) {
                guard let value = string() else { return nil }
                values.append(value)
                skipWhitespace()
                if take(UInt8(ascii: ",")) {
                    skipWhitespace()  // then the next string, or `]` (JSONDecoder allows a trailing comma)
                } else {
                    guard take(UInt8(ascii: "]")) else { return nil }
                    break
                }
            }
            skipWhitespace()
            return position == bytes.count ? values : nil
        }

        /// A string token; unescaped runs are copied in one piece, and a string without
        /// escapes is made from the text directly.
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            var utf8: [UInt8] = []
            var runStart = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let run = UnsafeBufferPointer(rebasing: bytes[runStart..<position])
                    position += 1
                    // Without escapes (nothing gathered yet), straight from the text.
                    if utf8.isEmpty { return String(validating: run, as: UTF8.self) }
                    utf8.append(contentsOf: run)
                    return String(validating: utf8, as: UTF8.self)
                }
                if byte < 0x20 { return nil }
                guard byte == UInt8(ascii: "\\") else {
                    position += 1
                    continue
                }
                utf8.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                position += 1
                guard escape(into: &utf8) else { return nil }
                runStart = position
            }
            return nil  // no closing quote
        }

        /// The escape after a backslash, appended as UTF-8.
        mutating func escape(into utf8: inout [UInt8]) -> Bool {
            guard position < bytes.count else { return false }
            let letter = bytes[position]
            position += 1
            switch letter {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(letter)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                guard let unit = hexUnit() else { return false }
                var value = UInt32(unit)
                if (0xD800...0xDBFF).contains(unit) {
                    guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hexUnit(),
                          (0xDC00...0xDFFF).contains(low) else { return false }
                    value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(value) else { return false }  // a lone low surrogate
                utf8.append(contentsOf: UTF8.encode(scalar)!)
            default:
                return false
            }
            return true
        }

        /// Four hex digits.
        mutating func hexUnit() -> UInt16? {
            guard bytes.count - position >= 4 else { return nil }
            var unit: UInt16 = 0
            for _ in 0..<4 {
                guard let digit = ASCII.hexValue(bytes[position]) else { return nil }
                unit = unit << 4 | UInt16(digit)
                position += 1
            }
            return unit
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): position += 1
                default: return
                }
            }
        }
    }
}
