/// The two ways a record can fail to read whatever it holds; each record type's decoding
/// error has these cases (and its own).
public protocol SpoolRecordDecodingError: Error {
    /// The record ends inside a value.
    static var truncated: Self { get }
    /// A varint is over 63 bits, or a count or length exceeds the record's size.
    static var malformedLength: Self { get }
}

/// Reads the values ``SpoolRecordWriter`` wrote, front to back; a record that ends early or
/// holds an impossible length is a `Failure`, never a crash (records come from disk).
public struct SpoolRecordReader<Failure: SpoolRecordDecodingError> {
    public let bytes: [UInt8]
    @usableFromInline var position = 0

    @inlinable
    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    @inlinable
    public var atEnd: Bool { position == bytes.count }

    @inlinable
    public mutating func byte() throws(Failure) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    @inlinable
    public mutating func take(_ length: Int) throws(Failure) -> ArraySlice<UInt8> {
        guard bytes.count - position >= length else { throw .truncated }
        defer { position += length }
        return bytes[position..<position + length]
    }

    @inlinable
    public mutating func fixed64() throws(Failure) -> UInt64 {
        try take(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    @inlinable
    public mutating func varint() throws(Failure) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 63 else { throw .malformedLength }
            value |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A count or length inside this record, so it cannot exceed the record's size.
    @inlinable
    public mutating func count() throws(Failure) -> Int {
        let value = try varint()
        guard value <= UInt64(bytes.count) else { throw .malformedLength }
        return Int(value)
    }

    /// A field: its length, then that many bytes.
    @inlinable
    public mutating func field() throws(Failure) -> [UInt8] {
        Array(try take(try count()))
    }
}
