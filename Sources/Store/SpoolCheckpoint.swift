/// The replay position persisted in the spool's `checkpoint` file: everything before
/// `offset` in segment `segment`, and every earlier segment, has been delivered.
///
/// Stored as `segment (u64 LE) | offset (u64 LE) | crc32 (u32 LE)`, overwritten in place
/// after every delivered record. A missing or damaged checkpoint reads as "nothing
/// delivered", which re-delivers (at least once) instead of losing anything.
struct SpoolCheckpoint: Equatable {
    static let size = 20

    var segment: UInt64
    var offset: Int

    static let start = SpoolCheckpoint(segment: 0, offset: 0)

    func encoded() -> [UInt8] {
        let body = SpoolFrame.littleEndian(segment) + SpoolFrame.littleEndian(UInt64(offset))
        return body + SpoolFrame.littleEndian(SpoolFrame.checksum(lengthBytes: [], payload: body))
    }

    /// nil when the bytes are short or the CRC does not match.
    init?(decoding bytes: [UInt8]) {
        guard bytes.count >= Self.size else { return nil }
        let body = Array(bytes[0..<16])
        guard SpoolFrame.checksum(lengthBytes: [], payload: body) == SpoolFrame.readLittleEndian(bytes, at: 16) else {
            return nil
        }
        let offset = SpoolFrame.readLittleEndian64(bytes, at: 8)
        guard offset <= UInt64(Int.max) else { return nil }
        self.init(segment: SpoolFrame.readLittleEndian64(bytes, at: 0), offset: Int(offset))
    }

    init(segment: UInt64, offset: Int) {
        self.segment = segment
        self.offset = offset
    }
}
