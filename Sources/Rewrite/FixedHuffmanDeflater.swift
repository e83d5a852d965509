/// A raw deflate encoder for short inputs with a preset dictionary: greedy LZ77 matching and
/// a single block of fixed Huffman codes (RFC 1951 §3.2.6).
///
/// For an input of a hundred bytes zlib spends most of its time setting up a stream,
/// hashing the dictionary and building dynamic Huffman trees that such inputs cannot profit
/// from (zlib picks the fixed codes for them anyway). Here the dictionary is indexed once,
/// at initialisation, and a call costs little more than one pass over the input. The output
/// is ordinary raw deflate: `RawDeflate` (zlib) inflates it with the same dictionary and a
/// window of at least `windowSize`.
struct FixedHuffmanDeflater: Sendable {
    /// Matches reach at most this far back (the decoder's window size).
    let windowSize: Int
    let dictionary: [UInt8]
    /// Most recent dictionary position for each hash of three bytes, or -1.
    private let dictionaryHead: [Int32]
    /// Previous dictionary position with the same hash, per position, or -1.
    private let dictionaryPrevious: [Int32]
    /// Code and extra bits of every distance 0...windowSize (0 unused).
    private let distanceCodes: [FixedCodes.Code]

    private static let hashBits = 10
    private static let hashSize = 1 << hashBits
    private static let minimumMatch = 3
    private static let maximumMatch = 258
    /// Candidates examined per position: plenty for URL-sized inputs, bounded for any input.
    private static let maximumChain = 32

    init(dictionary: [UInt8], windowBits: Int) {
        precondition((9...15).contains(windowBits), "FixedHuffmanDeflater: windowBits must be 9...15")
        windowSize = 1 << windowBits
        // Only the last windowSize bytes of a dictionary are reachable, as in zlib.
        self.dictionary = Array(dictionary.suffix(windowSize))
        var head = [Int32](repeating: -1, count: Self.hashSize)
        var previous = [Int32](repeating: -1, count: self.dictionary.count)
        self.dictionary.withUnsafeBufferPointer { bytes in
            for position in 0..<Swift.max(0, bytes.count - 2) {
                let h = Self.hash(bytes.baseAddress! + position)
                previous[position] = head[h]
                head[h] = Int32(position)
            }
        }
        dictionaryHead = head
        dictionaryPrevious = previous
        distanceCodes = (0...windowSize).map(FixedCodes.distance)
    }

    /// Compresses `input` into the start of `output`; returns the compressed size, or nil
    /// when it does not fit in `output`.
    func deflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        let start = dictionary.count
        let end = start + input.count
        guard end < Int(Int32.max) else { return nil }
        // The dictionary and the input as one sequence, with hash chains over all of it.
        // (One spare element each, so that the buffers exist even for empty input.)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: end + 1) { text in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.hashSize + end + 1) { chains in
                let text = text.baseAddress!
                let head = chains.baseAddress!
                let previous = head + Self.hashSize
                dictionaryHead.withUnsafeBufferPointer { head.initialize(from: $0.baseAddress!, count: Self.hashSize) }
                if start > 0 {
                    dictionary.withUnsafeBufferPointer { text.initialize(from: $0.baseAddress!, count: start) }
                    dictionaryPrevious.withUnsafeBufferPointer { previous.initialize(from: $0.baseAddress!, count: start) }
                }
                if let source = input.baseAddress, input.count > 0 {
                    (text + start).initialize(from: source.assumingMemoryBound(to: UInt8.self), count: input.count)
                }
                // The last two dictionary positions hash bytes of the input.
                for position in Swift.max(0, start - 2)..<start where position + Self.minimumMatch <= end {
                    insert(position, text: text, head: head, previous: previous)
                }

                var writer = BitWriter(output: output)
                writer.write(0b011, count: 3)  // BFINAL = 1, BTYPE = 01 (fixed codes)
                var position = start
                while position < end {
                    var bestLength = 0
                    var bestDistance = 0
                    if end - position >= Self.minimumMatch {
                        let limit = Swift.min(Self.maximumMatch, end - position)
                        let nearest = position - windowSize
                        var candidate = Int(head[Self.hash(text + position)])
                        var chain = Self.maximumChain
                        while candidate >= 0, candidate >= nearest, chain > 0 {
                            if text[candidate + bestLength] == text[position + bestLength] {
                                var length = 0
                                while length < limit, text[candidate + length] == text[position + length] { length += 1 }
                                if length > bestLength {
                                    bestLength = length
                                    bestDistance = position - candidate
                                    if length == limit { break }
                                }
                            }
                            candidate = Int(previous[candidate])
                            chain -= 1
                        }
                        insert(position, text: text, head: head, previous: previous)
                    }
                    if bestLength >= Self.minimumMatch {
                        let code = FixedCodes.length[bestLength]
                        writer.write(code.bits, count: code.count)
                        let distance = distanceCodes[bestDistance]
                        writer.write(distance.bits, count: distance.count)
                        for next in (position + 1)..<(position + bestLength) where next + Self.minimumMatch <= end {
                            insert(next, text: text, head: head, previous: previous)
                        }
                        position += bestLength
                    } else {
                        let code = FixedCodes.literal[Int(text[position])]
                        writer.write(code.bits, count: code.count)
                        position += 1
                    }
                    if writer.overflowed { return nil }
                }
                writer.write(0, count: 7)  // end of block: symbol 256 is seven zero bits
                writer.flush()
                return writer.overflowed ? nil : writer.byteCount
            }
        }
    }

    @inline(__always)
    private static func hash(_ p: UnsafePointer<UInt8>) -> Int {
        let v = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16
        return Int((v &* 2_654_435_761) >> UInt32(32 - hashBits))
    }

    @inline(__always)
    private func insert(_ position: Int, text: UnsafePointer<UInt8>, head: UnsafeMutablePointer<Int32>,
                        previous: UnsafeMutablePointer<Int32>) {
        let h = Self.hash(text + position)
        previous[position] = head[h]
        head[h] = Int32(position)
    }
}

/// Writes deflate's bit stream: least significant bit first, into a fixed buffer.
private struct BitWriter {
    let output: UnsafeMutableRawBufferPointer
    private(set) var byteCount = 0
    private(set) var overflowed = false
    private var pending: UInt64 = 0
    private var pendingCount = 0

    init(output: UnsafeMutableRawBufferPointer) {
        self.output = output
    }

    @inline(__always)
    mutating func write(_ bits: UInt32, count: UInt32) {
        pending |= UInt64(bits) << UInt64(pendingCount)
        pendingCount += Int(count)
        while pendingCount >= 8 {
            guard byteCount < output.count else {
                overflowed = true
                return
            }
            output[byteCount] = UInt8(truncatingIfNeeded: pending)
            byteCount += 1
            pending >>= 8
            pendingCount -= 8
        }
    }

    /// Pads the last byte with zero bits.
    mutating func flush() {
        if !overflowed, pendingCount > 0 { write(0, count: UInt32(8 - pendingCount)) }
    }
}

/// RFC 1951 §3.2.5-3.2.6: fixed Huffman codes of literals, match lengths (symbol plus extra
/// bits) and distances, bit-reversed for writing least significant bit first.
private enum FixedCodes {
    struct Code {
        var bits: UInt32
        var count: UInt32
    }

    static let literal: [Code] = (0...255).map(symbol)

    /// Indexed by match length 0...258 (0...2 unused).
    static let length: [Code] = (0...258).map { length in
        guard length >= 3 else { return Code(bits: 0, count: 0) }
        let index = lengthBase.lastIndex { $0 <= length }!
        let code = symbol(257 + index)
        let extra = UInt32(lengthExtra[index])
        return Code(bits: code.bits | UInt32(length - lengthBase[index]) << code.count, count: code.count + extra)
    }

    /// The code of a distance 1...32768 (0 gives an empty code).
    static func distance(_ distance: Int) -> Code {
        guard distance >= 1 else { return Code(bits: 0, count: 0) }
        let index = distanceBase.lastIndex { $0 <= distance }!
        let extra = UInt32(distanceExtra[index])
        return Code(bits: reversed(UInt32(index), count: 5) | UInt32(distance - distanceBase[index]) << 5, count: 5 + extra)
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83,
                                     99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11,
                                        12, 12, 13, 13]

    /// The fixed code of a literal/length symbol 0...287.
    private static func symbol(_ s: Int) -> Code {
        switch s {
        case 0...143: return Code(bits: reversed(UInt32(0x30 + s), count: 8), count: 8)
        case 144...255: return Code(bits: reversed(UInt32(0x190 + s - 144), count: 9), count: 9)
        case 256...279: return Code(bits: reversed(UInt32(s - 256), count: 7), count: 7)
        default: return Code(bits: reversed(UInt32(0xC0 + s - 280), count: 8), count: 8)
        }
    }

    private static func reversed(_ value: UInt32, count: Int) -> UInt32 {
        var result: UInt32 = 0
        for i in 0..<count where value & (1 << UInt32(i)) != 0 { result |= 1 << UInt32(count - 1 - i) }
        return result
    }
}
