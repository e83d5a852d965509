import Testing
@testable import Rewrite

@Suite struct ASCIITests {
    @Test func lowerFoldsOnlyLetters() {
        #expect(ASCII.lower(UInt8(ascii: "A")) == UInt8(ascii: "a"))
        #expect(ASCII.lower(UInt8(ascii: "Z")) == UInt8(ascii: "z"))
        #expect(ASCII.lower(UInt8(ascii: "@")) == UInt8(ascii: "@"))
        #expect(ASCII.lower(UInt8(ascii: "[")) == UInt8(ascii: "["))
        #expect(ASCII.lower(0xC3) == 0xC3)
    }

    @Test func prefixIgnoringCase() {
        let bytes = Array("xxHREF=".utf8)
        #expect(ASCII.hasPrefixIgnoringCase(bytes, at: 2, Array("href".utf8)))
        #expect(!ASCII.hasPrefixIgnoringCase(bytes, at: 4, Array("href=x".utf8)))
        #expect(ASCII.hexValue(UInt8(ascii: "f")) == 15)
        #expect(ASCII.hexValue(UInt8(ascii: "G")) == nil)
    }
}
