import CZlib

/// gzip (RFC 1952) compression of webhook bodies, through zlib.
enum Gzip {
    /// zlib refused to work (it could not allocate its state).
    struct Failure: Error, CustomStringConvertible {
        let status: Int32
        var description: String { "zlib failed (status \(status))" }
    }

    /// `input` as one gzip member (`Content-Encoding: gzip`).
    static func compress(_ input: [UInt8], level: Int32 = 6) throws(Failure) -> [UInt8] {
        guard input.count <= Int(UInt32.max) / 2 else { throw Failure(status: Z_BUF_ERROR) }
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
        let initialized = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                        zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initialized == Z_OK else { throw Failure(status: initialized) }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.count)))
        var status: Int32 = Z_OK
        let output = input.withUnsafeBufferPointer { source in
            [UInt8](unsafeUninitializedCapacity: bound) { out, count in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = UInt32(source.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                // deflateBound covers the whole output, so one Z_FINISH call completes it.
                status = deflate(&stream, Z_FINISH)
                count = status == Z_STREAM_END ? Int(stream.total_out) : 0
            }
        }
        guard status == Z_STREAM_END else { throw Failure(status: status) }
        return output
    }
}
