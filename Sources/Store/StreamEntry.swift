/// One entry of a Redis stream as `XRANGE`, `XREAD`, `XREADGROUP` and `XAUTOCLAIM` return it.
public struct StreamEntry: Equatable, Sendable {
    /// The entry id as the server wrote it (`1700000000000-0`).
    public var id: String
    /// Field → value; nil when the entry was deleted (trimmed by `MAXLEN`) while still pending
    /// in a consumer group: `XREADGROUP … 0` then returns the id with no fields.
    public var fields: [String: [UInt8]]?

    public init(id: String, fields: [String: [UInt8]]?) {
        self.id = id
        self.fields = fields
    }

    /// The parsed id; nil only if the server sent something that is not a stream id.
    public var streamID: StreamID? { StreamID(id) }

    /// One field's value.
    public subscript(field: String) -> [UInt8]? { fields?[field] }

    /// The entries of an `XRANGE`/`XREVRANGE` answer (an array of `[id, [field, value, …]]`);
    /// nil when the reply has another shape.
    public static func list(_ reply: RedisReply) -> [StreamEntry]? {
        guard let elements = reply.array else { return reply.isNull ? [] : nil }
        var entries: [StreamEntry] = []
        entries.reserveCapacity(elements.count)
        for element in elements {
            guard let pair = element.array, pair.count == 2, let id = pair[0].string else { return nil }
            if pair[1].isNull {
                entries.append(StreamEntry(id: id, fields: nil))
            } else {
                guard let fields = pair[1].fieldMap else { return nil }
                entries.append(StreamEntry(id: id, fields: fields))
            }
        }
        return entries
    }

    /// The entries of one stream in an `XREAD`/`XREADGROUP` answer (`[[stream, entries], …]`;
    /// null when `BLOCK` timed out, which gives no entries); nil when the reply has another shape.
    public static func read(_ reply: RedisReply, stream: String) -> [StreamEntry]? {
        if reply.isNull { return [] }
        guard let streams = reply.array else { return nil }
        var entries: [StreamEntry] = []
        for item in streams {
            guard let pair = item.array, pair.count == 2, let name = pair[0].string else { return nil }
            guard name == stream else { continue }
            guard let list = list(pair[1]) else { return nil }
            entries += list
        }
        return entries
    }

    /// The answer to `XAUTOCLAIM`: the cursor for the next call (`0-0` when the scan is
    /// complete) and the claimed entries; nil when the reply has another shape.
    public static func autoclaim(_ reply: RedisReply) -> (next: String, entries: [StreamEntry])? {
        guard let parts = reply.array, parts.count >= 2, let next = parts[0].string,
              let entries = list(parts[1]) else { return nil }
        return (next, entries)
    }
}
