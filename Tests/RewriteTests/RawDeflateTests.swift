import Testing
@testable import Rewrite

@Suite struct RawDeflateTests {
    let plain = RawDeflate()

    private func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = hex.utf8.makeIterator()
        while let hi = chars.next(), let lo = chars.next() {
            out.append(ASCII.hexValue(hi)! << 4 | ASCII.hexValue(lo)!)
        }
        return out
    }

    /// Expected streams are Python's zlib.compressobj(6, DEFLATED, -15, 8) output.
    @Test func knownStreams() {
        #expect(plain.deflate(Array("a".utf8)) == bytes("4b0400"))
        #expect(plain.deflate([UInt8]()) == bytes("0300"))
        #expect(plain.deflate(Array("hello, hello, hello".utf8)) == bytes("cb48cdc9c9d751c840a200"))
        let withDictionary = RawDeflate(dictionary: Array("hello world".utf8))
        #expect(withDictionary.deflate(Array("hello world".utf8)) == bytes("cb403001"))
    }

    @Test func inflatesKnownStreams() throws {
        #expect(try plain.inflate(bytes("4b0400"), limit: 10) == Array("a".utf8))
        #expect(try plain.inflate(bytes("0300"), limit: 10) == [])
        let withDictionary = RawDeflate(dictionary: Array("hello world".utf8))
        #expect(try withDictionary.inflate(bytes("cb403001"), limit: 100) == Array("hello world".utf8))
    }

    @Test func roundTripsWithSmallWindowAndDictionary() throws {
        let codec = RawDeflate(windowBits: 9, memLevel: 1, level: 9, dictionary: Array("https://www.example.com/".utf8))
        var rng = SeededGenerator(seed: 11)
        for length in [0, 1, 2, 100, 511, 512, 513, 3000, 20_000] {
            let text = (0..<length).map { _ in Array("abc/?=&xyz".utf8).randomElement(using: &rng)! }
            let compressed = try #require(codec.deflate(text))
            #expect(try codec.inflate(compressed, limit: length) == text)
        }
        let random = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let compressed = try #require(codec.deflate(random))
        #expect(try codec.inflate(compressed, limit: 5000) == random)
    }

    @Test func dictionaryShortensMatchingInput() throws {
        let url = Array("https://www.example.com/?utm_source=newsletter".utf8)
        let dictionary = RawDeflate(dictionary: Array("?utm_source=newsletterhttps://www.example.com/".utf8))
        let with = try #require(dictionary.deflate(url))
        let without = try #require(plain.deflate(url))
        #expect(with.count < 10)
        #expect(without.count > url.count - 10)
        // The dictionary is needed to inflate.
        #expect(throws: RawDeflate.InflateError.corrupt) { try plain.inflate(with, limit: 1000) }
    }

    @Test func deflateIntoBufferStopsWhenItDoesNotFit() throws {
        let text = Array("no repetition here".utf8)
        let expected = try #require(plain.deflate(text))
        var space = [UInt8](repeating: 0, count: 64)
        let written = text.withUnsafeBytes { input in space.withUnsafeMutableBytes { plain.deflate(input, into: $0) } }
        #expect(written == expected.count)
        #expect(Array(space.prefix(expected.count)) == expected)
        var tooSmall = [UInt8](repeating: 0, count: expected.count - 1)
        #expect(text.withUnsafeBytes { input in tooSmall.withUnsafeMutableBytes { plain.deflate(input, into: $0) } } == nil)
    }

    @Test func bombIsCappedAtTheLimit() throws {
        let zeros = [UInt8](repeating: 0, count: 1_000_000)
        let bomb = try #require(plain.deflate(zeros))
        #expect(bomb.count == 985)
        #expect(throws: RawDeflate.InflateError.tooLarge) { try plain.inflate(bomb, limit: 64 * 1024) }
        #expect(try plain.inflate(bomb, limit: 1_000_000) == zeros)
        #expect(throws: RawDeflate.InflateError.tooLarge) { try plain.inflate(bomb, limit: 999_999) }
    }

    @Test func rejectsCorruptTruncatedAndTrailingInput() throws {
        let stream = try #require(plain.deflate(Array("hello, hello, hello".utf8)))
        #expect(throws: RawDeflate.InflateError.corrupt) { try plain.inflate(stream.dropLast(), limit: 100) }
        #expect(throws: RawDeflate.InflateError.trailingData) { try plain.inflate(stream + [0], limit: 100) }
        // Block type 3 is reserved.
        #expect(throws: RawDeflate.InflateError.corrupt) { try plain.inflate([0xFF, 0xFF], limit: 100) }
        #expect(throws: RawDeflate.InflateError.corrupt) { try plain.inflate([UInt8](), limit: 100) }
        // A stored block whose length check (NLEN) is wrong.
        #expect(throws: RawDeflate.InflateError.corrupt) { try plain.inflate([0x01, 0x01, 0x00, 0x00, 0x00, 0x41], limit: 100) }
    }

    /// One inflater through a mix of good and bad inputs gives, each time, what a fresh one
    /// gives: nothing of an earlier input (a bomb cut off, a corrupt stream, a dictionary
    /// match) leaks into the next.
    @Test func aKeptInflaterAnswersEachInputAsAFreshOneDoes() throws {
        let codec = RawDeflate(windowBits: 10, memLevel: 4, level: 6, dictionary: Array("https://www.example.com/".utf8))
        let inflater = RawDeflate.Inflater(codec)
        var rng = SeededGenerator(seed: 5)
        let good = try (0..<20).map { n in
            let text = Array("https://www.example.com/item?id=\(n)&p=".utf8) + (0..<n * 7).map { _ in UInt8.random(in: 97...122, using: &rng) }
            return (text, try #require(codec.deflate(text)))
        }
        let bomb = try #require(codec.deflate([UInt8](repeating: 0x41, count: 100_000)))
        func fresh(_ input: [UInt8], _ limit: Int) -> Result<[UInt8], RawDeflate.InflateError> {
            Result { () throws(RawDeflate.InflateError) in try codec.inflate(input, limit: limit) }
        }
        func kept(_ input: [UInt8], _ limit: Int) -> Result<[UInt8], RawDeflate.InflateError> {
            Result { () throws(RawDeflate.InflateError) in try inflater.inflate(input, limit: limit) }
        }
        for round in 0..<60 {
            let (text, stream) = good[round % good.count]
            let inputs: [([UInt8], Int)] = [
                (stream, 4096), (bomb, 1000), (stream.dropLast(), 4096), (stream + [0], 4096),
                ([0xFF, 0xFF], 100), (stream, text.count - 1), ([], 100),
            ]
            let (input, limit) = inputs[round % inputs.count]
            #expect(kept(input, limit) == fresh(input, limit))
            #expect(try inflater.inflate(stream, limit: 4096) == text)
        }
    }
}
