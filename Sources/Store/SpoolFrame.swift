import CZlib

/// How one record sits in a spool segment: `length (u32 LE) | crc32 (u32 LE) | payload`.
///
/// The CRC (zlib's CRC-32) covers the four length bytes and the payload, so a record torn
/// by a crash (short payload, garbage length) or damaged on disk is recognised.
enum SpoolFrame {
    static let headerSize = 8

    /// Header and payload, ready to be written in one call.
    static func encode(_ payload: [UInt8]) -> [UInt8] {
        let lengthBytes = littleEndian(UInt32(payload.count))
        var frame: [UInt8] = []
        frame.reserveCapacity(headerSize + payload.count)
        frame.append(contentsOf: lengthBytes)
        frame.append(contentsOf: littleEndian(checksum(lengthBytes: lengthBytes, payload: payload)))
        frame.append(contentsOf: payload)
        return frame
    }

    /// The payload length announced by a header.
    static func length(ofHeader header: [UInt8]) -> Int {
        Int(readLittleEndian(header, at: 0))
    }

    /// True when the header's CRC matches the payload.
    static func isIntact(header: [UInt8], payload: [UInt8]) -> Bool {
        checksum(lengthBytes: Array(header[0..<4]), payload: payload) == readLittleEndian(header, at: 4)
    }

    static func checksum(lengthBytes: [UInt8], payload: [UInt8]) -> UInt32 {
        var crc = lengthBytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        crc = payload.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return crc }
            return crc32(crc, base, UInt32(buffer.count))
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    static func littleEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
         UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)]
    }

    static func littleEndian(_ value: UInt64) -> [UInt8] {
        littleEndian(UInt32(truncatingIfNeeded: value)) + littleEndian(UInt32(truncatingIfNeeded: value >> 32))
    }

    static func readLittleEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    static func readLittleEndian64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        UInt64(readLittleEndian(bytes, at: offset)) | UInt64(readLittleEndian(bytes, at: offset + 4)) << 32
    }
}
