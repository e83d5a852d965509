import PropertyBased
import Testing
@testable import Rewrite

@Suite struct TrackingTokenTests {
    let ring = TokenFixtures.ring
    let id = TokenFixtures.trackingID

    // MARK: Known answers
    // Expected strings were computed independently (Python hmac, hashlib, zlib and base64)
    // from the v1 layout, key k1 = 00 01 .. 1f, tracking ID 00112233445566778899aabbccddeeff.

    @Test func knownAnswerOpen() throws {
        let token = TrackingToken(kind: .open, issuedAt: 1_700_000_000, trackingID: id)
        let expected = "AQFvZVPxAAARIjNEVWZ3iJmqu8zd7v9h_ru2RS9o73m9PPc"
        #expect(token.encoded(with: ring) == expected)
        #expect(try TrackingToken.decode(expected, keyRing: ring) == VerifiedToken(token: token, keyID: 1))
    }

    @Test func knownAnswerClick() throws {
        // Upper case shares nothing with the dictionary: deflate would not be shorter.
        let token = TrackingToken(kind: .click, issuedAt: 1_700_000_000, trackingID: id,
                                  linkIndex: 3, destination: Array("HTTPS://QX7.EXAMPLE/Z".utf8))
        let expected = "AQFjZVPxAAARIjNEVWZ3iJmqu8zd7v8DSFRUUFM6Ly9RWDcuRVhBTVBMRS9a3Kzvvd5xZYj0fYui"
        #expect(token.encoded(with: ring) == expected)
        #expect(try TrackingToken.decode(expected, keyRing: ring).token == token)
    }

    @Test func knownAnswerUnsubscribeWithMultiByteIndexAndKey7() throws {
        let ring7 = try KeyRing(keys: [7: TokenFixtures.sequentialSecret], activeKeyID: 7)
        let token = TrackingToken(kind: .unsubscribe, issuedAt: 1, trackingID: id,
                                  linkIndex: 300, destination: Array("HTTPS://QX7.EXAMPLE/U".utf8))
        let expected = "AQd1AAAAAQARIjNEVWZ3iJmqu8zd7v-sAkhUVFBTOi8vUVg3LkVYQU1QTEUvVXLwz52u4cIlLoLPGQ"
        #expect(token.encoded(with: ring7) == expected)
        #expect(try TrackingToken.decode(expected, keyRing: ring7) == VerifiedToken(token: token, keyID: 7))
    }

    @Test func knownAnswerDeflatedClickDecodes() throws {
        // Pins the deflate flag, window and dictionary of v1 (encoder output may vary by zlib build).
        let text = "AQHjZVPxAAARIjNEVWZ3iJmqu8zd7v8AQ2anVgDtyYEEODxeijPy8ToZ2TWoji0uKAIGFQBLz-59TuSwX7kPFL4"
        let url = "https://www.example.com/products/shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
        let decoded = try TrackingToken.decode(text, keyRing: ring)
        #expect(decoded.token == TrackingToken(kind: .click, issuedAt: 1_700_000_000, trackingID: id,
                                               linkIndex: 0, destination: Array(url.utf8)))
        // Our encoder deflates it too, to the same size.
        let ours = decoded.token.encoded(with: ring)
        #expect(ours.utf8.count == text.utf8.count)
        #expect(try TrackingToken.decode(ours, keyRing: ring) == decoded)
    }

    // MARK: Round trips and size

    @Test(arguments: TokenKind.allCases)
    func roundTripsEveryKind(kind: TokenKind) throws {
        let token = kind == .open
            ? TrackingToken(kind: .open, issuedAt: .max, trackingID: .random())
            : TrackingToken(kind: kind, issuedAt: 0, trackingID: .random(), linkIndex: .max,
                            destination: Array("https://example.com/a?b=c&d=e#f".utf8))
        let decoded = try TrackingToken.decode(token.encoded(with: ring), keyRing: ring)
        #expect(decoded == VerifiedToken(token: token, keyID: 1))
    }

    @Test func sixtyCharacterDestinationOnTwentyFiveCharacterBaseStaysUnder170() throws {
        let base = "https://t.example-mail.io"
        #expect(base.utf8.count == 25)
        // Random characters: the worst case, where deflate cannot help.
        var rng = SeededGenerator(seed: 60)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
        let destination = Array("https://".utf8) + (0..<52).map { _ in alphabet.randomElement(using: &rng)! }
        #expect(destination.count == 60)
        let links = TrackingLinks(base: base, keyRing: ring, trackingID: .random(), issuedAt: 1_700_000_000)
        let url = links.clickURL(destination: destination, linkIndex: 127)
        #expect(url.count < 170)
        // Never longer than the uncompressed layout: 25 + "/c/" + 128 characters.
        #expect(url.count <= 25 + 3 + Base64URL.encodedLength(of: 23 + 1 + 60 + 12))
        #expect(try TrackingLinks.decode(path: String(decoding: url, as: UTF8.self), keyRing: ring).token.destination == destination)
        let typical = links.clickURL(destination: Array("https://www.example.com/spring-sale?utm_source=newsletter".utf8), linkIndex: 1)
        #expect(typical.count < 130)
    }

    @Test func longDestinationsRoundTrip() throws {
        var rng = SeededGenerator(seed: 2000)
        let words = ["shoes", "utm_source", "=", "&", "%20", "newsletter", "/", "2024", "id", "abc"].map { Array($0.utf8) }
        var compressible = Array("https://www.example.com/search?".utf8)
        while compressible.count < 2000 { compressible += words.randomElement(using: &rng)! }
        compressible = Array(compressible.prefix(2000))
        let random = Array("https://".utf8) + (0..<1992).map { _ in UInt8.random(in: 0x21...0x7E, using: &rng) }
        for destination in [compressible, random] {
            let token = TrackingToken(kind: .click, issuedAt: 42, trackingID: id, linkIndex: 9, destination: destination)
            let text = token.encoded(with: ring)
            #expect(try TrackingToken.decode(text, keyRing: ring).token == token)
        }
        let compressed = TrackingToken(kind: .click, issuedAt: 42, trackingID: id, linkIndex: 9, destination: compressible)
        #expect(compressed.encoded(with: ring).utf8.count < 1400)
    }

    @Test func largestDestinationRoundTrips() throws {
        let destination = [UInt8](repeating: UInt8(ascii: "a"), count: TrackingToken.maxDestinationLength)
        let token = TrackingToken(kind: .click, issuedAt: 1, trackingID: id, linkIndex: 0, destination: destination)
        #expect(try TrackingToken.decode(token.encoded(with: ring), keyRing: ring).token == token)
    }

    @Test func deflatesOnlyWhenTheTokenGetsShorter() throws {
        func kindByte(_ destination: String) throws -> UInt8 {
            let token = TrackingToken(kind: .click, issuedAt: 1, trackingID: id, linkIndex: 0, destination: Array(destination.utf8))
            return try Base64URL.decode(token.encoded(with: ring))[2]
        }
        #expect(try kindByte("https://www.example.com/?utm_source=newsletter&utm_medium=email") == 0x63 | 0x80)
        #expect(try kindByte("HTTPS://QX7.EXAMPLE/Z") == 0x63)
        #expect(try kindByte("h") == 0x63)
    }

    @Test func issuedAtAndIDAreBigEndianInTheLayout() throws {
        let token = TrackingToken(kind: .open, issuedAt: 0x0102_0304, trackingID: id)
        let bytes = try Base64URL.decode(token.encoded(with: ring))
        #expect(bytes.count == 23 + 12)
        #expect(Array(bytes[0..<23]) == [1, 1, 0x6F, 1, 2, 3, 4] + id.bytes)
    }

    // MARK: Key rotation

    @Test func retiredKeyStillVerifiesButOnlyTheActiveKeySigns() throws {
        let old = try KeyRing(keys: [1: TokenFixtures.sequentialSecret], activeKeyID: 1)
        let rotated = try KeyRing(keys: [1: TokenFixtures.sequentialSecret, 2: KeyRing.generateSecret()], activeKeyID: 2)
        let token = TrackingToken(kind: .click, issuedAt: 5, trackingID: id, linkIndex: 2, destination: Array("https://a.example/".utf8))
        let oldText = token.encoded(with: old)
        #expect(try TrackingToken.decode(oldText, keyRing: rotated) == VerifiedToken(token: token, keyID: 1))
        let newText = token.encoded(with: rotated)
        #expect(try Base64URL.decode(newText)[1] == 2)
        #expect(try TrackingToken.decode(newText, keyRing: rotated) == VerifiedToken(token: token, keyID: 2))
        // A ring without k2 cannot verify k2's tokens.
        #expect(throws: TokenError.unknownKey(2)) { try TrackingToken.decode(newText, keyRing: old) }
    }

    @Test func sameKeyIDWithAnotherSecretFailsTheTag() throws {
        let other = try KeyRing(keys: [1: KeyRing.generateSecret()], activeKeyID: 1)
        let text = TrackingToken(kind: .open, issuedAt: 5, trackingID: id).encoded(with: ring)
        #expect(throws: TokenError.badTag) { try TrackingToken.decode(text, keyRing: other) }
    }

    // MARK: Inspection

    @Test func decodingTheBytesOfTheTextIsTheSame() throws {
        let valid = TrackingToken(kind: .click, issuedAt: 1_700_000_000, trackingID: id, linkIndex: 2,
                                  destination: Array("https://example.com/p".utf8)).encoded(with: ring)
        var tampered = Array(valid.utf8)
        tampered[20] = tampered[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        for text in [valid, String(decoding: tampered, as: UTF8.self), "AAAA", "A", "", "AAA=", "A+/_", valid + "A",
                     String(repeating: "A", count: TrackingToken.maxTokenLength + 1)] {
            let fromText = Result { () throws(TokenError) in try TrackingToken.decode(text, keyRing: ring) }
            let fromBytes = Array(text.utf8).withUnsafeBytes { bytes in
                Result { () throws(TokenError) in try TrackingToken.decode(utf8: bytes, keyRing: ring) }
            }
            #expect(fromBytes == fromText, "\(text.prefix(40))")
        }
        #expect(try Array(valid.utf8).withUnsafeBytes { try TrackingToken.decode(utf8: $0, keyRing: ring) }.token.linkIndex == 2)
    }

    @Test func inspectValidToken() {
        let text = "AQFjZVPxAAARIjNEVWZ3iJmqu8zd7v8DSFRUUFM6Ly9RWDcuRVhBTVBMRS9a3Kzvvd5xZYj0fYui"
        let inspection = TrackingToken.inspect(text, keyRing: ring)
        var expected = TokenInspection(verification: .valid(keyName: "k1"))
        expected.byteCount = 23 + 1 + 21 + 12
        expected.version = 1
        expected.keyID = 1
        expected.kindByte = 0x63
        expected.kind = .click
        expected.isDeflated = false
        expected.issuedAt = 1_700_000_000
        expected.trackingID = id
        expected.linkIndex = 3
        expected.destination = Array("HTTPS://QX7.EXAMPLE/Z".utf8)
        expected.storedDestinationLength = 21
        expected.tag = Array(try! Base64URL.decode(text).suffix(12))
        #expect(inspection == expected)
        #expect(inspection.isValid)
    }

    @Test func inspectShowsFieldsOfABadSignature() throws {
        let other = try KeyRing(keys: [1: KeyRing.generateSecret()], activeKeyID: 1)
        let text = TrackingToken(kind: .click, issuedAt: 9, trackingID: id, linkIndex: 4,
                                 destination: Array("https://www.example.com/?utm_source=newsletter".utf8)).encoded(with: other)
        let inspection = TrackingToken.inspect(text, keyRing: ring)
        #expect(inspection.verification == .invalid(.badTag))
        #expect(!inspection.isValid)
        #expect(inspection.kind == .click)
        #expect(inspection.isDeflated == true)
        #expect(inspection.issuedAt == 9)
        #expect(inspection.trackingID == id)
        #expect(inspection.linkIndex == 4)
        #expect(inspection.destination == Array("https://www.example.com/?utm_source=newsletter".utf8))
        #expect(inspection.storedDestinationLength.map { $0 < 46 } == true)
    }

    @Test func inspectUnknownKeyAndBrokenTokens() throws {
        let ring9 = try KeyRing(keys: [9: TokenFixtures.sequentialSecret], activeKeyID: 9)
        let text = TrackingToken(kind: .open, issuedAt: 9, trackingID: id).encoded(with: ring9)
        let unknown = TrackingToken.inspect(text, keyRing: ring)
        #expect(unknown.verification == .invalid(.unknownKey(9)))
        #expect(unknown.keyID == 9)
        #expect(unknown.trackingID == id)

        let padded = TrackingToken.inspect("AQFv==", keyRing: ring)
        #expect(padded == TokenInspection(verification: .invalid(.padded)))

        let short = TrackingToken.inspect(Base64URL.encode([1, 4, 0x63, 0]), keyRing: ring)
        var expected = TokenInspection(verification: .invalid(.truncated))
        expected.byteCount = 4
        expected.version = 1
        expected.keyID = 4
        expected.kindByte = 0x63
        expected.kind = .click
        expected.isDeflated = false
        #expect(short == expected)

        let future = TrackingToken.inspect(Base64URL.encode([2, 1, 0x6F]), keyRing: ring)
        #expect(future.verification == .invalid(.unknownVersion(2)))
        #expect(future.version == 2)
    }

    // MARK: Property

    @Test func decodeInvertsEncode() async {
        let ring2 = try! KeyRing(keys: [3: KeyRing.generateSecret(), 200: KeyRing.generateSecret()], activeKeyID: 200)
        let urlBytes = Gen<UInt8>.value(in: 0x21...0x7E).array(of: 1...600)
        await propertyCheck(count: 300, input: Gen<TokenKind>.case, Gen.uint32(), Gen.uint8().array(of: 16),
                            Gen.uint32(), urlBytes) { kind, issuedAt, idBytes, linkIndex, destination in
            let token = kind == .open
                ? TrackingToken(kind: .open, issuedAt: issuedAt, trackingID: TrackingID(bytes: idBytes))
                : TrackingToken(kind: kind, issuedAt: issuedAt, trackingID: TrackingID(bytes: idBytes),
                                linkIndex: linkIndex, destination: destination)
            let decoded = try TrackingToken.decode(token.encoded(with: ring2), keyRing: ring2)
            #expect(decoded == VerifiedToken(token: token, keyID: 200))
        }
    }
}
