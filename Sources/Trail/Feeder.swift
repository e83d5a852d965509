import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Store

/// The webhook exporter: reads `mt:events` through the consumer group `mt:feed`, POSTs signed,
/// gzip-compressed batches, and acknowledges events only after a 2xx answer.
///
/// Delivery is at least once. Events read but not acknowledged stay in the group's pending
/// list: at start a feeder first re-sends its own (a restart after a crash or SIGKILL), and
/// every `claimIdle` it takes over those other consumers left idle that long (a feeder that
/// died for good). While it retries a batch it re-claims the batch's events after each wait,
/// so that a slow but live feeder is not taken for dead. A batch that fails `maxAttempts`
/// times goes, with the last error, to the dead-letter stream, atomically with its `XACK`.
final class Feeder {
    let connection: RedisConnection
    let schema: KeySchema
    let consumer: String
    let url: URL
    let signature: WebhookSignature
    let policy: FeedPolicy
    let transport: WebhookTransport
    let stop: StopSignal
    let log: (String) -> Void

    /// Longest `BLOCK` of one read, so that stop requests are seen within about this long.
    static let longestBlock = 1.0
    /// Wait before retrying when Redis does not answer.
    static let redisRetryDelay = 1.0

    private var random = SystemRandomNumberGenerator()
    private let clock = ContinuousClock()
    private(set) var counters = Counters()

    struct Counters: Equatable {
        var delivered = 0
        var requests = 0
        var deadLettered = 0
        var replayed = 0
    }

    init(connection: RedisConnection, schema: KeySchema, consumer: String, url: URL, signature: WebhookSignature,
         policy: FeedPolicy, transport: WebhookTransport, stop: StopSignal, log: @escaping (String) -> Void) {
        self.connection = connection
        self.schema = schema
        self.consumer = consumer
        self.url = url
        self.signature = signature
        self.policy = policy
        self.transport = transport
        self.stop = stop
        self.log = log
    }

    // MARK: - Feeding

    /// Feeds until a stop is requested, or with `once` until nothing is left to send
    /// (own pending events, claimable idle ones, new ones).
    func run(once: Bool) throws {
        try redis(once: once) { try ensureGroup() }
        guard try drainOwnPending(once: once) else { return }
        var lastClaim = clock.now
        guard try claimIdle(once: once) else { return }

        var batch: [StreamEntry] = []
        var batchStarted = clock.now
        while !stop.isRequested {
            if clock.now - lastClaim >= .seconds(policy.claimIdle) {
                lastClaim = clock.now
                guard try claimIdle(once: once) else { return }
            }
            var block: Double? = nil
            if !once {
                block = batch.isEmpty
                    ? Self.longestBlock
                    : min(Self.longestBlock, policy.batchAge - (clock.now - batchStarted).seconds)
            }
            let wanted = policy.batchSize - batch.count
            guard let entries = try redis(once: once, { try readNew(count: wanted, block: block) }) else { continue }
            if batch.isEmpty && !entries.isEmpty { batchStarted = clock.now }
            batch += entries
            let aged = !batch.isEmpty && (clock.now - batchStarted).seconds >= policy.batchAge
            let drained = once && entries.isEmpty
            if batch.count >= policy.batchSize || aged || (drained && !batch.isEmpty) {
                guard try deliver(batch, once: once) else { return }
                batch = []
            } else if drained {
                return
            }
        }
    }

    /// Re-sends this consumer's pending events (read before a crash, never acknowledged).
    /// False when a stop was requested meanwhile.
    private func drainOwnPending(once: Bool) throws -> Bool {
        var after = "0"
        while !stop.isRequested {
            guard let entries = try redis(once: once, { try readPending(after: after) }) else { continue }
            if entries.isEmpty { return true }
            log("re-sending \(entries.count) event(s) this consumer had read but not acknowledged")
            after = entries[entries.count - 1].id
            guard try deliver(entries, once: once) else { return false }
        }
        return false
    }

    /// Takes over and sends the events other consumers left pending longer than `claimIdle`.
    /// False when a stop was requested meanwhile.
    private func claimIdle(once: Bool) throws -> Bool {
        var cursor = "0-0"
        repeat {
            if stop.isRequested { return false }
            guard let (next, entries) = try redis(once: once, { try autoclaim(from: cursor) }) else { continue }
            cursor = next
            if !entries.isEmpty {
                log("took over \(entries.count) event(s) left pending by another consumer")
                guard try deliver(entries, once: once) else { return false }
            }
        } while cursor != "0-0"
        return true
    }

    /// Sends one batch until accepted (then acknowledges it) or out of attempts (then moves it
    /// to the dead-letter stream). False when a stop interrupted it: its events stay pending.
    private func deliver(_ entries: [StreamEntry], once: Bool) throws -> Bool {
        var events: [FeedEvent] = []
        var trimmed: [String] = []
        var defective: [(StreamEntry, FeedEvent.Defect)] = []
        for entry in entries {
            switch FeedEvent.parse(entry) {
            case .success(let event): events.append(event)
            case .failure(.deleted): trimmed.append(entry.id)
            case .failure(let defect): defective.append((entry, defect))
            }
        }
        if !trimmed.isEmpty {
            log("\(trimmed.count) pending event(s) were trimmed from \(schema.events) before delivery (events_max_length too small?)")
            guard try redis(once: once, { try ack(trimmed) }) != nil else { return false }
        }
        if !defective.isEmpty {
            let records = defective.map { entry, defect in
                DeadLetter(sourceID: entry.id, eventID: entry[TrackingEvent.streamIDField], json: entry[TrackingEvent.streamJSONField],
                           attempts: 0, error: defect.description)
            }
            log("\(records.count) malformed event(s) moved to \(schema.deadLetter): \(defective[0].1)")
            guard try redis(once: once, { try moveToDeadLetter(records) }) != nil else { return false }
            counters.deadLettered += records.count
        }
        if events.isEmpty { return true }

        switch try send(events) {
        case .accepted(let elapsed):
            guard try redis(once: once, { try ack(events.map(\.entryID)) }) != nil else { return false }
            counters.delivered += events.count
            log("delivered \(events.count) event(s) in \(Self.milliseconds(elapsed)) ms")
            return true
        case .exhausted(let attempts, let lastError):
            let records = events.map {
                DeadLetter(sourceID: $0.entryID, eventID: Array($0.event.id.utf8), json: $0.json, attempts: attempts, error: lastError)
            }
            guard try redis(once: once, { try moveToDeadLetter(records) }) != nil else { return false }
            counters.deadLettered += records.count
            log("gave up on \(events.count) event(s) after \(attempts) attempts (\(lastError)): moved to \(schema.deadLetter)")
            return true
        case .stopped:
            return false
        }
    }

    // MARK: - Dead letters

    /// Re-sends every dead-letter entry present when it starts, oldest first, deleting each
    /// batch once a 2xx accepted it. Entries that are not events are left in place and counted.
    /// Throws when a batch runs out of attempts (that batch and later ones stay).
    func replayDeadLetters() throws -> (replayed: Int, skipped: Int) {
        try redisOnce { () throws(RedisError) in try ensureGroup() }
        var start = "-"
        var skipped = 0
        while !stop.isRequested {
            let range = try redisOnce { () throws(RedisError) in
                try connection.command(["XRANGE", schema.deadLetter, start, "+", "COUNT", String(policy.batchSize)])
            }
            guard let entries = StreamEntry.list(range) else { throw CLIError("unexpected XRANGE answer: \(range)", status: EX_PROTOCOL) }
            guard let last = entries.last else { break }
            start = "(" + last.id
            var events: [FeedEvent] = []
            for entry in entries {
                switch FeedEvent.parse(entry) {
                case .success(let event): events.append(event)
                case .failure(let defect):
                    skipped += 1
                    log("dead-letter entry \(entry.id) left in place: \(defect)")
                }
            }
            if events.isEmpty { continue }
            switch try send(events) {
            case .accepted(let elapsed):
                let ids = events.map { Array($0.entryID.utf8) }
                _ = try redisOnce { () throws(RedisError) in
                    try connection.command([Array("XDEL".utf8), Array(schema.deadLetter.utf8)] + ids)
                }
                counters.replayed += events.count
                log("replayed \(events.count) dead-letter event(s) in \(Self.milliseconds(elapsed)) ms")
            case .exhausted(let attempts, let lastError):
                throw CLIError("replay stopped: a batch of \(events.count) failed \(attempts) times (\(lastError)); \(counters.replayed) replayed before it")
            case .stopped:
                return (counters.replayed, skipped)
            }
        }
        return (counters.replayed, skipped)
    }

    // MARK: - Sending

    enum SendResult {
        case accepted(elapsed: Duration)
        case exhausted(attempts: Int, lastError: String)
        case stopped
    }

    /// POSTs the batch with retries; between attempts the batch's stream entries are
    /// re-claimed (idle time reset) so that other feeders leave them alone.
    private func send(_ events: [FeedEvent]) throws -> SendResult {
        let body = try policy.format.body(events)
        let compressed = try Gzip.compress(body)
        var failures = 0
        let started = clock.now
        while !stop.isRequested {
            let timestamp = Int64(Date().timeIntervalSince1970)
            let request = WebhookRequest(url: url, headers: [
                ("Content-Type", policy.format.contentType),
                ("Content-Encoding", "gzip"),
                (WebhookSignature.headerName, signature.header(timestamp: timestamp, body: body)),
                ("User-Agent", "mailtrail-feed"),
                ("X-MailTrail-Events", String(events.count)),
                ("X-MailTrail-Attempt", String(failures + 1)),
            ], body: compressed, timeout: policy.timeout)
            counters.requests += 1
            let outcome = transport.post(request)
            if outcome.isAccepted { return .accepted(elapsed: clock.now - started) }
            failures += 1
            if failures >= policy.maxAttempts { return .exhausted(attempts: failures, lastError: outcome.summary) }
            let delay = policy.backoff.delay(afterFailures: failures, using: &random)
            log("attempt \(failures) of \(policy.maxAttempts) for \(events.count) event(s) failed (\(outcome.summary)); retrying in \(Self.milliseconds(.seconds(delay))) ms")
            guard stop.sleep(delay) else { break }
            // Best effort: a failed touch only risks a duplicate if this takes longer than claimIdle.
            _ = try? touch(events.map(\.entryID))
        }
        return .stopped
    }

    // MARK: - Redis commands

    private func ensureGroup() throws(RedisError) {
        do {
            _ = try connection.command(["XGROUP", "CREATE", schema.events, schema.feedGroup, "0", "MKSTREAM"])
            log("created consumer group \(schema.feedGroup) on \(schema.events)")
        } catch .server(_, let message) where message.hasPrefix("BUSYGROUP") {
            return
        }
    }

    private func readNew(count: Int, block: Double?) throws(RedisError) -> [StreamEntry] {
        var arguments = ["XREADGROUP", "GROUP", schema.feedGroup, consumer, "COUNT", String(count)]
        if let block { arguments += ["BLOCK", String(max(1, Int((block * 1000).rounded(.up))))] }
        arguments += ["STREAMS", schema.events, ">"]
        return try stream(arguments)
    }

    private func readPending(after: String) throws(RedisError) -> [StreamEntry] {
        try stream(["XREADGROUP", "GROUP", schema.feedGroup, consumer, "COUNT", String(policy.batchSize),
                    "STREAMS", schema.events, after])
    }

    private func stream(_ arguments: [String]) throws(RedisError) -> [StreamEntry] {
        let reply = try withGroup { () throws(RedisError) in try connection.command(arguments) }
        guard let entries = StreamEntry.read(reply, stream: schema.events) else {
            throw .protocolError(endpoint: connection.endpoint.description, detail: "unexpected \(arguments[0]) answer")
        }
        return entries
    }

    private func autoclaim(from cursor: String) throws(RedisError) -> (String, [StreamEntry]) {
        let idle = String(Int((policy.claimIdle * 1000).rounded()))
        let reply = try withGroup { () throws(RedisError) in
            try connection.command(["XAUTOCLAIM", schema.events, schema.feedGroup, consumer, idle, cursor,
                                    "COUNT", String(policy.batchSize)])
        }
        guard let (next, entries) = StreamEntry.autoclaim(reply) else {
            throw .protocolError(endpoint: connection.endpoint.description, detail: "unexpected XAUTOCLAIM answer")
        }
        return (next, entries)
    }

    private func ack(_ ids: [String]) throws(RedisError) {
        _ = try connection.command(["XACK", schema.events, schema.feedGroup] + ids)
    }

    /// `XCLAIM … 0 <ids> JUSTID`: resets the entries' idle time without counting a delivery.
    private func touch(_ ids: [String]) throws(RedisError) {
        _ = try connection.command(["XCLAIM", schema.events, schema.feedGroup, consumer, "0"] + ids + ["JUSTID"])
    }

    /// `MULTI`, one `XADD mt:events:dead` per event, `XACK` of them all, `EXEC`: an event is
    /// either still pending or dead-lettered and acknowledged, never lost in between.
    private func moveToDeadLetter(_ records: [DeadLetter]) throws(RedisError) {
        var commands: [RedisCommand] = [RedisCommand(redisArguments: ["MULTI"])]
        let failedAt = Int64(Date().timeIntervalSince1970)
        for record in records {
            commands.append(record.xaddCommand(stream: schema.deadLetter, failedAt: failedAt))
        }
        commands.append(RedisCommand(redisArguments: ["XACK", schema.events, schema.feedGroup] + records.map(\.sourceID)))
        commands.append(RedisCommand(redisArguments: ["EXEC"]))
        let replies = try connection.pipeline(commands)
        if let failure = replies.first(where: { $0.errorMessage != nil })?.errorMessage {
            throw .server(endpoint: connection.endpoint.description, message: failure)
        }
        guard let results = replies.last?.array, results.count == records.count + 1 else {
            throw .server(endpoint: connection.endpoint.description, message: "dead-letter transaction did not run")
        }
        if let failure = results.first(where: { $0.errorMessage != nil })?.errorMessage {
            throw .server(endpoint: connection.endpoint.description, message: failure)
        }
    }

    /// Runs a group command; when the group is gone (the stream was deleted or Redis
    /// flushed), creates it again and retries once.
    private func withGroup(_ body: () throws(RedisError) -> RedisReply) throws(RedisError) -> RedisReply {
        do {
            return try body()
        } catch .server(_, let message) where message.hasPrefix("NOGROUP") {
            try ensureGroup()
            return try body()
        }
    }

    /// Runs a Redis step. While Redis is unreachable it waits and retries (logging once per
    /// outage), except with `once`, where the error ends the run. Nil when a stop was
    /// requested while waiting. Errors other than unreachability are thrown.
    @discardableResult
    private func redis<T>(once: Bool, _ body: () throws -> T) throws -> T? {
        var reported = false
        while true {
            do {
                let value = try body()
                if reported { log("Redis answers again") }
                return value
            } catch let error as RedisError where error.isConnectivity && !once {
                if !reported {
                    log("\(error); retrying every \(Int(Self.redisRetryDelay)) s")
                    reported = true
                }
                guard stop.sleep(Self.redisRetryDelay) else { return nil }
            } catch let error as RedisError {
                throw CLIError(error)
            }
        }
    }

    /// Runs a Redis step once; any failure ends the command.
    private func redisOnce<T>(_ body: () throws(RedisError) -> T) throws(CLIError) -> T {
        do {
            return try body()
        } catch {
            throw CLIError(error)
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int((duration.seconds * 1000).rounded())
    }
}
