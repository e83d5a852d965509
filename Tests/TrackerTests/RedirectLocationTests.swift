import PropertyBased
import Testing
@testable import TrackerCore

@Suite struct RedirectLocationTests {
    @Test(arguments: [
        ("https://example.com/landing?a=1&b=2#top", "https://example.com/landing?a=1&b=2#top"),
        ("HTTP://Example.COM/", "HTTP://Example.COM/"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/\r\nSet-Cookie: x=1", "https://example.com/%0D%0ASet-Cookie:%20x=1"),
        ("https://example.com/caf\u{E9}", "https://example.com/caf%C3%A9"),
        ("https://example.com/\"<>\\^`{|}", "https://example.com/%22%3C%3E%5C%5E%60%7B%7C%7D"),
        ("https://example.com/%41%zz?x=[1]&y=!$'()*+,;=~", "https://example.com/%41%zz?x=[1]&y=!$'()*+,;=~"),
        ("https://example.com/\u{7F}\u{0}\t", "https://example.com/%7F%00%09"),
    ])
    func encodesEveryByteOutsideURICharacters(destination: String, expected: String) {
        #expect(RedirectLocation.headerValue(for: Array(destination.utf8)) == expected)
    }

    @Test(arguments: ["javascript:alert(1)", "mailto:a@b.test", "/relative", "//evil.test/", "data:text/html,x",
                      "ftp://example.com/", " https://example.com/", "https:/example.com", ""])
    func refusesAnythingButAbsoluteWebURLs(destination: String) {
        #expect(RedirectLocation.headerValue(for: Array(destination.utf8)) == nil)
    }

    @Test func anyDestinationGivesPrintableASCII() async {
        await propertyCheck(count: 500, input: Gen<UInt8>.uint8().array(of: 0...300)) { tail in
            let value = RedirectLocation.headerValue(for: Array("https://x.test/".utf8) + tail)
            let bytes = Array(value!.utf8)
            #expect(bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F })
            // Decoding the escapes gives the destination back: nothing was lost or reordered.
            #expect(Self.percentDecodedEscapes(bytes, original: tail))
        }
    }

    /// Whether `encoded` is "https://x.test/" + `original` with exactly the non-URI bytes escaped.
    static func percentDecodedEscapes(_ encoded: [UInt8], original: [UInt8]) -> Bool {
        var expected = Array("https://x.test/".utf8)
        for byte in original {
            if RedirectLocation.isURIByte(byte) {
                expected.append(byte)
            } else {
                expected += Array("%".utf8) + Array(String(byte, radix: 16, uppercase: true).leftPadded().utf8)
            }
        }
        return encoded == expected
    }
}

extension String {
    fileprivate func leftPadded() -> String { count == 1 ? "0" + self : self }
}
