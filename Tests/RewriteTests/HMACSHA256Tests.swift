import Crypto
import Testing
@testable import Rewrite

@Suite struct HMACSHA256Tests {
    private func code(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { HMACSHA256(key: key).code(of: $0) }
    }

    private func reference(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// RFC 4231, test cases 1, 2 and 6 (a key longer than the block is hashed first).
    @Test func matchesTheRFC4231Vectors() {
        #expect(code(Array(repeating: 0x0b, count: 20), Array("Hi There".utf8)).hex
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(code(Array("Jefe".utf8), Array("what do ya want for nothing?".utf8)).hex
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(code(Array(repeating: 0xaa, count: 131),
                     Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)).hex
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    /// Keys around the 64-byte block and messages around SHA-256's padding boundaries give
    /// the same codes as swift-crypto's generic HMAC.
    @Test func agreesWithSwiftCryptoForEveryKeyAndMessageShape() {
        var generator = SeededGenerator(seed: 0x4d61696c547261)
        for keyLength in [0, 1, 16, 32, 55, 63, 64, 65, 128, 200] {
            let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for messageLength in [0, 1, 55, 56, 63, 64, 92, 119, 120, 1000] {
                let message = (0..<messageLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
                #expect(code(key, message) == reference(key, message), "key \(keyLength), message \(messageLength)")
            }
        }
    }

    /// A state is reused: codes do not depend on what was authenticated before.
    @Test func eachCodeStartsFromTheKeyedState() {
        let mac = HMACSHA256(key: Array("secret key of the ring".utf8))
        let first = Array("first message".utf8).withUnsafeBytes { mac.code(of: $0) }
        _ = Array("another message in between".utf8).withUnsafeBytes { mac.code(of: $0) }
        let again = Array("first message".utf8).withUnsafeBytes { mac.code(of: $0) }
        #expect(first == again)
    }
}

private extension Array where Element == UInt8 {
    var hex: String { map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}
