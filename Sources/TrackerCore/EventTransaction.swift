import Store

/// Applies one ``EventBatch`` to Redis exactly once, in two round trips:
///
/// 1. `WATCH` the batch's `mt:msg:<id>` hashes, `HGETALL` each (the enrichment, and whether
///    `first_open_at` / `first_click_at` are set), and `HGET` this tracker's progress mark.
/// 2. `MULTI`, per event `HINCRBY` / `HSETNX` / `EXPIRE NX` (``EngagementUpdate``) and
///    `XADD mt:events MAXLEN ~ N`, then `HSET <progress> <writer> <sequence>`, `EXEC`.
///
/// `WATCH` makes the `first` decision and the counters consistent with concurrent writers
/// (another tracker, the milter): a conflict aborts `EXEC` and the batch is read and built
/// again. The progress mark, written in the same transaction, is how a batch whose `EXEC`
/// reply was lost (Redis killed, connection cut) is recognised as applied when it is
/// replayed from the spool: applied batches of one writer carry increasing sequences, so
/// a mark at or past the batch's sequence means it ran.
public struct EventTransaction: Sendable {
    /// What happened to the batch.
    public enum Outcome: Equatable, Sendable {
        /// The transaction ran. `written` events reached the stream; `failures` holds the error
        /// messages of commands Redis refused at run time (e.g. `WRONGTYPE` on a key someone
        /// overwrote), whose effect is lost.
        case applied(written: Int, failures: [String])
        /// The progress mark shows this batch already ran; nothing was written.
        case alreadyApplied
        /// Redis could not take the batch now. `uncertain` is true when the connection failed
        /// after `EXEC` was sent: the batch may have run (the progress mark will tell).
        case transient(RedisError, uncertain: Bool)
        /// Redis refused to queue a command as invalid: the batch can never run and was dropped.
        case rejected(String)
    }

    public let schema: KeySchema
    /// This tracker's name in the progress hash: one per spool (host name and spool path).
    public let writerID: String
    public let eventsMaxLength: Int
    public let messageTTL: Int
    /// `WATCH` conflicts tolerated before giving up for now (the batch is then spooled).
    public let maxConflicts: Int

    public init(schema: KeySchema, writerID: String, eventsMaxLength: Int, messageTTL: Int, maxConflicts: Int = 16) {
        self.schema = schema
        self.writerID = writerID
        self.eventsMaxLength = eventsMaxLength
        self.messageTTL = messageTTL
        self.maxConflicts = maxConflicts
    }

    /// The hash holding each tracker's last applied batch sequence: `mt:tracker:applied`.
    public var progressKey: String { schema.prefix + "tracker:applied" }

    /// Runs `batch` on `connection`.
    ///
    /// - Parameters:
    ///   - checkProgress: skip the batch when the progress mark is at or past its sequence
    ///     (for replays; a batch that was never attempted need not check).
    ///   - observedProgress: raised to the progress mark read from Redis, so the caller's
    ///     sequence numbers stay above it.
    public func apply(_ batch: EventBatch, on connection: RedisConnection, checkProgress: Bool,
                      observedProgress: inout UInt64) -> Outcome {
        if batch.events.isEmpty { return .applied(written: 0, failures: []) }
        let endpoint = connection.endpoint.description
        var trackingIDs: [String] = []
        var seen: Set<String> = []
        for event in batch.events {
            let id = event.hit.trackingID.hex
            if seen.insert(id).inserted { trackingIDs.append(id) }
        }
        let keys = trackingIDs.map { Array(schema.message($0).utf8) }
        let progressKeyBytes = Array(progressKey.utf8)
        let writerBytes = Array(writerID.utf8)

        for _ in 0..<maxConflicts {
            // Round trip 1: watch and read.
            var reads: [RedisCommand] = [[Array("WATCH".utf8)] + keys]
            for key in keys { reads.append([Array("HGETALL".utf8), key]) }
            reads.append([Array("HGET".utf8), progressKeyBytes, writerBytes])
            let readReplies: [RedisReply]
            do {
                readReplies = try connection.pipeline(reads)
            } catch {
                return .transient(error, uncertain: false)
            }
            if let message = readReplies[0].errorMessage {
                return .transient(.server(endpoint: endpoint, message: message), uncertain: false)
            }
            var enrichment: [String: [String: [UInt8]]] = [:]
            var failures: [String] = []
            for (index, id) in trackingIDs.enumerated() {
                let reply = readReplies[1 + index]
                if let message = reply.errorMessage {
                    guard message.hasPrefix("WRONGTYPE") else {
                        unwatch(connection)
                        return .transient(.server(endpoint: endpoint, message: message), uncertain: false)
                    }
                    failures.append(message)  // not a hash: no enrichment, and its counters fail below
                } else if let fields = reply.fieldMap {
                    enrichment[id] = fields
                }
            }
            let progressReply = readReplies[readReplies.count - 1]
            if let message = progressReply.errorMessage {
                unwatch(connection)
                return .transient(.server(endpoint: endpoint, message: message), uncertain: false)
            }
            let progress = progressReply.string.flatMap { UInt64($0) } ?? 0
            observedProgress = max(observedProgress, progress)
            if checkProgress && progress >= batch.sequence {
                unwatch(connection)
                return .alreadyApplied
            }

            // Round trip 2: the transaction.
            var claimed: Set<String> = []
            var writes: [RedisCommand] = [[Array("MULTI".utf8)]]
            var xaddPositions: [Int] = []
            for pending in batch.events {
                let hit = pending.hit
                let id = hit.trackingID.hex
                let isOpen = hit.kind == .open
                let firstField: EnrichmentField = isOpen ? .firstOpenAt : .firstClickAt
                let alreadySeen = enrichment[id]?[firstField.rawValue] != nil
                let first = !alreadySeen && claimed.insert(id + (isOpen ? "/o" : "/c")).inserted
                let event = EventAssembler.event(for: pending, enrichment: enrichment[id], first: first)
                guard let xadd = EventJSON.xaddCommand(for: event, schema: schema, maxLength: eventsMaxLength) else {
                    failures.append("event \(pending.id) cannot be encoded (timestamp \(hit.timestamp))")
                    continue
                }
                let update = EngagementUpdate(kind: event.event, trackingID: id, at: Int64(hit.timestamp.rounded(.down)))
                writes.append(contentsOf: update.commands(schema: schema, ttlSeconds: messageTTL))
                writes.append(xadd)
                xaddPositions.append(writes.count - 2)  // index within the EXEC result array
            }
            writes.append([Array("HSET".utf8), progressKeyBytes, writerBytes, Array(String(batch.sequence).utf8)])
            writes.append([Array("EXEC".utf8)])
            let writeReplies: [RedisReply]
            do {
                writeReplies = try connection.pipeline(writes)
            } catch {
                return .transient(error, uncertain: true)
            }
            for reply in writeReplies.dropLast() {
                if let message = reply.errorMessage {
                    if DurableRedisWriter.transientErrorPrefixes.contains(where: { message.hasPrefix($0) }) {
                        return .transient(.server(endpoint: endpoint, message: message), uncertain: false)
                    }
                    return .rejected(message)
                }
            }
            switch writeReplies[writeReplies.count - 1] {
            case .array(let results):
                failures += results.compactMap(\.errorMessage)
                let written = xaddPositions.filter { results.indices.contains($0) && results[$0].errorMessage == nil }.count
                return .applied(written: written, failures: failures)
            case .null:
                continue  // a watched hash changed: read again
            case .error(let message):
                if DurableRedisWriter.transientErrorPrefixes.contains(where: { message.hasPrefix($0) }) {
                    return .transient(.server(endpoint: endpoint, message: message), uncertain: false)
                }
                return .rejected(message)
            default:
                return .transient(.protocolError(endpoint: endpoint, detail: "EXEC returned no result array"), uncertain: true)
            }
        }
        return .transient(.server(endpoint: endpoint, message: "gave up after \(maxConflicts) WATCH conflicts"), uncertain: false)
    }

    private func unwatch(_ connection: RedisConnection) {
        _ = try? connection.command([Array("UNWATCH".utf8)])
    }
}
