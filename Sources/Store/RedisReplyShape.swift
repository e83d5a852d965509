/// A reply read for its shape only (``RedisConnection/pipelineShapes(_:)``): an error keeps
/// its message and an array its elements; a status, a string, an integer or a nil keeps only
/// what it is.
///
/// For replies that are checked for errors and nothing else, such as a transaction's `QUEUED`s
/// and `EXEC`'s results: reading them this way allocates nothing per string or integer.
public enum RedisReplyShape: Equatable, Sendable {
    case status
    case string
    case integer
    /// Null bulk string or null array (`EXEC` aborted by `WATCH`).
    case null
    case error(String)
    case array([RedisReplyShape])

    /// The message of an error reply, nil for every other reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}
