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
        SpoolRecordWriter.appendVarint(UInt64(commands.count), to: &out)
        for command in commands {
            SpoolRecordWriter.appendVarint(UInt64(command.count), to: &out)
            for argument in command {
                SpoolRecordWriter.appendField(argument, to: &out)
            }
        }
        return out
    }

    /// Parses a record produced by ``encoded()``; any inconsistency is a typed error.
    public init(decoding bytes: [UInt8]) throws(CommandBatchDecodingError) {
        var reader = SpoolRecordReader<CommandBatchDecodingError>(bytes: bytes)
        let version = try reader.byte()
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
                command.append(try reader.field())
            }
            commands.append(command)
        }
        guard reader.atEnd else { throw .trailingBytes }
        self.commands = commands
    }
}

/// Why a spooled record is not a valid ``RedisCommandBatch``.
public enum CommandBatchDecodingError: SpoolRecordDecodingError, Equatable, Sendable {
    case unsupportedVersion(UInt8)
    case truncated
    case malformedLength
    case emptyCommand
    case trailingBytes
}
