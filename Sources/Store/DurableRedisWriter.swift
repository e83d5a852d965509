import Foundation

/// Writes batches of Redis commands so that a down, slow or flushed Redis never blocks the
/// caller for longer than the connection's timeouts and never loses a batch.
///
/// Each batch runs atomically as `MULTI … EXEC` in one round trip. When Redis cannot take
/// it (unreachable, timeout, `LOADING`, `OOM`, `READONLY`, `MISCONF`, auth problems …) the
/// batch is serialised (``RedisCommandBatch``) into the ``Spool`` and the call returns.
/// While the spool holds anything, new batches go straight to its end, so Redis sees
/// batches in submission order once ``replayIfPossible()`` drains it. Delivery is at least
/// once: a batch whose reply was lost to a timeout may have run and is replayed again, so
/// event consumers de-duplicate by event id.
///
/// Batches Redis rejects as invalid (syntax errors, unknown commands) are reported as
/// ``SubmitOutcome/rejected(message:)`` and not kept: replaying could never succeed.
///
/// Thread-safe: connections come from a small internal pool (one per concurrent caller),
/// and the spool does its own locking. Used by the milter (enrichment) and the tracker (events).
public final class DurableRedisWriter: @unchecked Sendable {
    /// What happened to a submitted batch.
    public enum SubmitOutcome: Equatable, Sendable {
        /// Redis ran the batch; one reply per command, in order (a runtime failure such as
        /// `WRONGTYPE` appears as `.error` in place).
        case written([RedisReply])
        /// The batch is in the spool, because Redis failed with `reason`, or (reason nil)
        /// because older batches were already waiting there.
        case spooled(reason: RedisError?)
        /// Redis refused the batch as invalid; it was not kept.
        case rejected(message: String)
    }

    /// What one ``replayIfPossible()`` call did.
    public struct ReplayReport: Equatable, Sendable {
        /// Batches Redis ran.
        public var delivered = 0
        /// Batches Redis refused as invalid (dropped); `lastRejection` holds the last message.
        public var rejected = 0
        public var lastRejection: String?
        /// Spool records that were not a valid batch (dropped).
        public var undecodable = 0
        /// Bytes of torn or damaged spool data skipped.
        public var skippedBytes = 0
        /// Why replay stopped early, leaving the rest spooled for the next attempt.
        public var stoppedBy: RedisError?

        public init() {}
    }

    public let spool: Spool
    private let makeConnection: @Sendable () -> RedisConnection
    private let maxIdleConnections: Int
    private let poolLock = NSLock()
    private var idle: [RedisConnection] = []

    /// - Parameters:
    ///   - spool: where batches wait while Redis is unavailable; exclusively this writer's.
    ///   - maxIdleConnections: connections kept open between calls.
    ///   - makeConnection: creates a connection (it connects lazily on first use).
    public init(spool: Spool, maxIdleConnections: Int = 4, makeConnection: @escaping @Sendable () -> RedisConnection) {
        self.spool = spool
        self.maxIdleConnections = max(1, maxIdleConnections)
        self.makeConnection = makeConnection
    }

    /// Runs `commands` as one atomic batch, or spools them. Throws only when the batch had
    /// to be spooled and the spool failed too (e.g. disk full): then, and only then, it is lost.
    @discardableResult
    public func submit(_ commands: [RedisCommand]) throws(SpoolError) -> SubmitOutcome {
        if commands.isEmpty { return .written([]) }
        let record = RedisCommandBatch(commands)
        if !spool.isEmpty {
            try spool.append(record.encoded())
            return .spooled(reason: nil)
        }
        let connection = acquire()
        let result = Self.execute(commands, on: connection)
        release(connection)
        switch result {
        case .applied(let replies):
            return .written(replies)
        case .rejected(let message):
            return .rejected(message: message)
        case .transient(let reason):
            try spool.append(record.encoded())
            return .spooled(reason: reason)
        }
    }

    /// Sends spooled batches to Redis in order until the spool is empty or Redis fails again.
    /// Call it at start-up and periodically (``SpoolReplayLoop`` does). Cheap when the spool
    /// is empty. Throws only for spool I/O failures.
    @discardableResult
    public func replayIfPossible() throws(SpoolError) -> ReplayReport {
        var report = ReplayReport()
        if spool.isEmpty { return report }
        let skippedBefore = spool.skippedBytesTotal
        let connection = acquire()
        defer { release(connection) }
        do {
            try spool.replay { record in
                guard let batch = try? RedisCommandBatch(decoding: record) else {
                    report.undecodable += 1
                    return
                }
                switch Self.execute(batch.commands, on: connection) {
                case .applied:
                    report.delivered += 1
                case .rejected(let message):
                    report.rejected += 1
                    report.lastRejection = message
                case .transient(let reason):
                    throw ReplayStopped(reason: reason)
                }
            }
        } catch let stopped as ReplayStopped {
            report.stoppedBy = stopped.reason
        } catch let error as SpoolError {
            throw error
        } catch {
            preconditionFailure("unexpected replay error \(error)")  // the handler throws only ReplayStopped
        }
        report.skippedBytes = spool.skippedBytesTotal - skippedBefore
        return report
    }

    /// fsyncs the spool (see ``Spool/sync()``).
    public func syncSpool() throws(SpoolError) {
        try spool.sync()
    }

    // MARK: - Internals

    private struct ReplayStopped: Error {
        let reason: RedisError
    }

    enum BatchResult: Equatable {
        case applied([RedisReply])
        case transient(RedisError)
        case rejected(String)
    }

    /// Error-reply prefixes that mean "Redis cannot take writes right now", not "this batch is bad".
    public static let transientErrorPrefixes = [
        "LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN", "MISCONF", "TRYAGAIN",
        "CLUSTERDOWN", "NOREPLICAS", "NOAUTH", "WRONGPASS", "NOPERM",
    ]

    static func execute(_ commands: [RedisCommand], on connection: RedisConnection) -> BatchResult {
        let wrapped = [[Array("MULTI".utf8)]] + commands + [[Array("EXEC".utf8)]]
        let replies: [RedisReply]
        do {
            replies = try connection.pipeline(wrapped)
        } catch {
            return .transient(error)
        }
        let endpoint = connection.endpoint.description
        // A refusal while queueing (MULTI itself, or a command) is what makes EXEC abort.
        for reply in replies.dropLast() {
            if let message = reply.errorMessage { return classify(message, endpoint: endpoint) }
        }
        switch replies.last {
        case .array(let results)?:
            return .applied(results)
        case .error(let message)?:
            return classify(message, endpoint: endpoint)
        default:
            return .transient(.protocolError(endpoint: endpoint, detail: "EXEC returned no result array"))
        }
    }

    private static func classify(_ message: String, endpoint: String) -> BatchResult {
        if transientErrorPrefixes.contains(where: { message.hasPrefix($0) }) {
            return .transient(.server(endpoint: endpoint, message: message))
        }
        return .rejected(message)
    }

    private func acquire() -> RedisConnection {
        poolLock.lock()
        let pooled = idle.popLast()
        poolLock.unlock()
        return pooled ?? makeConnection()
    }

    private func release(_ connection: RedisConnection) {
        poolLock.lock()
        defer { poolLock.unlock() }
        if idle.count < maxIdleConnections { idle.append(connection) }
    }
}
