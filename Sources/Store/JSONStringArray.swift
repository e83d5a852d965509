/// Compact JSON text for an array of strings, exactly as `JSONEncoder` with
/// `.withoutEscapingSlashes` writes a `[String]` (`["a@x.test","b\"q@y.test"]`), for the
/// list-valued enrichment fields.
///
/// Written by hand because a `JSONEncoder` per record cost the milter a few percent of its
/// work per message. Escapes what JSON requires and nothing more: `"` and `\`, control
/// characters (`\b \t \n \f \r` in short form, the others as `\u00xx`); everything else,
/// non-ASCII included, is copied as UTF-8.
enum JSONStringArray {
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
}
