import Store

/// Applies one ``EventBatch`` to Redis exactly once, in two round trips:
///
/// 1. `WATCH` the batch's `mt:msg:<id>` hashes, `HGETALL` each (the enrichment, and whether
///    `first_open_at` / `first_click_at` are set), and `HGET` this tracker's progress mark.
/// 2. `MULTI`; per message and kind one `HINCRBY` by the batch's count, `HSETNX` of the
///    first-seen time when the batch holds the first, `EXPIRE NX` when the hash is new
///    (``Engagement``); per event `XADD mt:events MAXLEN ~ N`; then
///    `HSET <progress> <writer> <sequence>`; `EXEC`.
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
            var wrongType: Set<String> = []
            var failures: [String] = []
            for (index, id) in trackingIDs.enumerated() {
                let reply = readReplies[1 + index]
                if let message = reply.errorMessage {
                    guard message.hasPrefix("WRONGTYPE") else {
                        unwatch(connection)
                        return .transient(.server(endpoint: endpoint, message: message), uncertain: false)
                    }
                    failures.append(message)  // not a hash: no enrichment, and its counters fail below
                    wrongType.insert(id)
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

            // Round trip 2: the transaction. `first` follows from what was read (WATCH keeps it
            // true until EXEC); counters are added up per message and kind.
            var claimed: Set<String> = []
            var engagements: [Engagement] = []
            var engagementIndex: [String: Int] = [:]
            var xadds: [RedisCommand] = []
            xadds.reserveCapacity(batch.events.count)
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
                xadds.append(xadd)
                let slot = id + (isOpen ? "/o" : "/c")
                if engagementIndex[slot] == nil {
                    engagementIndex[slot] = engagements.count
                    engagements.append(Engagement(trackingID: id, isOpen: isOpen))
                }
                engagements[engagementIndex[slot]!].count += 1
                if first { engagements[engagementIndex[slot]!].firstAt = Int64(hit.timestamp.rounded(.down)) }
            }
            var writes: [RedisCommand] = [[Array("MULTI".utf8)]]
            var expiring: Set<String> = []
            for engagement in engagements {
                let hashIsNew = enrichment[engagement.trackingID]?.isEmpty ?? !wrongType.contains(engagement.trackingID)
                writes += engagement.commands(schema: schema, ttlSeconds: hashIsNew && expiring.insert(engagement.trackingID).inserted ? messageTTL : nil)
            }
            let firstXADD = writes.count - 1  // index within the EXEC result array
            writes += xadds
            let xaddPositions = firstXADD..<(firstXADD + xadds.count)
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
                for result in results { if let message = result.errorMessage { failures.append(message) } }
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

    /// The counter updates of one message and kind within a batch.
    struct Engagement {
        let trackingID: String
        let isOpen: Bool
        var count = 0
        /// Set when the batch holds the message's first open (or click): its unix second.
        var firstAt: Int64?

        init(trackingID: String, isOpen: Bool) {
            self.trackingID = trackingID
            self.isOpen = isOpen
        }

        /// `HINCRBY key opens|clicks <count>`, `HSETNX key first_open_at|first_click_at <at>` for a
        /// first, and `EXPIRE key <ttl> NX` when the tracker creates the hash (the milter's
        /// record has its own lifetime). `EXPIRE … NX` needs Redis 7.0 or later.
        func commands(schema: KeySchema, ttlSeconds: Int?) -> [RedisCommand] {
            let key = Array(schema.message(trackingID).utf8)
            let counter: EnrichmentField = isOpen ? .opens : .clicks
            var commands: [RedisCommand] = [[Array("HINCRBY".utf8), key, counter.bytes, Array(String(count).utf8)]]
            if let firstAt {
                let field: EnrichmentField = isOpen ? .firstOpenAt : .firstClickAt
                commands.append([Array("HSETNX".utf8), key, field.bytes, Array(String(firstAt).utf8)])
            }
            if let ttlSeconds {
                commands.append([Array("EXPIRE".utf8), key, Array(String(ttlSeconds).utf8), Array("NX".utf8)])
            }
            return commands
        }
    }

    private func unwatch(_ connection: RedisConnection) {
        _ = try? connection.command([Array("UNWATCH".utf8)])
    }
}
