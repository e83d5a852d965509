import Foundation
import Rewrite
import Store

/// Applies one ``EventBatch`` to Redis exactly once, in two round trips:
///
/// 1. `WATCH` the batch's `mt:msg:<id>` hashes, `HGETALL` each (the enrichment, and whether
///    `first_open_at` / `first_click_at` are set) or, for a message whose template the writer
///    holds (``MessageTemplateCache``), `HMGET` only those two fields and the record's
///    identity; and `HGET` this tracker's progress mark.
/// 2. `MULTI`; per event `XADD mt:events`; per message and kind one `HINCRBY` by the batch's
///    count, `HSETNX` of the first-seen time when the batch holds the first, `EXPIRE NX` when
///    the hash is new (``Engagement``); then `HSET <progress> <writer> <sequence>`;
///    `XTRIM mt:events MAXLEN ~ N`; `EXEC`.
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
        /// overwrote), whose effect is lost; `unreadable` tells of the enrichment hashes that
        /// could not be read, whose events were written without enrichment.
        case applied(written: Int, failures: [String], unreadable: UnreadableEnrichment)
        /// The progress mark shows this batch already ran; nothing was written.
        case alreadyApplied
        /// Redis could not take the batch now. `uncertain` is true when the connection failed
        /// after `EXEC` was sent: the batch may have run (the progress mark will tell).
        case transient(RedisError, uncertain: Bool)
        /// Redis refused to queue a command as invalid: the batch can never run and was dropped.
        case rejected(String)
    }

    /// The enrichment hashes of a batch that hold more than the tracker's counters but give
    /// no record (``EventAssembler/Message/unreadable``).
    public struct UnreadableEnrichment: Equatable, Sendable {
        /// One per hash: `mt:msg:<id>: why`.
        public var hashes: [String] = []
        /// The batch's events of those messages, written without enrichment.
        public var events = 0

        public init() {}
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

    /// Runs `batch` on `connection`, reading every message's enrichment record whole.
    ///
    /// - Parameters:
    ///   - checkProgress: skip the batch when the progress mark is at or past its sequence
    ///     (for replays; a batch that was never attempted need not check).
    ///   - observedProgress: raised to the progress mark read from Redis, so the caller's
    ///     sequence numbers stay above it.
    public func apply(_ batch: EventBatch, on connection: RedisConnection, checkProgress: Bool,
                      observedProgress: inout UInt64) -> Outcome {
        var templates = MessageTemplateCache(capacity: 1)
        return apply(batch, on: connection, checkProgress: checkProgress, observedProgress: &observedProgress,
                     templates: &templates)
    }

    /// Runs `batch` on `connection`; messages in `templates` are only checked, not read whole
    /// (``MessageTemplateCache``), and messages read whole with a readable record are added.
    func apply(_ batch: EventBatch, on connection: RedisConnection, checkProgress: Bool,
               observedProgress: inout UInt64, templates cache: inout MessageTemplateCache) -> Outcome {
        if batch.events.isEmpty { return .applied(written: 0, failures: [], unreadable: UnreadableEnrichment()) }
        let endpoint = connection.endpoint.description
        // The batch's messages, each once, in order of first appearance; events point at theirs.
        var messageIndex: [TrackingID: Int] = [:]
        var trackingIDs: [TrackingID] = []
        var eventMessages: [Int] = []
        eventMessages.reserveCapacity(batch.events.count)
        for event in batch.events {
            let id = event.hit.trackingID
            if let index = messageIndex[id] {
                eventMessages.append(index)
            } else {
                messageIndex[id] = trackingIDs.count
                eventMessages.append(trackingIDs.count)
                trackingIDs.append(id)
            }
        }
        let keys = trackingIDs.map { Array(schema.message($0.hex).utf8) }  // each used in several commands
        var scratch: [UInt8] = []
        scratch.reserveCapacity(1024)
        let xaddHead = EventJSON.xaddHead(schema: schema)
        let trim = TrackingEvent.trimCommand(schema: schema, maxLength: eventsMaxLength)

        for _ in 0..<maxConflicts {
            // Round trip 1: watch and read: a cached message's changing fields and identity
            // (HMGET), any other message whole (HGETALL).
            let now = Date().timeIntervalSince1970
            let cached = trackingIDs.map { cache.entry(for: $0, now: now) }
            var reads = RESPCommands(reservingCapacity: 64 * keys.count + 128)
            reads.begin(1 + keys.count)
            reads.argument("WATCH")
            for key in keys { reads.argument(key) }
            for (index, key) in keys.enumerated() {
                if cached[index] != nil {
                    reads.begin(2 + Self.checkedFields.count)
                    reads.argument("HMGET")
                    reads.argument(key)
                    for field in Self.checkedFields { reads.argument(field.rawValue) }
                } else {
                    reads.begin(2)
                    reads.argument("HGETALL")
                    reads.argument(key)
                }
            }
            reads.begin(3)
            reads.argument("HGET")
            reads.argument(progressKey)
            reads.argument(writerID)
            let readReplies: [RedisReply]
            do {
                readReplies = try connection.pipeline(reads)
            } catch {
                return .transient(error, uncertain: false)
            }
            if let message = readReplies[0].errorMessage {
                return .transient(.server(endpoint: endpoint, message: message), uncertain: false)
            }
            // Per message: its template; whether its first open / first click is taken (in
            // Redis, or later by an earlier event of this batch); whether the tracker creates
            // the hash (the milter's record is not there: it gets an expiry).
            var messages: [MessageState] = []
            messages.reserveCapacity(trackingIDs.count)
            var failures: [String] = []
            var unreadable = UnreadableEnrichment()
            var unreadableMessages: Set<Int> = []
            var stale = false
            for index in trackingIDs.indices {
                let reply = readReplies[1 + index]
                if let message = reply.errorMessage {
                    guard message.hasPrefix("WRONGTYPE") else {
                        unwatch(connection)
                        return .transient(.server(endpoint: endpoint, message: message), uncertain: false)
                    }
                    // Not a hash: no enrichment, and its counters fail below.
                    failures.append(message)
                    cache.remove(trackingIDs[index])
                    messages.append(MessageState(
                        template: EventJSONTemplate(message: .init(trackingID: trackingIDs[index], enrichment: nil)),
                        openTaken: false, clickTaken: false, hashIsNew: false))
                } else if let entry = cached[index] {
                    let values = reply.array ?? []
                    let fields = values.map(\.bytes)
                    guard values.count == Self.checkedFields.count,
                          Array(fields.dropFirst(Self.engagementFields.count)) == entry.identity else {
                        // The record is gone or was replaced: read it whole.
                        cache.remove(trackingIDs[index])
                        stale = true
                        continue
                    }
                    messages.append(MessageState(template: entry.template, openTaken: fields[0] != nil,
                                                 clickTaken: fields[1] != nil, hashIsNew: false))
                } else {
                    let enrichment = reply.fieldMap
                    let message = EventAssembler.Message(trackingID: trackingIDs[index], enrichment: enrichment)
                    if let problem = message.unreadable {
                        unreadable.hashes.append("\(String(decoding: keys[index], as: UTF8.self)): \(problem)")
                        unreadableMessages.insert(index)
                    }
                    let template = EventJSONTemplate(message: message)
                    if message.record != nil, let enrichment {
                        cache.insert(.init(template: template, identity: MessageTemplateCache.identity(of: enrichment), readAt: now),
                                     for: trackingIDs[index])
                    }
                    messages.append(MessageState(
                        template: template,
                        openTaken: enrichment?[EnrichmentField.firstOpenAt.rawValue] != nil,
                        clickTaken: enrichment?[EnrichmentField.firstClickAt.rawValue] != nil,
                        hashIsNew: enrichment?.isEmpty ?? true))
                }
            }
            if stale {
                unwatch(connection)
                continue
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
            if !unreadableMessages.isEmpty {
                unreadable.events = eventMessages.count { unreadableMessages.contains($0) }
            }
            var engagements: [Engagement] = []
            var engagementIndex: [Int: Int] = [:]  // message index * 2 (+1 for opens) → engagement
            // MULTI, the events, the counters, the progress mark, EXEC: within the transaction
            // the order of the commands is invisible to everyone else.
            var writes = RESPCommands(reservingCapacity: batch.events.count * 720 + 160 * trackingIDs.count + 256)
            writes.begin(1)
            writes.argument("MULTI")
            var xadds = 0
            for (position, pending) in batch.events.enumerated() {
                let hit = pending.hit
                let message = eventMessages[position]
                let isOpen = hit.kind == .open
                let first: Bool
                if isOpen {
                    first = !messages[message].openTaken
                    messages[message].openTaken = true
                } else {
                    first = !messages[message].clickTaken
                    messages[message].clickTaken = true
                }
                scratch.removeAll(keepingCapacity: true)
                guard messages[message].template.append(pending, first: first, to: &scratch) else {
                    failures.append("event \(pending.id) cannot be encoded (timestamp \(hit.timestamp))")
                    continue
                }
                EventJSON.appendXADD(head: xaddHead, id: pending.id, json: scratch, to: &writes)
                xadds += 1
                let slot = message * 2 + (isOpen ? 1 : 0)
                let engagement: Int
                if let existing = engagementIndex[slot] {
                    engagement = existing
                } else {
                    engagement = engagements.count
                    engagementIndex[slot] = engagement
                    engagements.append(Engagement(message: message, isOpen: isOpen))
                }
                engagements[engagement].count += 1
                if first { engagements[engagement].firstAt = Int64(hit.timestamp.rounded(.down)) }
            }
            var expiring = [Bool](repeating: false, count: trackingIDs.count)
            for engagement in engagements {
                let message = engagement.message
                // The tracker creates the hash (the milter's record is not there): it expires.
                let hashIsNew = messages[message].hashIsNew
                let ttl = hashIsNew && !expiring[message] ? messageTTL : nil
                if hashIsNew { expiring[message] = true }
                engagement.append(to: &writes, key: keys[message], ttlSeconds: ttl)
            }
            let xaddPositions = 0..<xadds  // indices within the EXEC result array
            writes.begin(4)
            writes.argument("HSET")
            writes.argument(progressKey)
            writes.argument(writerID)
            writes.argument(String(batch.sequence))
            writes.command(trim)
            writes.begin(1)
            writes.argument("EXEC")
            // Only errors matter in these replies: read as shapes, the QUEUEDs and the new
            // entries' IDs cost no copies.
            let writeReplies: [RedisReplyShape]
            do {
                writeReplies = try connection.pipelineShapes(writes)
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
                return .applied(written: written, failures: failures, unreadable: unreadable)
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

    /// The fields that tell whether a message's first open and first click are taken.
    static let engagementFields: [EnrichmentField] = [.firstOpenAt, .firstClickAt]
    /// The fields a cached message's read asks for: the ``engagementFields``, then the
    /// record's identity.
    static let checkedFields = engagementFields + MessageTemplateCache.identityFields

    /// What a batch needs of one of its messages.
    struct MessageState {
        let template: EventJSONTemplate
        var openTaken: Bool
        var clickTaken: Bool
        let hashIsNew: Bool
    }

    /// The counter updates of one message and kind within a batch.
    struct Engagement {
        /// The message's position among the batch's messages.
        let message: Int
        let isOpen: Bool
        var count = 0
        /// Set when the batch holds the message's first open (or click): its unix second.
        var firstAt: Int64?

        init(message: Int, isOpen: Bool) {
            self.message = message
            self.isOpen = isOpen
        }

        /// `HINCRBY key opens|clicks <count>`, `HSETNX key first_open_at|first_click_at <at>` for a
        /// first, and `EXPIRE key <ttl> NX` when the tracker creates the hash (the milter's
        /// record has its own lifetime). `EXPIRE … NX` needs Redis 7.0 or later.
        func append(to commands: inout RESPCommands, key: [UInt8], ttlSeconds: Int?) {
            commands.begin(4)
            commands.argument("HINCRBY")
            commands.argument(key)
            commands.argument((isOpen ? EnrichmentField.opens : .clicks).rawValue)
            commands.argument(count)
            if let firstAt {
                commands.begin(4)
                commands.argument("HSETNX")
                commands.argument(key)
                commands.argument((isOpen ? EnrichmentField.firstOpenAt : .firstClickAt).rawValue)
                commands.argument(Int(firstAt))
            }
            if let ttlSeconds {
                commands.begin(4)
                commands.argument("EXPIRE")
                commands.argument(key)
                commands.argument(ttlSeconds)
                commands.argument("NX")
            }
        }
    }

    private func unwatch(_ connection: RedisConnection) {
        _ = try? connection.command([Array("UNWATCH".utf8)])
    }
}
