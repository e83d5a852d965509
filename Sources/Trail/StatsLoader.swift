import Store

/// Reads what `mailtrail stats` counts: every enrichment hash (`SCAN` + pipelined `HMGET`)
/// and the events whose stream entries fall in the window (`XRANGE` by entry time, in pages).
struct StatsLoader {
    let connection: RedisConnection
    let schema: KeySchema
    /// Keys per `SCAN` step, entries per `XRANGE` page and commands per pipeline.
    var pageSize = 1000

    func messages() throws(RedisError) -> [MessageFacts] {
        let prefix = schema.message("")
        var keys: [String] = []
        var cursor = "0"
        repeat {
            let reply = try connection.command(["SCAN", cursor, "MATCH", Self.globEscaped(prefix) + "*", "COUNT", String(pageSize)])
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let found = parts[1].array else {
                throw .protocolError(endpoint: connection.endpoint.description, detail: "unexpected SCAN answer")
            }
            cursor = next
            keys += found.compactMap(\.string)
        } while cursor != "0"
        // SCAN may return a key twice; keep the first.
        var seen = Set<String>()
        keys = keys.filter { seen.insert($0).inserted }

        let fieldNames = MessageFacts.fields.map(\.rawValue)
        var facts: [MessageFacts] = []
        facts.reserveCapacity(keys.count)
        var start = 0
        while start < keys.count {
            let chunk = keys[start..<min(start + pageSize, keys.count)]
            let replies = try connection.pipeline(chunk.map { RedisCommand(redisArguments: ["HMGET", $0] + fieldNames) })
            for (key, reply) in zip(chunk, replies) {
                // A key of another type under the prefix is not ours to count.
                guard let values = reply.array, values.count == fieldNames.count else { continue }
                facts.append(MessageFacts(trackingID: String(key.dropFirst(prefix.count)), values: values.map(\.bytes)))
            }
            start += pageSize
        }
        return facts
    }

    /// The window's events, oldest first, and how many entries were not readable events.
    func events(in window: TimeWindow) throws(RedisError) -> (events: [EventFacts], malformed: Int) {
        let (first, last) = window.millisecondBounds
        var start = String(first)
        var events: [EventFacts] = []
        var malformed = 0
        while true {
            let reply = try connection.command(["XRANGE", schema.events, start, String(last), "COUNT", String(pageSize)])
            guard let entries = StreamEntry.list(reply) else {
                throw .protocolError(endpoint: connection.endpoint.description, detail: "unexpected XRANGE answer")
            }
            for entry in entries {
                guard let added = entry.streamID?.milliseconds, let json = entry[TrackingEvent.streamJSONField],
                      let event = try? TrackingEvent.decode(json: json) else {
                    malformed += 1
                    continue
                }
                events.append(EventFacts(event, addedAt: added))
            }
            guard entries.count == pageSize, let lastID = entries.last?.id else { break }
            start = "(" + lastID
        }
        return (events, malformed)
    }

    /// `text` with the glob characters of `SCAN MATCH` escaped.
    static func globEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if "*?[]\\".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
