import Testing
@testable import Rewrite

private func index(of pattern: String, in text: String, from: Int = 0, to: Int? = nil) -> Int? {
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBufferPointer { $0.firstIndex(of: Array(pattern.utf8), from: from, to: to ?? bytes.count) }
}

@Suite struct ByteSearchTests {
    @Test func findsSingleBytesWithinBounds() {
        let bytes = Array("a<b<c".utf8)
        bytes.withUnsafeBufferPointer { buffer in
            #expect(buffer.firstIndex(of: ASCII.lessThan, from: 0, to: 5) == 1)
            #expect(buffer.firstIndex(of: ASCII.lessThan, from: 2, to: 5) == 3)
            #expect(buffer.firstIndex(of: ASCII.lessThan, from: 2, to: 3) == nil)
            #expect(buffer.firstIndex(of: ASCII.lessThan, from: 4, to: 4) == nil)
        }
        let empty: [UInt8] = []
        #expect(empty.withUnsafeBufferPointer { $0.firstIndex(of: 0, from: 0, to: 0) } == nil)
    }

    @Test(arguments: [
        ("]]>", "x]]y]]>z", 4), ("]>", "]>", 0), ("-->", "--->", 1), ("abc", "ab", nil), ("", "abc", nil),
        // Long patterns take the Horspool path.
        ("https://t.example/o/", "https://t.example/o/", 0),
        ("https://t.example/o/", "xx https://t.example/c/ https://t.example/o/tok", 24),
        ("https://t.example/o/", "https://t.example/o", nil),
        ("https://t.example/o/", "ohttps://t.example/o/o/", 1),
        ("aaaaaaaab", "aaaaaaaaaaaaaaaab", 8),
    ] as [(String, String, Int?)])
    func findsPatterns(_ pattern: String, _ text: String, _ expected: Int?) {
        #expect(index(of: pattern, in: text) == expected)
    }

    @Test func patternSearchRespectsBounds() {
        #expect(index(of: "]]>", in: "]]>]]>", from: 1) == 3)
        #expect(index(of: "]]>", in: "a]]>", to: 3) == nil)
        #expect(index(of: "https://t.example/o/", in: "https://t.example/o/", to: 19) == nil)
    }
}
