import FuzzSupport
import Rewrite

/// `Base64Transfer` (MIME parts) and `Base64URL` (tokens) on arbitrary bytes. The first
/// byte picks the line ending (bit 0), the rest is the data. Invariants:
/// - `decode(encode(x)) == x`; encoded lines are exactly 76 characters but the last, of
///   the base64 alphabet only, separated by the chosen line break;
/// - decoding arbitrary bytes never crashes; what it accepts re-encodes to something that
///   decodes back to it; a slice of a larger buffer decodes like a copy;
/// - base64url: `decode(encode(x)) == x`, the text has no padding and only the url-safe
///   alphabet, and whatever arbitrary text the strict decoder accepts re-encodes to
///   exactly that text (one canonical spelling).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = input.first else { return 0 }
    let ending: LineEnding = first & 1 == 0 ? .crlf : .lf
    let x = Array(input.dropFirst())

    let encoded = Base64Transfer.encode(x, lineEnding: ending)
    require(Base64Transfer.decode(encoded) == x, "decode(encode(x)) != x; encoded:\n" + describe(encoded))
    let lines = split(encoded, ending)
    require(lines.dropLast().allSatisfy { $0.count == Base64Transfer.lineLength }
                && (lines.last?.count ?? 0) <= Base64Transfer.lineLength,
            "encoded lines are not 76 characters:\n" + describe(encoded))
    require(lines.allSatisfy { $0.allSatisfy(isBase64) }, "encoded output holds a byte outside base64")
    require(encoded.count == (x.count + 2) / 3 * 4 + max(lines.count - 1, 0) * ending.bytes.count,
            "encoded length is not the computed one")

    let framed = [0x3D, 0x0A] + input + [0x3D]
    let inner = framed[2..<(framed.count - 1)].dropFirst()
    require(Base64Transfer.encode(inner, lineEnding: ending) == encoded, "encoding a slice differs")
    let decoded = Base64Transfer.decode(x)
    require(Base64Transfer.decode(inner) == decoded, "decoding a slice differs")
    if let decoded {
        require(decoded.count * 4 <= x.count * 3 + 3, "decoding \(x.count) octets gave \(decoded.count)")
        require(Base64Transfer.decode(Base64Transfer.encode(decoded, lineEnding: ending)) == decoded,
                "decoded junk does not survive re-encoding")
    }

    let url = Base64URL.encode(x)
    require(url.utf8.allSatisfy(isBase64URL), "base64url text outside its alphabet: \(url)")
    require(url.utf8.count == Base64URL.encodedLength(of: x.count), "base64url length is not encodedLength")
    require((try? Base64URL.decode(url)) == x, "base64url decode(encode(x)) != x")
    require(Base64URL.encodeBytes(x) == Array(url.utf8), "encodeBytes differs from encode")
    let text = String(decoding: x, as: UTF8.self)
    if let strict = try? Base64URL.decode(text) {
        require(Base64URL.encode(strict) == text, "strict base64url accepted a non-canonical spelling: \(text)")
    }
    if let lenient = try? Base64URL.decodeLenient(text) {
        require((try? Base64URL.decode(Base64URL.encode(lenient))) == lenient, "lenient decoding does not round-trip")
    }
    return 0
}

/// The lines of `bytes` between `ending` line breaks.
func split(_ bytes: [UInt8], _ ending: LineEnding) -> [ArraySlice<UInt8>] {
    guard !bytes.isEmpty else { return [] }
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    let breakBytes = ending.bytes
    var i = 0
    while i < bytes.count {
        if bytes[i...].starts(with: breakBytes) {
            lines.append(bytes[start..<i])
            i += breakBytes.count
            start = i
        } else {
            i += 1
        }
    }
    lines.append(bytes[start...])
    return lines
}

func isBase64(_ b: UInt8) -> Bool {
    (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || (0x30...0x39).contains(b)
        || b == 0x2B || b == 0x2F || b == 0x3D
}

func isBase64URL(_ b: UInt8) -> Bool {
    (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || (0x30...0x39).contains(b) || b == 0x2D || b == 0x5F
}

@main
enum FuzzBase64Main {
    static func main() { FuzzerMain.run { data, size in fuzz(data!, size) } }
}
