/// The 128-bit random identifier of one tracked message.
///
/// It travels in every token of the message and in the `X-MailTrail-ID` header, and keys the
/// enrichment record (`mt:msg:<hex>`); being random, it reveals nothing about the recipient.
public struct TrackingID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes, big-endian halves (so `bytes` and `hex` read in order).
    private let high: UInt64
    private let low: UInt64

    /// Number of bytes in an ID.
    public static let byteCount = 16

    /// An ID from its 16 bytes.
    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == TrackingID.byteCount, "TrackingID needs exactly 16 bytes")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { high = high << 8 | UInt64(b) } else { low = low << 8 | UInt64(b) }
        }
        self.high = high
        self.low = low
    }

    /// Parses 32 hexadecimal digits (either case); nil for anything else.
    public init?(hex: some StringProtocol) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var count = 0
        for c in hex.utf8 {
            guard count < 32, let v = ASCII.hexValue(c) else { return nil }
            if count < 16 { high = high << 4 | UInt64(v) } else { low = low << 4 | UInt64(v) }
            count += 1
        }
        guard count == 32 else { return nil }
        self.high = high
        self.low = low
    }

    /// A fresh ID from the system's cryptographically secure generator.
    public static func random() -> TrackingID {
        var generator = SystemRandomNumberGenerator()
        return TrackingID(high: generator.next(), low: generator.next())
    }

    private init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The 16 bytes.
    public var bytes: [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(TrackingID.byteCount)
        append(to: &result)
        return result
    }

    /// Appends the 16 bytes to `buffer`.
    public func append(to buffer: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
    }

    /// Writes the 16 bytes at the start of `buffer` (at least 16 bytes long).
    func write(to buffer: UnsafeMutableRawBufferPointer) {
        buffer.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
        buffer.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// 32 lower-case hexadecimal digits.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(32)
        for half in [high, low] {
            for shift in stride(from: 60, through: 0, by: -4) {
                text.append(digits[Int(half >> UInt64(shift) & 0xF)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    public var description: String { hex }
}
