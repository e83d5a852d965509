import Testing
@testable import Rewrite

/// Every way a token can be refused, and that no single-bit corruption ever verifies.
@Suite struct TokenSecurityTests {
    let ring = TokenFixtures.ring
    let id = TokenFixtures.trackingID
    let click: UInt8 = 0x63
    let deflatedClick: UInt8 = 0x63 | 0x80
    let open: UInt8 = 0x6F

    private func seal(_ body: [UInt8], ring: KeyRing = TokenFixtures.ring, keyID: UInt8 = 1) -> String {
        TokenFixtures.seal(body, ring: ring, keyID: keyID)
    }

    private func header(_ kind: UInt8, keyID: UInt8 = 1) -> [UInt8] {
        TokenFixtures.header(kind: kind, keyID: keyID)
    }

    private func decode(_ text: String) throws(TokenError) -> VerifiedToken {
        try TrackingToken.decode(text, keyRing: ring)
    }

    private var validOpen: String { TrackingToken(kind: .open, issuedAt: 1, trackingID: id).encoded(with: ring) }

    // MARK: Spelling

    @Test func rejectsTruncatedTokens() {
        let valid = validOpen
        #expect(throws: TokenError.truncated) { try decode("") }
        #expect(throws: TokenError.truncated) { try decode("A") }                       // impossible length
        #expect(throws: TokenError.truncated) { try decode(String(valid.dropLast(3))) }  // 33 bytes
        #expect(throws: TokenError.truncated) { try decode(Base64URL.encode([1])) }
        #expect(throws: TokenError.truncated) { try decode(seal(header(click))) }        // click without link index
        #expect(throws: TokenError.truncated) { try decode(seal(header(click) + [0x80])) } // varint runs into the tag
    }

    @Test func rejectsPadding() {
        let valid = validOpen   // 35 bytes: 47 characters, standard base64 would add one '='
        #expect(throws: TokenError.padded) { try decode(valid + "=") }
        #expect(throws: TokenError.padded) { try decode(valid + "==") }
    }

    @Test(arguments: ["+", "/", ".", "%", " ", "é", "\u{0}", "~"])
    func rejectsCharactersOutsideBase64URL(character: String) {
        var valid = validOpen
        valid.replaceSubrange(valid.index(valid.startIndex, offsetBy: 10)...valid.index(valid.startIndex, offsetBy: 10), with: character)
        #expect(throws: TokenError.badAlphabet) { try decode(valid) }
    }

    @Test func rejectsNonCanonicalEnding() throws {
        let valid = validOpen   // 35 bytes: the last character has 2 unused bits
        let last = valid.utf8.last!
        let value = Base64URL.value(last, lenient: false)!
        #expect(value & 0b11 == 0)
        let tweaked = String(valid.dropLast()) + String(UnicodeScalar(Base64URL.character(UInt32(value | 1))))
        #expect(throws: TokenError.nonCanonical) { try decode(tweaked) }
    }

    @Test func rejectsOverlongText() {
        let text = String(repeating: "A", count: TrackingToken.maxTokenLength + 1)
        #expect(throws: TokenError.destinationTooLarge) { try decode(text) }
    }

    // MARK: Header

    @Test(arguments: [0, 2, 255] as [UInt8])
    func rejectsUnknownVersions(version: UInt8) {
        var body = header(open)
        body[0] = version
        #expect(throws: TokenError.unknownVersion(version)) { try decode(seal(body)) }
    }

    @Test func rejectsUnknownKeys() throws {
        let other = try KeyRing(keys: [2: TokenFixtures.sequentialSecret, 0x6F: TokenFixtures.sequentialSecret], activeKeyID: 2)
        #expect(throws: TokenError.unknownKey(2)) { try decode(seal(header(open, keyID: 2), ring: other, keyID: 2)) }
        #expect(throws: TokenError.unknownKey(0)) { try decode(seal(header(open, keyID: 0))) }
    }

    @Test(arguments: [0x00, 0x78, 0x43, 0x6F | 0x80, 0x75 ^ 0x40, 0xFF] as [UInt8])
    func rejectsBadKinds(kind: UInt8) {
        #expect(throws: TokenError.badKind) { try decode(seal(header(kind) + [0] + Array("https://x/".utf8))) }
    }

    @Test func rejectsBadTags() throws {
        var bytes = try Base64URL.decode(validOpen)
        bytes[bytes.count - 1] ^= 0x01
        #expect(throws: TokenError.badTag) { try decode(Base64URL.encode(bytes)) }
        bytes.replaceSubrange((bytes.count - 12)..., with: [UInt8](repeating: 0, count: 12))
        #expect(throws: TokenError.badTag) { try decode(Base64URL.encode(bytes)) }
        // The tag covers the header: same tag, another issue time.
        var moved = try Base64URL.decode(validOpen)
        moved[6] ^= 0x01
        #expect(throws: TokenError.badTag) { try decode(Base64URL.encode(moved)) }
    }

    // MARK: Signed but malformed payloads (only a key holder could make these)

    @Test func rejectsTrailingBytes() throws {
        #expect(throws: TokenError.trailingBytes) { try decode(seal(header(open) + [0])) }
        #expect(throws: TokenError.trailingBytes) { try decode(seal(header(open) + [3] + Array("https://x/".utf8))) }
        let stream = try #require(TrackingToken.urlCompression.deflate(Array("https://www.example.com/".utf8)))
        #expect(throws: TokenError.trailingBytes) { try decode(seal(header(deflatedClick) + [0] + stream + [0x41])) }
    }

    @Test func rejectsMalformedLinkIndexes() throws {
        let url = Array("https://x/".utf8)
        #expect(throws: TokenError.varintOverflow) { try decode(seal(header(click) + [0x80, 0x80, 0x80, 0x80, 0x10] + url)) }
        #expect(throws: TokenError.varintOverflow) { try decode(seal(header(click) + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] + url)) }
        #expect(throws: TokenError.varintOverflow) { try decode(seal(header(click) + [0x80, 0x00] + url)) }   // over-long 0
        #expect(throws: TokenError.varintOverflow) { try decode(seal(header(click) + [0x81, 0x80, 0x00] + url)) }
        // The largest and the multi-byte forms are fine.
        #expect(try decode(seal(header(click) + [0xFF, 0xFF, 0xFF, 0xFF, 0x0F] + url)).token.linkIndex == .max)
        #expect(try decode(seal(header(click) + [0xAC, 0x02] + url)).token.linkIndex == 300)
    }

    @Test func rejectsCorruptDeflate() {
        #expect(throws: TokenError.inflateFailed) { try decode(seal(header(deflatedClick) + [0] + [0xFF, 0xFF])) }
        // A stream cut short.
        let stream = TrackingToken.urlCompression.deflate(Array("https://www.example.com/products".utf8))!
        #expect(throws: TokenError.inflateFailed) { try decode(seal(header(deflatedClick) + [0] + stream.dropLast())) }
    }

    @Test func rejectsDeflateBombAndOversizedDestinations() throws {
        let bomb = try #require(TrackingToken.urlCompression.deflate([UInt8](repeating: 0x61, count: 1 << 20)))
        #expect(bomb.count < 2000)
        #expect(throws: TokenError.destinationTooLarge) { try decode(seal(header(deflatedClick) + [0] + bomb)) }
        let justOver = try #require(TrackingToken.urlCompression.deflate(
            [UInt8](repeating: 0x61, count: TrackingToken.maxDestinationLength + 1)))
        #expect(throws: TokenError.destinationTooLarge) { try decode(seal(header(deflatedClick) + [0] + justOver)) }
        let raw = [UInt8](repeating: 0x61, count: TrackingToken.maxDestinationLength + 1)
        #expect(throws: TokenError.destinationTooLarge) { try decode(seal(header(click) + [0] + raw)) }
    }

    @Test func rejectsMissingDestinations() {
        #expect(throws: TokenError.missingDestination) { try decode(seal(header(click) + [5])) }
        #expect(throws: TokenError.missingDestination) { try decode(seal(header(0x75) + [5])) }
        // A valid deflate stream of nothing.
        #expect(throws: TokenError.missingDestination) { try decode(seal(header(deflatedClick) + [5, 0x03, 0x00])) }
    }

    @Test func errorsDescribeThemselves() {
        #expect(TokenError.unknownKey(4).description == "token is signed with key k4, which is not in the key ring")
        #expect(TokenError.unknownVersion(9).description == "unknown token version 9")
        #expect(TokenError.badTag.description == "signature does not verify")
        #expect(TokenError.destinationTooLarge.description == "destination exceeds 65536 bytes")
    }

    // MARK: Bit flips

    /// Tokens of every kind, with link indexes of 1 to 5 varint bytes and destinations that
    /// are stored raw or deflated.
    private func variedTokens(count: Int, seed: UInt64) -> [TrackingToken] {
        var rng = SeededGenerator(seed: seed)
        let words = ["https://", "www.", "example.com/", "?utm_source=newsletter", "&utm_medium=email", "&id=", "a", "Z9", "/", "%2F"]
        return (0..<count).map { i in
            let kind = TokenKind.allCases[i % 3]
            let idBytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let issuedAt = UInt32.random(in: 0...UInt32.max, using: &rng)
            guard kind != .open else { return TrackingToken(kind: .open, issuedAt: issuedAt, trackingID: TrackingID(bytes: idBytes)) }
            let linkIndex = UInt32.random(in: 0...UInt32.max, using: &rng) >> (UInt32(i / 3 % 5) * 7 + UInt32(i % 4))
            var destination: [UInt8] = []
            let target = Int.random(in: 1...120, using: &rng)
            if i % 2 == 0 {
                while destination.count < target { destination += Array(words.randomElement(using: &rng)!.utf8) }
            } else {
                destination = (0..<target).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            return TrackingToken(kind: kind, issuedAt: issuedAt, trackingID: TrackingID(bytes: idBytes),
                                 linkIndex: linkIndex, destination: destination)
        }
    }

    @Test func flippingAnyBitOfTenThousandTokensIsRejected() throws {
        var rng = SeededGenerator(seed: 10_000)
        var deflated = 0
        var flips = 0
        for (i, token) in variedTokens(count: 10_000, seed: 1).enumerated() {
            let text = token.encoded(with: ring)
            let bytes = try Base64URL.decode(text)
            #expect(try decode(text).token == token)
            if bytes[2] & 0x80 != 0 { deflated += 1 }
            // A sweep across every bit position, plus random ones: ~100 000 corruptions.
            let bitCount = bytes.count * 8
            var positions = [i % bitCount]
            for _ in 0..<9 { positions.append(Int.random(in: 0..<bitCount, using: &rng)) }
            for bit in positions {
                var corrupt = bytes
                corrupt[bit / 8] ^= 1 << UInt8(bit % 8)
                let corruptText = Base64URL.encode(corrupt)
                #expect(throws: TokenError.self) { try decode(corruptText) }
                flips += 1
            }
        }
        #expect(flips == 100_000)
        #expect(deflated > 3000)   // both storage forms are exercised
    }

    @Test func flippingEveryBitOfSomeTokensIsRejected() throws {
        for token in variedTokens(count: 60, seed: 2) {
            let bytes = try Base64URL.decode(token.encoded(with: ring))
            for bit in 0..<(bytes.count * 8) {
                var corrupt = bytes
                corrupt[bit / 8] ^= 1 << UInt8(bit % 8)
                #expect(throws: TokenError.self) { try decode(Base64URL.encode(corrupt)) }
            }
        }
    }
}
