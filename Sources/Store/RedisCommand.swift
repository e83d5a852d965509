/// One Redis command as its argument vector, binary-safe: `[Array("HSET".utf8), key, field, value]`.
///
/// Commands are always sent with `redisCommandArgv`/`redisAppendCommandArgv` (hiredis'
/// variadic formatting functions are unavailable from Swift, and argv needs no escaping).
public typealias RedisCommand = [[UInt8]]

extension Array where Element == [UInt8] {
    /// Builds a command from text arguments, each sent as its UTF-8 bytes.
    public init(redisArguments arguments: [String]) {
        self = arguments.map { [UInt8]($0.utf8) }
    }
}
