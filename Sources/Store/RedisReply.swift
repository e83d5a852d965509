/// One RESP2 reply, copied out of hiredis' reply tree (so it outlives the C objects).
public enum RedisReply: Equatable, Sendable {
    /// Simple string such as `OK`, `QUEUED`, `PONG`.
    case status(String)
    /// Error reply such as `WRONGTYPE Operation against a key ...`.
    case error(String)
    case integer(Int64)
    /// Binary-safe bulk string.
    case bulk([UInt8])
    case array([RedisReply])
    /// Null bulk string or null array (missing key, `HGET` of an absent field, `EXEC` aborted by `WATCH`).
    case null

    /// The bytes of a bulk or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): return bytes
        case .status(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// A bulk or status reply as text (invalid UTF-8 is repaired with U+FFFD).
    public var string: String? {
        switch self {
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        default: return nil
        }
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The message of an error reply, nil for every other reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// A flat `field value field value ...` array (the answer to `HGETALL`) as a dictionary;
    /// nil when the reply is not such an array. Fields are decoded as UTF-8, values stay bytes.
    public var fieldMap: [String: [UInt8]]? {
        guard case .array(let elements) = self, elements.count % 2 == 0 else { return nil }
        var map: [String: [UInt8]] = [:]
        map.reserveCapacity(elements.count / 2)
        var index = 0
        while index < elements.count {
            guard let field = elements[index].string, let value = elements[index + 1].bytes else { return nil }
            map[field] = value
            index += 2
        }
        return map
    }
}
