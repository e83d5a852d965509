@testable import Rewrite
@_exported import TestSupport

/// Fixtures shared by the token, key ring and link tests.
enum TokenFixtures {
    /// Secret 00 01 02 ... 1f: the key of the known-answer tests.
    static let sequentialSecret: [UInt8] = Array(0...31)
    static let trackingID = TrackingID(hex: "00112233445566778899aabbccddeeff")!

    /// A ring with k1 = `sequentialSecret`, active.
    static let ring = try! KeyRing(keys: [1: sequentialSecret], activeKeyID: 1)

    /// Signs `body` (every byte before the tag) with key `keyID` of `ring` and encodes it:
    /// how tests build well-signed tokens the encoder would never produce.
    static func seal(_ body: [UInt8], ring: KeyRing = ring, keyID: UInt8 = 1) -> String {
        let authenticator = ring.authenticator(for: keyID)!
        var tag = [UInt8](repeating: 0, count: TrackingToken.tagLength)
        body.withUnsafeBytes { signed in
            tag.withUnsafeMutableBytes { TrackingToken.writeTag(authenticator, over: signed, into: $0) }
        }
        return Base64URL.encode(body + tag)
    }

    /// Version 1, key 1, `kind`, issued-at 1700000000, `trackingID`: a token's fixed header.
    static func header(kind: UInt8, keyID: UInt8 = 1) -> [UInt8] {
        [1, keyID, kind, 0x65, 0x53, 0xF1, 0x00] + trackingID.bytes
    }
}

