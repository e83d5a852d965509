import PropertyBased
import Testing
@testable import Rewrite

@Suite struct Base64URLTests {
    /// RFC 4648 §10 vectors, without padding.
    @Test(arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"),
        ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648Vectors(plain: String, encoded: String) throws {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(try Base64URL.decode(encoded) == Array(plain.utf8))
    }

    @Test func urlSafeAlphabet() throws {
        // Standard base64 would be "+/8=" and "/+A=".
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.encode([0xFF, 0xE0]) == "_-A")
        #expect(try Base64URL.decode("-_8") == [0xFB, 0xFF])
        #expect(Base64URL.encodeBytes([0xFB, 0xFF]) == Array("-_8".utf8))
    }

    @Test func encodedLength() {
        #expect((0...7).map(Base64URL.encodedLength(of:)) == [0, 2, 3, 4, 6, 7, 8, 10])
    }

    @Test func roundTripsEveryLengthAndByte() throws {
        var rng = SeededGenerator(seed: 7)
        for length in 0...200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = Base64URL.encode(bytes)
            #expect(text.utf8.count == Base64URL.encodedLength(of: length))
            #expect(try Base64URL.decode(text) == bytes)
        }
        let all = Array(0...255).map(UInt8.init)
        #expect(try Base64URL.decode(Base64URL.encode(all)) == all)
    }

    @Test func decodesSubstringsAndNonContiguousText() throws {
        let text = "xxZm9vYmFyxx"
        let inner = text.dropFirst(2).dropLast(2)
        #expect(try Base64URL.decode(inner) == Array("foobar".utf8))
    }

    @Test func rejectsPadding() {
        #expect(throws: Base64URL.DecodingError.padded) { try Base64URL.decode("Zg==") }
        #expect(throws: Base64URL.DecodingError.padded) { try Base64URL.decode("Zm9v=") }
        #expect(throws: Base64URL.DecodingError.padded) { try Base64URL.decode("Zm=9v") }
    }

    @Test(arguments: ["Zm9v+A", "Zm9v/A", "Zm9v.A", "Zm 9v", "Zm9v\n", "Zm9vé", "Zm\u{0}9"])
    func rejectsCharactersOutsideTheAlphabet(text: String) {
        #expect(throws: Base64URL.DecodingError.badAlphabet) { try Base64URL.decode(text) }
    }

    @Test func rejectsImpossibleLength() {
        #expect(throws: Base64URL.DecodingError.badLength) { try Base64URL.decode("Z") }
        #expect(throws: Base64URL.DecodingError.badLength) { try Base64URL.decode("Zm9vY") }
        // A bad character is reported before the length.
        #expect(throws: Base64URL.DecodingError.badAlphabet) { try Base64URL.decode("Zm9v+") }
    }

    @Test func rejectsNonZeroUnusedBits() {
        // "f" is "Zg"; "Zh".."Zv" carry the same byte with junk in the 4 unused bits.
        #expect(throws: Base64URL.DecodingError.nonCanonical) { try Base64URL.decode("Zh") }
        #expect(throws: Base64URL.DecodingError.nonCanonical) { try Base64URL.decode("Zv") }
        // "fo" is "Zm8"; "Zm9" has 2 unused bits set to 01.
        #expect(throws: Base64URL.DecodingError.nonCanonical) { try Base64URL.decode("Zm9") }
    }

    @Test func lenientAcceptsEitherAlphabetAndPadding() throws {
        #expect(try Base64URL.decodeLenient("+/8=") == [0xFB, 0xFF])
        #expect(try Base64URL.decodeLenient("-_8") == [0xFB, 0xFF])
        #expect(try Base64URL.decodeLenient("Zg==") == Array("f".utf8))
        #expect(try Base64URL.decodeLenient("Zm9vYmFy") == Array("foobar".utf8))
        #expect(throws: Base64URL.DecodingError.badLength) { try Base64URL.decodeLenient("Zg=") }
        #expect(throws: Base64URL.DecodingError.badLength) { try Base64URL.decodeLenient("Zg===") }
        #expect(throws: Base64URL.DecodingError.padded) { try Base64URL.decodeLenient("Zm9v=A==") }
        #expect(throws: Base64URL.DecodingError.padded) { try Base64URL.decodeLenient("Z=g=") }
        #expect(throws: Base64URL.DecodingError.badAlphabet) { try Base64URL.decodeLenient("Zm9v!A") }
    }

    /// The decoder one character at a time, as a reference for the table-driven one.
    static func referenceDecode(_ text: [UInt8], lenient: Bool) -> Result<[UInt8], Base64URL.DecodingError> {
        var accumulator: UInt32 = 0
        var bits = 0
        var out: [UInt8] = []
        for c in text {
            guard let v = Base64URL.value(c, lenient: lenient) else { return .failure(.badAlphabet) }
            accumulator = accumulator << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        if !lenient, accumulator != 0 { return .failure(.nonCanonical) }
        return .success(out)
    }

    @Test func agreesWithACharacterAtATimeDecoder() async {
        let text = Gen<UInt8?>.element(of: Array("AZaz09-_+/gh".utf8) + [0x20, 0x00, 0xC3]).array(of: 0...23).map { $0.compactMap { $0 } }
        await propertyCheck(count: 3000, input: zip(text, Gen<Bool>.bool)) { text, lenient in
            guard text.count % 4 != 1, !text.contains(UInt8(ascii: "=")) else { return }  // length and padding are checked first
            let decoded = text.withUnsafeBytes { bytes in
                Result { () throws(Base64URL.DecodingError) in try Base64URL.decode(bytes, lenient: lenient) }
            }
            #expect(decoded == Self.referenceDecode(text, lenient: lenient), "\(String(decoding: text, as: UTF8.self))")
        }
    }
}
