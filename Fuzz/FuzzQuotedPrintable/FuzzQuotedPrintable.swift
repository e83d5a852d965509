import FuzzSupport
import Rewrite

/// `QuotedPrintable` on arbitrary bytes. The first byte picks the line ending (bit 0) and
/// whether hyphens starting a line are escaped (bit 1), the rest is the data. Invariants:
/// - `decode(encode(x)) == x`, for both line endings;
/// - encoded lines are at most 76 octets, hold only printable ASCII, space, tab and the
///   chosen line break, and never end in a space or tab; with hyphens escaped, no line
///   starts with `-`;
/// - decoding arbitrary bytes never crashes; what it accepts decodes to at most as many
///   octets, and re-encodes to something that decodes back to it;
/// - decoding or encoding a slice of a larger buffer gives what decoding a copy gives.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = input.first else { return 0 }
    let ending: LineEnding = first & 1 == 0 ? .crlf : .lf
    let escapingHyphens = first & 2 != 0
    let x = Array(input.dropFirst())

    let encoded = QuotedPrintable.encode(x, lineEnding: ending, escapingLineStartHyphens: escapingHyphens)
    require(QuotedPrintable.decode(encoded) == x, "decode(encode(x)) != x; encoded:\n" + describe(encoded))
    require(Lines.longest(encoded) <= QuotedPrintable.maximumLineLength, "encoded line over 76:\n" + describe(encoded))
    require(Lines.breaksAreOnly(ending, in: encoded), "encoded line breaks are not all \(ending)")
    require(encoded.allSatisfy { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20...0x7E).contains($0) },
            "encoded output holds a byte outside printable ASCII")
    for (i, b) in encoded.enumerated() where b == 0x20 || b == 0x09 {
        let next = i + 1 < encoded.count ? encoded[i + 1] : 0x0A
        require(next != 0x0A && next != 0x0D, "encoded line ends in whitespace at \(i)")
    }
    if escapingHyphens {
        for (i, b) in encoded.enumerated() where b == 0x2D {
            require(i > 0 && encoded[i - 1] != 0x0A, "encoded line starts with a hyphen at \(i)")
        }
    }
    // The same data inside a larger buffer (slices keep their parent's indices).
    let framed = [0x3D, 0x0A] + input + [0x3D]
    let inner = framed[2..<(framed.count - 1)].dropFirst()
    require(QuotedPrintable.encode(inner, lineEnding: ending, escapingLineStartHyphens: escapingHyphens) == encoded,
            "encoding a slice differs")

    let decoded = QuotedPrintable.decode(x)
    require(QuotedPrintable.decode(inner) == decoded, "decoding a slice differs")
    if let decoded {
        require(decoded.count <= x.count, "decoding grew \(x.count) octets to \(decoded.count)")
        require(QuotedPrintable.decode(QuotedPrintable.encode(decoded, lineEnding: ending)) == decoded,
                "decoded junk does not survive re-encoding")
    }
    return 0
}

@main
enum FuzzQuotedPrintableMain {
    static func main() { FuzzerMain.run { data, size in fuzz(data!, size) } }
}
