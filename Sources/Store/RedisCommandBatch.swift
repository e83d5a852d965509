/// A batch of Redis commands as one self-describing byte record, so it can wait in the
/// ``Spool`` and be replayed later exactly as submitted.
///
/// Layout: version byte `1`, then LEB128 varints: the number of commands; for each command
/// its argument count (at least 1); for each argument its length followed by its bytes.
public struct RedisCommandBatch: Equatable, Sendable {
    public static let formatVersion: UInt8 = 1

    public var commands: [RedisCommand]

    public init(_ commands: [RedisCommand]) {
        self.commands = commands
    }

    /// The serialized record.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [Self.formatVersion]
        Self.appendVarint(UInt64(commands.count), to: &out)
        for command in commands {
            Self.appendVarint(UInt64(command.count), to: &out)
            for argument in command {
                Self.appendVarint(UInt64(argument.count), to: &out)
                out.append(contentsOf: argument)
            }
        }
        return out
    }

    /// Parses a record produced by ``encoded()``; any inconsistency is a typed error.
    public init(decoding bytes: [UInt8]) throws(CommandBatchDecodingError) {
        var reader = Reader(bytes: bytes)
        guard let version = reader.byte() else { throw .truncated }
        guard version == Self.formatVersion else { throw .unsupportedVersion(version) }
        let commandCount = try reader.count()
        var commands: [RedisCommand] = []
        commands.reserveCapacity(min(commandCount, bytes.count))
        for _ in 0..<commandCount {
            let argumentCount = try reader.count()
            guard argumentCount > 0 else { throw .emptyCommand }
            var command: RedisCommand = []
            command.reserveCapacity(min(argumentCount, bytes.count))
            for _ in 0..<argumentCount {
                let length = try reader.count()
                guard let argument = reader.take(length) else { throw .truncated }
                command.append(argument)
            }
            commands.append(command)
        }
        guard reader.atEnd else { throw .trailingBytes }
        self.commands = commands
    }

    private static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        var atEnd: Bool { position == bytes.count }

        mutating func byte() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        /// A varint that counts something inside this record, so it cannot exceed its size.
        mutating func count() throws(CommandBatchDecodingError) -> Int {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard let next = byte() else { throw .truncated }
                guard shift < 63 else { throw .malformedLength }
                value |= UInt64(next & 0x7F) << shift
                if next & 0x80 == 0 { break }
                shift += 7
            }
            guard value <= UInt64(bytes.count) else { throw .malformedLength }
            return Int(value)
        }

        mutating func take(_ length: Int) -> [UInt8]? {
            guard bytes.count - position >= length else { return nil }
            defer { position += length }
            return Array(bytes[position..<position + length])
        }
    }
}

/// Why a spooled record is not a valid ``RedisCommandBatch``.
public enum CommandBatchDecodingError: Error, Equatable, Sendable {
    case unsupportedVersion(UInt8)
    case truncated
    case malformedLength
    case emptyCommand
    case trailingBytes
}
