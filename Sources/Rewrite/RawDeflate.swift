import CZlib

/// zlib raw deflate (RFC 1951: no zlib or gzip wrapper, no checksum) with an optional
/// preset dictionary, and an inflater whose output is capped.
///
/// zlib's defaults (32 KiB window, memLevel 8) allocate and clear about 256 KiB per stream,
/// which dominates the cost of compressing a URL; for small inputs pass a small window and
/// memLevel (a few KiB per stream). The inflating side needs the same dictionary and a window
/// at least as large: both are part of any format built on this.
public struct RawDeflate: Sendable {
    /// Why `inflate` refused its input.
    public enum InflateError: Error, Equatable, Sendable {
        /// Not a valid raw deflate stream (bad block, distance too far back, ends early).
        case corrupt
        /// The stream inflates to more than the limit (a deflate bomb, or simply too big).
        case tooLarge
        /// Bytes follow the end of the deflate stream.
        case trailingData
        /// zlib could not allocate its state.
        case outOfMemory
    }

    /// Base-two logarithm of the window size, 9...15.
    public let windowBits: Int32
    /// zlib memLevel, 1...9: sets the hash table and literal buffer sizes.
    public let memLevel: Int32
    /// Compression level, 1...9.
    public let level: Int32
    /// Preset dictionary: strings likely to occur in the input (most likely last).
    public let dictionary: [UInt8]

    public init(windowBits: Int32 = 15, memLevel: Int32 = 8, level: Int32 = 6, dictionary: [UInt8] = []) {
        precondition((9...15).contains(windowBits), "RawDeflate: windowBits must be 9...15")
        precondition((1...9).contains(memLevel), "RawDeflate: memLevel must be 1...9")
        precondition((1...9).contains(level), "RawDeflate: level must be 1...9")
        self.windowBits = windowBits
        self.memLevel = memLevel
        self.level = level
        self.dictionary = dictionary
    }

    /// Compresses `input` into the start of `output`; returns the compressed size, or nil
    /// when it does not fit in `output` (callers pass the size they would accept) or zlib
    /// could not allocate its state.
    public func deflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard let outputBase = output.baseAddress, output.count > 0 else { return nil }
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, -windowBits, memLevel, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return nil }
        defer { deflateEnd(&stream) }
        if !dictionary.isEmpty {
            let status = dictionary.withUnsafeBufferPointer {
                deflateSetDictionary(&stream, $0.baseAddress, UInt32($0.count))
            }
            guard status == Z_OK else { return nil }
        }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = UInt32(input.count)
        stream.next_out = outputBase.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = UInt32(clamping: output.count)
        // One call with Z_FINISH: Z_STREAM_END means everything fit; anything else means
        // the output space ran out first.
        guard CZlib.deflate(&stream, Z_FINISH) == Z_STREAM_END else { return nil }
        return Int(stream.total_out)
    }

    /// Compresses `input`; nil only when zlib could not allocate its state.
    public func deflate(_ input: some Collection<UInt8>) -> [UInt8]? {
        let compress = { (source: UnsafeRawBufferPointer) -> [UInt8]? in
            // zlib's conservative deflateBound() for any window and memLevel (raw: no wrapper).
            let bound = source.count + (source.count + 7) / 8 + (source.count + 63) / 64 + 5
            var failed = false
            let result = [UInt8](unsafeUninitializedCapacity: bound) { out, count in
                if let n = deflate(source, into: UnsafeMutableRawBufferPointer(out)) {
                    count = n
                } else {
                    failed = true
                    count = 0
                }
            }
            return failed ? nil : result
        }
        if let result = input.withContiguousStorageIfAvailable({ compress(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(input).withUnsafeBytes(compress)
    }

    /// Decompresses `input`, which must be exactly one complete raw deflate stream, refusing
    /// to produce more than `limit` bytes: memory use is bounded whatever the input.
    public func inflate(_ input: some Collection<UInt8>, limit: Int) throws(InflateError) -> [UInt8] {
        try Inflater(self).inflate(input, limit: limit)
    }

    /// Decompresses `input` (see `inflate(_:limit:)`).
    public func inflate(_ input: UnsafeRawBufferPointer, limit: Int) throws(InflateError) -> [UInt8] {
        try Inflater(self).inflate(input, limit: limit)
    }

    /// An inflater that keeps zlib's state between inputs, for a caller that inflates many
    /// small ones (a server decoding link tokens): the state is allocated once, then only
    /// reset. One thread at a time.
    public final class Inflater {
        public let format: RawDeflate
        /// zlib's state points back at its stream, so the stream must not move: it lives here.
        private let stream: UnsafeMutablePointer<z_stream>
        private var initialized = false

        public init(_ format: RawDeflate) {
            self.format = format
            stream = .allocate(capacity: 1)
            stream.initialize(to: z_stream())
        }

        deinit {
            if initialized { inflateEnd(stream) }
            stream.deinitialize(count: 1)
            stream.deallocate()
        }

        /// Decompresses `input` as ``RawDeflate/inflate(_:limit:)`` does.
        public func inflate(_ input: some Collection<UInt8>, limit: Int) throws(InflateError) -> [UInt8] {
            let attempt = { (buffer: UnsafeRawBufferPointer) in
                Result { () throws(InflateError) in try self.inflate(buffer, limit: limit) }
            }
            let result = input.withContiguousStorageIfAvailable { attempt(UnsafeRawBufferPointer($0)) }
                ?? Array(input).withUnsafeBytes(attempt)
            return try result.get()
        }

        /// Decompresses `input` as ``RawDeflate/inflate(_:limit:)`` does.
        public func inflate(_ input: UnsafeRawBufferPointer, limit: Int) throws(InflateError) -> [UInt8] {
            if initialized {
                guard inflateReset(stream) == Z_OK else { throw .outOfMemory }
            } else {
                guard inflateInit2_(stream, -format.windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
                else { throw .outOfMemory }
                initialized = true
            }
            if !format.dictionary.isEmpty {
                let status = format.dictionary.withUnsafeBufferPointer {
                    inflateSetDictionary(stream, $0.baseAddress, UInt32($0.count))
                }
                guard status == Z_OK else { throw .outOfMemory }
            }
            guard input.count <= UInt32.max else { throw .tooLarge }
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = UInt32(input.count)

            // Inflate in chunks so that a bomb costs at most `limit` bytes plus one chunk.
            let chunkSize = 4096
            var output: [UInt8] = []
            output.reserveCapacity(Swift.min(limit, Swift.max(256, input.count * 4)))
            return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunkSize) { chunk throws(InflateError) in
                while true {
                    stream.pointee.next_out = chunk.baseAddress
                    stream.pointee.avail_out = UInt32(chunkSize)
                    let status = CZlib.inflate(stream, Z_NO_FLUSH)
                    let produced = chunkSize - Int(stream.pointee.avail_out)
                    if output.count + produced > limit { throw .tooLarge }
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<produced]))
                    switch status {
                    case Z_STREAM_END:
                        guard stream.pointee.avail_in == 0 else { throw .trailingData }
                        return output
                    case Z_OK:
                        continue
                    case Z_MEM_ERROR:
                        throw .outOfMemory
                    default:
                        // Z_BUF_ERROR: no progress possible, i.e. the input ended mid-stream;
                        // Z_DATA_ERROR / Z_NEED_DICT / Z_STREAM_ERROR: invalid stream.
                        throw .corrupt
                    }
                }
            }
        }
    }
}
