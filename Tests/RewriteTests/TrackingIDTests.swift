import Testing
@testable import Rewrite

@Suite struct TrackingIDTests {
    @Test func bytesAndHexAgree() {
        let id = TrackingID(bytes: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF])
        #expect(id.hex == "00112233445566778899aabbccddeeff")
        #expect(id.description == "00112233445566778899aabbccddeeff")
        #expect(id.bytes == [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF])
        var appended: [UInt8] = [9]
        id.append(to: &appended)
        #expect(appended == [9] + id.bytes)
    }

    @Test func parsesHexInEitherCase() {
        #expect(TrackingID(hex: "00112233445566778899AABBCCDDEEFF") == TrackingID(hex: "00112233445566778899aabbccddeeff"))
        #expect(TrackingID(hex: "ffffffffffffffffffffffffffffffff")?.bytes == [UInt8](repeating: 0xFF, count: 16))
        let line = "X-MailTrail-ID: 0123456789abcdef0123456789abcdef"
        #expect(TrackingID(hex: line.suffix(32))?.hex == "0123456789abcdef0123456789abcdef")
    }

    @Test(arguments: ["", "0011", "00112233445566778899aabbccddeef", "00112233445566778899aabbccddeeff0",
                      "00112233445566778899aabbccddeefg", " 0112233445566778899aabbccddeeff", "0x112233445566778899aabbccddeeff"])
    func rejectsMalformedHex(text: String) {
        #expect(TrackingID(hex: text) == nil)
    }

    @Test func randomIDsDifferAndRoundTrip() {
        let ids = (0..<1000).map { _ in TrackingID.random() }
        #expect(Set(ids).count == 1000)
        for id in ids.prefix(50) {
            #expect(TrackingID(hex: id.hex) == id)
            #expect(TrackingID(bytes: id.bytes) == id)
        }
    }
}
