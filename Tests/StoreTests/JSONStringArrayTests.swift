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

    // MARK: - Reading

    static func decoded(_ text: String) -> [String]? {
        JSONStringArray.decode(Array(text.utf8))
    }

    /// What the reader must read: `JSONDecoder`'s strings, except where `JSONDecoder` takes
    /// the bytes for UTF-16 or UTF-32 (a byte-order mark of those, or a NUL byte among the
    /// first four), which the reader refuses by choice. UTF-8 JSON cannot start that way: a
    /// NUL is invalid anywhere in it, and 0xFE and 0xFF are never UTF-8.
    static func expected(_ text: [UInt8]) -> [String]? {
        if text.prefix(4).contains(0) || text.starts(with: [0xFF, 0xFE]) || text.starts(with: [0xFE, 0xFF]) { return nil }
        return try? JSONDecoder().decode([String].self, from: Data(text))
    }

    @Test func readsWhatItWrites() {
        #expect(Self.decoded("[]") == [])
        #expect(Self.decoded(#"["a@x.test","b\"q@y.test"]"#) == ["a@x.test", #"b"q@y.test"#])
        let values = ["", "Jos\u{E9}", "\u{00}\u{1F}\t\n", #"\/"#, "\u{1F600}"]
        #expect(JSONStringArray.decode(JSONStringArray.encode(values)) == values)
    }

    @Test func readsAnyValidSpelling() throws {
        #expect(Self.decoded(" \t\r\n[ \"a\" ,\n\"b\"\t] \n") == ["a", "b"])
        #expect(Self.decoded(#"["\/\b\f\n\r\t\"\\"]"#) == ["/\u{08}\u{0C}\n\r\t\"\\"])
        #expect(Self.decoded(#"["\u00e9\u00C9\u2028"]"#) == ["\u{E9}\u{C9}\u{2028}"])
        #expect(Self.decoded(#"["\ud83d\ude00 \u0000"]"#) == ["\u{1F600} \u{00}"])
        // JSONDecoder reads a comma after the last element, and the tracker always read these with it.
        #expect(Self.decoded(#"["a",]"#) == ["a"])
        #expect(Self.decoded(#"[ "a" , ]"#) == ["a"])
        // A UTF-8 byte-order mark is skipped, as JSONDecoder skips it; only at the start.
        let marked: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(#"["a"]"#.utf8)
        #expect(JSONStringArray.decode(marked) == ["a"])
        #expect(try JSONDecoder().decode([String].self, from: Data(marked)) == ["a"])
        #expect(JSONStringArray.decode(Array(" ".utf8) + marked) == nil)
        #expect(JSONStringArray.decode([0xEF, 0xBB, 0xBF]) == nil)
    }

    /// JSONDecoder guesses UTF-16 and UTF-32 and reads these; the reader takes JSON as UTF-8
    /// only (RFC 8259 §8.1), so it refuses them, and the tracker reports the field as invalid.
    @Test func refusesOtherEncodingsThatJSONDecoderGuesses() throws {
        let text = #"["a@x.test"]"#
        let utf16LE = text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let utf16BE = text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let utf32LE = text.unicodeScalars.flatMap { [UInt8($0.value & 0xFF), 0, 0, 0] }
        let utf32BE = text.unicodeScalars.flatMap { [0, 0, 0, UInt8($0.value & 0xFF)] }
        for bytes in [utf16LE, utf16BE, [0xFF, 0xFE] + utf16LE, [0xFE, 0xFF] + utf16BE, utf32LE, utf32BE] {
            #expect(try JSONDecoder().decode([String].self, from: Data(bytes)) == ["a@x.test"], "\(bytes)")
            #expect(JSONStringArray.decode(bytes) == nil, "\(bytes)")
            #expect(Self.expected(bytes) == nil, "\(bytes)")
        }
    }

    @Test(arguments: [
        "", " ", "[", "]", "[,]", #"["a",,]"#, #"[,"a"]"#, #"["a""b"]"#, #"["a"] x"#, #"["a"]]"#,
        "null", "{}", #"{"a":"b"}"#, #""a""#, "[1]", "[null]", "[true]", #"[["a"]]"#,
        #"["a"#, #"["a\"]"#, #"["\x"]"#, #"["\u12"]"#, #"["\u12g4"]"#, #"["\U0041"]"#,
        #"["\ud83d"]"#, #"["\ud83d\u0041"]"#, #"["\ude00"]"#, #"["\ud83dx"]"#,
        "[\"a\u{01}b\"]", "[\"a\nb\"]", "[\"\u{7F}\"]x",
    ])
    func refusesWhatIsNotAnArrayOfStrings(text: String) {
        #expect(Self.decoded(text) == nil)
        #expect((try? JSONDecoder().decode([String].self, from: Data(text.utf8))) == nil, "JSONDecoder differs")
    }

    @Test func refusesInvalidUTF8() {
        for bad: [UInt8] in [[0xFF], [0xC3], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF]] {
            let text = Array(#"[""#.utf8) + bad + Array(#""]"#.utf8)
            #expect(JSONStringArray.decode(text) == nil, "\(bad)")
            #expect((try? JSONDecoder().decode([String].self, from: Data(text))) == nil, "JSONDecoder differs on \(bad)")
        }
    }

    /// Seeded random texts built from JSON's pieces (most of them broken somewhere, some
    /// starting with a byte-order mark or a NUL): the reader accepts exactly what JSONDecoder
    /// accepts as UTF-8, with the same strings.
    @Test func agreesWithJSONDecoderOnRandomTexts() {
        let pieces: [[UInt8]] = [
            "[", "]", ",", "\"", "\\", " ", "\t", "\n", "\r", "a", "Z", "@", "/", "0", "e9", "D83D", "DE00",
            "\\u", "\\n", "\\/", "\\\"", "\\ud83d", "\\ude00", "\\u00e9", "\\u0000", "null", "1", "{", "}", ":",
            "\u{E9}", "\u{2028}", "\u{1F600}", "\u{7F}", "\u{FEFF}",
        ].map { Array($0.utf8) } + [[0x00], [0x01], [0x1F], [0x80], [0xC3], [0xFE], [0xFF], [0xED, 0xA0, 0x80]]
        var random = SeededGenerator(seed: 0x5245_4144)
        var accepted = 0
        for round in 0..<20_000 {
            var text: [UInt8]
            if round % 2 == 0 {
                // A valid array with one piece dropped in somewhere.
                let values = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                    String(decoding: (0..<Int.random(in: 0...4, using: &random)).flatMap { _ in pieces.randomElement(using: &random)! }, as: UTF8.self)
                }
                text = JSONStringArray.encode(values)
                let at = Int.random(in: 0...text.count, using: &random)
                if Bool.random(using: &random) { text.insert(contentsOf: pieces.randomElement(using: &random)!, at: at) }
            } else {
                text = Array("[\"".utf8) + (0..<Int.random(in: 0...8, using: &random)).flatMap { _ in pieces.randomElement(using: &random)! }
                if Bool.random(using: &random) { text += Array("\"]".utf8) }
            }
            if round % 5 == 0 { text.insert(contentsOf: pieces.randomElement(using: &random)!, at: 0) }
            let ours = JSONStringArray.decode(text)
            #expect(ours == Self.expected(text), "\(text)")
            if ours != nil { accepted += 1 }
        }
        #expect(accepted > 4_000, "the random texts should include plenty of valid ones")
    }
}
