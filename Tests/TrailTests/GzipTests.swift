import CZlib
import Testing
@testable import Trail

@Suite struct GzipTests {
    @Test func roundTripsThroughZlibsGunzip() throws {
        for input in [[], Array("[]".utf8), Array(String(repeating: #"{"event":"opened","id":"0123"},"#, count: 500).utf8),
                      (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }] {
            let compressed = try Gzip.compress(input)
            #expect(Array(compressed.prefix(3)) == [0x1F, 0x8B, 0x08], "gzip magic and deflate method")
            #expect(try gunzip(compressed) == input)
        }
    }

    @Test func repetitiveJSONShrinks() throws {
        let input = Array(String(repeating: #"{"event":"opened","id":"0123"},"#, count: 500).utf8)
        #expect(try Gzip.compress(input).count * 20 < input.count)
    }

    /// Inflates one gzip member with zlib (windowBits 15 + 16), independently of the code under test.
    private func gunzip(_ data: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        #expect(inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var input = data
        var chunk = [UInt8](repeating: 0, count: 4096)
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { out -> Int in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                output += chunk[0..<produced]
            } while status == Z_OK
        }
        #expect(status == Z_STREAM_END)
        #expect(stream.avail_in == 0)
        return output
    }
}
