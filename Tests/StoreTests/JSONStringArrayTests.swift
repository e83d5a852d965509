import Foundation
import Testing
@testable import Store

@Suite struct JSONStringArrayTests {
    static func text(_ values: [String]) -> String {
        String(decoding: JSONStringArray.encode(values), as: UTF8.self)
    }

    @Test func emptyArrayAndEmptyString() {
        #expect(Self.text([]) == "[]")
        #expect(Self.text([""]) == #"[""]"#)
        #expect(Self.text(["", ""]) == #"["",""]"#)
    }

    @Test func plainAddressesAreCopied() {
        #expect(Self.text(["a@x.test", "B.c+tag@y.example/path"]) == #"["a@x.test","B.c+tag@y.example/path"]"#)
    }

    @Test func quoteAndBackslashAreEscaped() {
        #expect(Self.text([#"c"q@z.test"#, #"a\b"#]) == #"["c\"q@z.test","a\\b"]"#)
    }

    @Test func controlCharactersUseShortOrUnicodeEscapes() {
        #expect(Self.text(["\u{08}\t\n\u{0C}\r"]) == #"["\b\t\n\f\r"]"#)
        #expect(Self.text(["\u{00}\u{01}\u{0B}\u{1F}"]) == #"["\u0000\u0001\u000b\u001f"]"#)
    }

    @Test func nonASCIIAndDELAreCopiedAsUTF8() {
        let value = "Jos\u{E9} \u{7F}\u{2028} \u{1F600}"
        #expect(JSONStringArray.encode([value]) == Array("[\"".utf8) + Array(value.utf8) + Array("\"]".utf8))
    }

    /// The output is what JSONEncoder (without slash escaping) writes, which the tracker's
    /// JSONDecoder reads back: checked on seeded random strings over every ASCII octet and
    /// some multi-byte characters.
    @Test func matchesJSONEncoderAndRoundTrips() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let alphabet: [Character] = (0..<128).map { Character(Unicode.Scalar(UInt8($0))) } + ["\u{E9}", "\u{2028}", "\u{1F600}"]
        var random = SeededGenerator(seed: 0x4A53_4F4E)
        for _ in 0..<2_000 {
            let values = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                String((0..<Int.random(in: 0...12, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            }
            let encoded = JSONStringArray.encode(values)
            #expect(encoded == Array(try encoder.encode(values)), "\(values)")
            #expect(try JSONDecoder().decode([String].self, from: Data(encoded)) == values)
        }
    }
}
