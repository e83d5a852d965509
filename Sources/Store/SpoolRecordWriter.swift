/// The building blocks of the spooled records (``RedisCommandBatch``, the tracker's event
/// batches): LEB128 varints, big-endian 64-bit words, and fields written as a varint length
/// followed by the bytes.
public enum SpoolRecordWriter {
    @inlinable
    public static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    @inlinable
    public static func appendFixed64(_ value: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    @inlinable
    public static func appendField(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        appendVarint(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }
}
