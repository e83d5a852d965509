import Testing
@testable import Rewrite

/// The fast encoder's output is checked with zlib (`RawDeflate.inflate`) as the oracle.
@Suite struct FixedHuffmanDeflaterTests {
    private func compress(_ input: [UInt8], with encoder: FixedHuffmanDeflater, space: Int? = nil) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: space ?? input.count + input.count / 8 + 16)
        let count = input.withUnsafeBytes { source in output.withUnsafeMutableBytes { encoder.deflate(source, into: $0) } }
        return count.map { Array(output.prefix($0)) }
    }

    private func hex(_ bytes: [UInt8]?) -> String? {
        bytes.map { $0.map { String($0 >> 4, radix: 16) + String($0 & 0xF, radix: 16) }.joined() }
    }

    @Test func knownStreams() throws {
        let plain = FixedHuffmanDeflater(dictionary: [], windowBits: 15)
        // The first two are byte for byte what zlib writes.
        #expect(hex(compress([], with: plain)) == "0300")
        #expect(hex(compress(Array("a".utf8), with: plain)) == "4b0400")
        // 7 literals, then one 12-byte match at distance 7 (zlib's lazy matcher needs a byte more).
        let hello = try #require(compress(Array("hello, hello, hello".utf8), with: plain))
        #expect(hex(hello) == "cb48cdc9c9d75140a600")
        #expect(try RawDeflate().inflate(hello, limit: 100) == Array("hello, hello, hello".utf8))
        // One 11-byte match reaching into the dictionary.
        let dictionary = Array("hello world".utf8)
        let world = try #require(compress(dictionary, with: FixedHuffmanDeflater(dictionary: dictionary, windowBits: 15)))
        #expect(hex(world) == "43620200")
        #expect(try RawDeflate(dictionary: dictionary).inflate(world, limit: 100) == dictionary)
    }

    @Test func roundTripsThroughZlib() throws {
        let dictionary = TrackingToken.urlDictionary
        let configurations = [
            (FixedHuffmanDeflater(dictionary: dictionary, windowBits: 10), RawDeflate(windowBits: 10, dictionary: dictionary)),
            (FixedHuffmanDeflater(dictionary: [], windowBits: 9), RawDeflate(windowBits: 9)),
            // A dictionary longer than the window: both sides keep its last 512 bytes.
            (FixedHuffmanDeflater(dictionary: Array(repeating: dictionary, count: 6).flatMap { $0 }, windowBits: 9),
             RawDeflate(windowBits: 9, dictionary: Array(repeating: dictionary, count: 6).flatMap { $0 })),
        ]
        var rng = SeededGenerator(seed: 99)
        let fragments = ["https://", "www.", "example.com/", "?utm_source=newsletter", "&utm_medium=email", "aaaa",
                         "/", "%2F", "x", "Z9"].map { Array($0.utf8) }
        for (encoder, decoder) in configurations {
            for round in 0..<300 {
                let target = Int.random(in: 0...(round < 250 ? 300 : 3000), using: &rng)
                var input: [UInt8] = []
                while input.count < target {
                    switch Int.random(in: 0..<4, using: &rng) {
                    case 0: input += (0..<Int.random(in: 1...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    case 1: input += [UInt8](repeating: UInt8.random(in: 0...255, using: &rng), count: Int.random(in: 1...600, using: &rng))
                    default: input += fragments.randomElement(using: &rng)!
                    }
                }
                let compressed = try #require(compress(input, with: encoder))
                #expect(try decoder.inflate(compressed, limit: input.count) == input)
            }
        }
    }

    @Test func distancesUpToTheWindowSurviveInflateChunkBoundaries() throws {
        // zlib inflates in 4 KiB chunks; matches just past 4096 reach back into its window.
        var rng = SeededGenerator(seed: 5)
        let random = (0..<4000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let encoder = FixedHuffmanDeflater(dictionary: [], windowBits: 10)
        let alone = try #require(compress(random, with: encoder)).count
        for distance in [1000, 1024] {
            let input = random + random[(4000 - distance)..<(4000 - distance + 300)]
            let compressed = try #require(compress(input, with: encoder))
            #expect(compressed.count < alone + 10)   // the copy costs a few matches, not 300 literals
            #expect(try RawDeflate(windowBits: 10).inflate(compressed, limit: input.count) == input)
        }
    }

    @Test func longRunsUseMaximumLengthMatches() throws {
        let encoder = FixedHuffmanDeflater(dictionary: [], windowBits: 10)
        let run = [UInt8](repeating: 0x61, count: 10_000)
        let compressed = try #require(compress(run, with: encoder))
        #expect(compressed.count < 100)
        #expect(try RawDeflate(windowBits: 10).inflate(compressed, limit: run.count) == run)
    }

    @Test func failsWhenTheOutputDoesNotFit() throws {
        let encoder = TrackingToken.urlEncoder
        let url = Array("https://www.example.com/?utm_source=newsletter&utm_medium=email".utf8)
        let fits = try #require(compress(url, with: encoder))
        #expect(compress(url, with: encoder, space: fits.count) == fits)
        #expect(compress(url, with: encoder, space: fits.count - 1) == nil)
        #expect(compress(url, with: encoder, space: 0) == nil)
        let random = Array("Q7#Zk!2vX9".utf8)
        #expect(compress(random, with: encoder, space: random.count) == nil)
    }

    @Test func compressesTypicalURLsAboutAsWellAsZlib() throws {
        let urls = [
            "https://app.example.com/account/confirm?token=7f3a9c2e&utm_source=email&utm_medium=transactional",
            "https://app.example.com/login?next=%2Fdashboard&ref=mail",
            "https://www.example.com/products/shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_2024",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://example.com/unsubscribe?email=jane%40example.com&list=weekly",
            "https://docs.example.io/en/latest/getting-started/installation.html#requirements",
        ].map { Array($0.utf8) }
        var fast = 0
        var zlib = 0
        for url in urls {
            fast += try #require(compress(url, with: TrackingToken.urlEncoder)).count
            zlib += try #require(TrackingToken.urlCompression.deflate(url)).count
        }
        let raw = urls.reduce(0) { $0 + $1.count }
        #expect(fast * 100 < raw * 70)
        #expect(fast * 100 <= zlib * 105)
    }
}
