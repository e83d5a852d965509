import Testing
@testable import Rewrite

@Suite struct KeyRingTests {
    /// 32 bytes 00..1f, standard base64 with padding.
    let secret1 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    /// 16 bytes of 0xFF in the URL-safe alphabet, unpadded.
    let secret2 = "_____________________w"

    private func parseError(_ text: String) -> String? {
        do {
            _ = try KeyRing.parse(text, source: "/etc/mailtrail/keys")
            return nil
        } catch {
            return error.description
        }
    }

    @Test func parsesCommentsBlankLinesAndActive() throws {
        let text = """
            # MailTrail signing keys
            
            k1 = \(secret1)
              k2=\(secret2)\t
            # rotated 2026-11
            active = k2
            """
        let ring = try KeyRing.parse(text, source: "keys")
        #expect(ring.activeKeyID == 2)
        #expect(ring.keyIDs == [1, 2])
        #expect(ring.contains(1) && ring.contains(2) && !ring.contains(3))
        #expect(ring.description == "KeyRing(k1, k2; active k2)")
    }

    @Test func crlfLineEndings() throws {
        let ring = try KeyRing.parse("# keys\r\nk1 = \(secret1)\r\nk2 = \(secret2)\r\nactive = k1\r\n", source: "keys")
        #expect(ring.keyIDs == [1, 2])
        #expect(ring.activeKeyID == 1)
        #expect(parseError("k1 = \(secret1)\r\nk1 = \(secret1)\r\n") == "/etc/mailtrail/keys:2: k1: key defined twice")
    }

    @Test func singleKeyIsActiveByDefault() throws {
        let ring = try KeyRing.parse("k7 = \(secret1)\r\n", source: "keys")
        #expect(ring.activeKeyID == 7)
        #expect(ring.name(of: ring.activeKeyID) == "k7")
    }

    @Test func parsedSecretSignsLikeTheSameBytesGivenInCode() throws {
        let parsed = try KeyRing.parse("k1 = \(secret1)", source: "keys")
        let token = TrackingToken(kind: .open, issuedAt: 1_700_000_000, trackingID: TokenFixtures.trackingID)
        #expect(token.encoded(with: parsed) == token.encoded(with: TokenFixtures.ring))
    }

    @Test(arguments: [
        ("k1 = \(String(repeating: "A", count: 22))\nk2 = !!!!", "/etc/mailtrail/keys:2: k2: secret is not valid base64"),
        ("\n\n k2 = c2hvcnQ=", "/etc/mailtrail/keys:3: k2: secret is 5 bytes; at least 16 are required"),
        ("k2 =", "/etc/mailtrail/keys:1: k2: secret is not valid base64"),
        ("secret AAAA", "/etc/mailtrail/keys:1: expected 'k<id> = <base64 secret>' or 'active = k<id>'"),
        (" = AAAA", "/etc/mailtrail/keys:1: expected 'k<id> = <base64 secret>' or 'active = k<id>'"),
        ("key1 = AAAA", "/etc/mailtrail/keys:1: key1: unknown name (expected k1...k255 or active)"),
        ("k256 = AAAA", "/etc/mailtrail/keys:1: k256: unknown name (expected k1...k255 or active)"),
        ("k01 = AAAA", "/etc/mailtrail/keys:1: k01: unknown name (expected k1...k255 or active)"),
        ("K1 = AAAA", "/etc/mailtrail/keys:1: K1: unknown name (expected k1...k255 or active)"),
        ("k0 = AAAA", "/etc/mailtrail/keys:1: k0: key ids are 1...255"),
        ("# none\n", "/etc/mailtrail/keys: no keys defined"),
        ("", "/etc/mailtrail/keys: no keys defined"),
    ])
    func keyLineErrorsNameFileAndLine(text: String, message: String) {
        #expect(parseError(text) == message)
    }

    @Test func activeAndDuplicateErrors() {
        let k1 = "k1 = \(secret1)"
        let k2 = "k2 = \(secret2)"
        #expect(parseError("\(k1)\n\(k2)") == "/etc/mailtrail/keys: 2 keys but no 'active = k<id>' line says which one signs")
        #expect(parseError("\(k1)\nactive = k3") == "/etc/mailtrail/keys:2: active: k3 is not defined")
        #expect(parseError("\(k1)\nactive = k1\nactive = k1") == "/etc/mailtrail/keys:3: active: set more than once")
        #expect(parseError("\(k1)\nactive = 1") == "/etc/mailtrail/keys:2: active: '1' is not a key name (expected k1...k255)")
        #expect(parseError("\(k1)\nactive = k0") == "/etc/mailtrail/keys:2: k0: key ids are 1...255")
        #expect(parseError("\(k1)\n# again\n\(k1)") == "/etc/mailtrail/keys:3: k1: key defined twice")
    }

    @Test func activeMayPrecedeItsKey() throws {
        let ring = try KeyRing.parse("active = k2\nk1 = \(secret1)\nk2 = \(secret2)", source: "keys")
        #expect(ring.activeKeyID == 2)
    }

    @Test func errorReasonsAreTyped() {
        #expect(throws: KeyRingError(source: "f", line: 1, .secretNotBase64(3))) {
            try KeyRing.parse("k3 = @", source: "f")
        }
    }

    @Test func initValidatesKeys() throws {
        let good = [UInt8](repeating: 1, count: 16)
        #expect(throws: KeyRingError(.noKeys)) { try KeyRing(keys: [:], activeKeyID: 1) }
        #expect(throws: KeyRingError(.keyIDZero)) { try KeyRing(keys: [0: good], activeKeyID: 0) }
        #expect(throws: KeyRingError(.secretTooShort(2, 15))) {
            try KeyRing(keys: [1: good, 2: Array(good.dropLast())], activeKeyID: 1)
        }
        #expect(throws: KeyRingError(.activeKeyMissing(3))) { try KeyRing(keys: [1: good], activeKeyID: 3) }
        #expect(KeyRingError(.activeKeyMissing(3)).description == "active: k3 is not defined")
        let ring = try KeyRing(keys: [9: good, 4: good], activeKeyID: 9)
        #expect(ring.keyIDs == [4, 9])
        #expect(ring.activeKeyID == 9)
    }

    @Test func generatedSecretsAndKeyLines() throws {
        let a = KeyRing.generateSecret()
        let b = KeyRing.generateSecret()
        #expect(a.count == 32)
        #expect(a != b)
        let line = KeyRing.keyLine(id: 3, secret: TokenFixtures.sequentialSecret)
        #expect(line == "k3 = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
        let ring = try KeyRing.parse(line, source: "generated")
        #expect(ring.activeKeyID == 3)
        let token = TrackingToken(kind: .open, issuedAt: 1, trackingID: TokenFixtures.trackingID)
        let reference = try KeyRing(keys: [3: TokenFixtures.sequentialSecret], activeKeyID: 3)
        #expect(token.encoded(with: ring) == token.encoded(with: reference))
    }

    @Test func nameOfKeyIDs() {
        #expect(KeyRing.name(of: 1) == "k1")
        #expect(TokenFixtures.ring.name(of: 255) == "k255")
    }
}
