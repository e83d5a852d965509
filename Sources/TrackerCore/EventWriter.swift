import Daemon
import Foundation
import Logging
import Store

/// The event pipeline behind the request handlers: one thread that takes hits from the
/// ``HitQueue``, applies them to Redis in batches (``EventTransaction``), and keeps them in
/// the ``Spool`` whenever Redis cannot take them, replaying the spool in order once it can.
///
/// Ordering and exactly-once rest on one rule: batches get increasing sequence numbers, and
/// a batch goes directly to Redis only while the spool is empty; otherwise it goes to the end
/// of the spool. Sequence allocation, the direct attempt and every spool append happen under
/// one lock, so the spool holds batches in sequence order and replay applies them in that
/// order, each checked against the progress mark of its transaction.
///
/// Hits that find the queue full wait in a second queue of the same size, which the writer
/// empties into the spool as soon as its current Redis round trip ends: a request handler
/// never waits for Redis, even while the writer is stuck in a round trip as long as
/// `tracker_redis_timeout`. Only when that queue is full too does the handler spool the hit
/// itself (under the lock). Memory stays bounded and nothing is dropped while the disk takes
/// writes. The spool is fsynced every ``syncInterval``. On ``stop()`` the queues are drained
/// (to Redis, or to the spool) and the spool synced and closed; what is spooled then is
/// replayed at the next start.
public final class EventWriter: @unchecked Sendable {
    /// Longest pause between attempts to reach Redis again while events are spooled.
    public var retryInterval: Double = 0.5
    /// Spool appends are fsynced at most this long after they happen.
    public var syncInterval: Double = 0.2
    /// How long a batch smaller than the batch size waits for more hits while the previous
    /// one was busy (see ``HitQueue/take(max:timeout:linger:)``).
    public var linger = 0.01
    /// Largest batch (one Redis transaction, one spool record) in spool bytes; a quarter of
    /// the spool's record limit.
    public var maxBatchBytes = 4 << 20
    /// A replay pauses to look at the queue (and the fsync timer) after this many spool records
    /// or this long.
    public var replayChunkRecords = 64
    public var replayChunkSeconds = 0.05

    public let queue: HitQueue
    /// Hits that found `queue` full, waiting for the writer to spool them.
    private let overflow: HitQueue
    public let spool: Spool
    private let transaction: EventTransaction
    private let connection: RedisConnection
    private let batchSize: Int
    private let metrics: TrackerMetrics
    private let logger: Logger
    private let redisEndpoint: RedisEndpoint
    /// Troubles that last (a full spool disk, a `redis_password` Redis refuses) are logged at
    /// once, then once per ``reminderInterval`` at most, however many events meet them.
    private let spoolTrouble: LogThrottle
    private let redisConfigTrouble: LogThrottle
    /// Hits the request handlers spooled because the queue was full.
    private let queueTrouble: LogThrottle
    /// Enrichment hashes that cannot be read (a popular message's would otherwise be said per batch).
    private let recordTrouble: LogThrottle
    /// Seconds between two log lines about the same lasting trouble.
    public static let reminderInterval = 60.0

    // Guarded by `orderLock`: sequence allocation, direct attempts and spool appends.
    private let orderLock = NSLock()
    private var lastSequence: UInt64 = 0
    private var spoolDirty = false
    private var ids = EventIDGenerator()

    // Owned by the writer thread.
    private var templates = MessageTemplateCache()
    private var nextReplayAt = 0.0
    private var nextSyncAt = 0.0
    private var redisHealthy = true

    private let finished = DispatchSemaphore(value: 0)
    private let stateLock = NSLock()
    private var started = false
    private var stopped = false

    public init(configuration: TrackerConfiguration, spool: Spool, metrics: TrackerMetrics, logger: Logger) {
        queue = HitQueue(capacity: configuration.queueCapacity)
        overflow = HitQueue(capacity: configuration.queueCapacity)
        self.spool = spool
        transaction = EventTransaction(
            schema: configuration.keySchema, writerID: Self.writerID(spoolDirectory: spool.directory),
            eventsMaxLength: configuration.eventsMaxLength, messageTTL: configuration.messageTTL)
        connection = RedisConnection(endpoint: configuration.redisEndpoint)
        batchSize = max(1, configuration.batchSize)
        self.metrics = metrics
        self.logger = logger
        redisEndpoint = configuration.redisEndpoint
        spoolTrouble = LogThrottle(interval: Self.reminderInterval)
        redisConfigTrouble = LogThrottle(interval: Self.reminderInterval)
        queueTrouble = LogThrottle(interval: Self.reminderInterval)
        recordTrouble = LogThrottle(interval: Self.reminderInterval)
    }

    /// Asks Redis once, so that a wrong `redis_password` is said at start rather than at the
    /// first event. Never fails: events go to the spool until Redis takes them.
    public func checkRedis() {
        do {
            _ = try RedisConnection(endpoint: redisEndpoint).command(["PING"])
        } catch {
            metrics.redisErrors.increment()
            if error.isConfiguration {
                redisRefusedConfiguration(error)
            } else {
                logger.warning("\(error); events go to the spool until Redis answers", metadata: ["spool": "\(spool.directory)"])
            }
        }
    }

    /// This tracker's name in the progress hash: `<host name>:<spool directory>`. A spool
    /// belongs to one process at a time (it is locked), so the name is unique among writers.
    public static func writerID(spoolDirectory: String) -> String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "localhost"
        return host + ":" + spoolDirectory
    }

    /// Starts the writer thread. Its first act is replaying what a previous run spooled.
    public func start() {
        stateLock.lock()
        defer { stateLock.unlock() }
        guard !started else { return }
        started = true
        NamedThread.start("mt-events") { [self] in
            if let problem = WriterScheduling.applyToCurrentThread() {
                logger.notice("event writer keeps the default time slice: \(problem)")
            }
            run()
            finished.signal()
        }
    }

    /// Hands a verified hit to the pipeline. When the queue is full (the writer cannot keep
    /// up) the hit waits in the overflow queue, which the writer spools as soon as its current
    /// Redis round trip ends; only when both are full is the hit spooled here, which waits for
    /// that round trip.
    public func submit(_ hit: TrackedHit) {
        if queue.offer(hit) { return }
        metrics.queueOverflows.increment()
        if let unreported = queueTrouble.occurrence() {
            let note = LogThrottle.note(unreported: unreported, "hit")
            logger.warning("event queue full (event_queue_size = \(queue.capacity)): the writer is not keeping up with Redis; hits go to the spool and are replayed in order\(note)")
        }
        if overflow.offer(hit) { return }
        orderLock.lock()
        defer { orderLock.unlock() }
        let batch = EventBatch(sequence: nextSequence(), events: [PendingEvent(id: ids.newID(), hit: hit)])
        append(batch)
    }

    /// Drains the queue (to Redis or the spool), fsyncs the spool and stops the thread.
    public func stop() {
        stateLock.lock()
        let wasRunning = started && !stopped
        stopped = true
        stateLock.unlock()
        // The overflow first: the writer stops once the queue is closed and both are drained,
        // and it does not wait on a closed queue, so closing the queue first would leave it
        // spinning until the overflow is closed too.
        overflow.close()
        queue.close()
        if wasRunning { finished.wait() }
    }

    /// Hits waiting in memory for the writer: the queue and its overflow.
    public var waitingHits: Int { queue.count + overflow.count }

    /// Bytes waiting in the spool.
    public var spoolPendingBytes: Int { spool.pendingBytes }

    // MARK: - The writer thread

    private func run() {
        var busy = false
        while true {
            if overflow.count > 0 {
                orderLock.lock()
                spill(overflow)
                orderLock.unlock()
            }
            if catchingUp {
                // Hits that arrive meanwhile wait in the queue, to go to Redis directly once the
                // spool is empty; only a queue half full sends them behind the spool instead.
                replayChunk()
                if queue.count >= queue.capacity / 2 {
                    orderLock.lock()
                    spill(queue)
                    orderLock.unlock()
                }
                syncIfDue(stopping: false)
                continue
            }
            // Linger only while hits keep coming: a lone hit on a quiet server goes out at once.
            let hits = queue.take(max: batchSize, timeout: pauseBeforeMaintenance(), linger: busy ? linger : 0)
            busy = hits.count > 1
            if !hits.isEmpty {
                process(hits)
            } else if queue.isDrainedAndClosed && overflow.isDrainedAndClosed {
                break
            }
            syncIfDue(stopping: queue.isDrainedAndClosed && overflow.isDrainedAndClosed)
        }
        let spooled = spool.pendingBytes
        do {
            try spool.close()  // fsyncs, and releases the spool's lock for the next run
        } catch {
            logger.error("cannot close the spool", metadata: ["error": "\(error)"])
        }
        logger.info("event writer stopped", metadata: ["spooled-bytes": "\(spooled)"])
    }

    /// True while the spool holds events and a replay is due: Redis answered last time, or
    /// the pause after a failure is over. Not while stopping (the spool is then kept for the
    /// next start).
    private var catchingUp: Bool {
        !spool.isEmpty && Self.now() >= nextReplayAt && !queue.isClosed
    }

    /// Seconds until the next replay or sync is due (the queue wait).
    private func pauseBeforeMaintenance() -> Double {
        let now = Self.now()
        var wait = 1.0
        if !spool.isEmpty { wait = min(wait, nextReplayAt - now) }
        orderLock.lock()
        let dirty = spoolDirty
        orderLock.unlock()
        if dirty { wait = min(wait, nextSyncAt - now) }
        return max(0, wait)
    }

    /// Applies `hits` as batches of at most ``maxBatchBytes`` (or spools them), in order.
    private func process(_ hits: [TrackedHit]) {
        orderLock.lock()
        defer { orderLock.unlock() }
        var start = 0
        while start < hits.count {
            let end = Self.batchEnd(hits, from: start, maxBytes: maxBatchBytes)
            apply(hits[start..<end])
            start = end
        }
        // Hits that found the queue full during the round trip arrived after these.
        spill(overflow)
        guard !spool.isEmpty else { return }
        // Redis failed or is not answering yet: everything else waiting goes behind what is
        // spooled, so the queue keeps room for new hits until Redis answers.
        spill(queue)
    }

    /// Moves every hit waiting in `source` to the end of the spool, in batches. Needs `orderLock`.
    private func spill(_ source: HitQueue) {
        var more = source.take(max: batchSize, timeout: 0)
        while !more.isEmpty {
            var start = 0
            while start < more.count {
                let end = Self.batchEnd(more, from: start, maxBytes: maxBatchBytes)
                append(EventBatch(sequence: nextSequence(), events: more[start..<end].map { PendingEvent(id: ids.newID(), hit: $0) }))
                start = end
            }
            more = source.take(max: batchSize, timeout: 0)
        }
    }

    /// Applies one batch to Redis, or spools it while the spool holds earlier ones or Redis
    /// cannot take it. Needs `orderLock`.
    private func apply(_ hits: ArraySlice<TrackedHit>) {
        var events: [PendingEvent] = []
        events.reserveCapacity(hits.count)
        for hit in hits { events.append(PendingEvent(id: ids.newID(), hit: hit)) }
        let batch = EventBatch(sequence: nextSequence(), events: events)
        guard spool.isEmpty else {
            append(batch)
            return
        }
        var observed: UInt64 = 0
        let outcome = transaction.apply(batch, on: connection, checkProgress: false, observedProgress: &observed,
                                        templates: &templates)
        lastSequence = max(lastSequence, observed)
        switch outcome {
        case .applied(let written, let failures, let unreadable):
            metrics.eventsWritten.increment(by: Int64(written))
            report(failures: failures, events: batch.events.count, written: written)
            report(unreadable)
            redisRecovered()
        case .alreadyApplied:
            break  // not checked for direct batches
        case .transient(let error, _):
            redisFailed(error)
            append(batch)
            nextReplayAt = Self.now() + retryInterval
        case .rejected(let message):
            metrics.redisErrors.increment()
            metrics.eventsLost.increment(by: Int64(batch.events.count))
            logger.error("Redis refused an event batch; its events are lost", metadata: ["error": "\(message)"])
        }
    }

    /// Where the batch starting at `start` ends: after at least one hit, before the hits'
    /// spool records would pass `maxBytes` (a batch is one spool record, and records are limited).
    static func batchEnd(_ hits: [TrackedHit], from start: Int, maxBytes: Int) -> Int {
        var bytes = EventBatch.recordBytes(of: hits[start])
        var end = start + 1
        while end < hits.count {
            bytes += EventBatch.recordBytes(of: hits[end])
            if bytes > maxBytes { break }
            end += 1
        }
        return end
    }

    /// Fsyncs the spool when appends wait and the sync interval is over (or when stopping).
    private func syncIfDue(stopping: Bool) {
        let now = Self.now()
        orderLock.lock()
        let dirty = spoolDirty
        orderLock.unlock()
        if dirty, now >= nextSyncAt || stopping {
            syncSpool()
            nextSyncAt = now + syncInterval
        }
    }

    private struct ReplayPaused: Error {}
    private struct ReplayStopped: Error { let error: RedisError }

    /// Replays spooled batches, oldest first, for at most one chunk.
    private func replayChunk() {
        let deadline = Self.now() + replayChunkSeconds
        var records = 0
        var replayed = 0
        do {
            try spool.replay { record in
                if records >= replayChunkRecords || (records > 0 && Self.now() >= deadline) { throw ReplayPaused() }
                records += 1
                let batch: EventBatch
                do {
                    batch = try EventBatch(decoding: record)
                } catch {
                    metrics.eventsLost.increment()
                    logger.error("dropping an undecodable spool record", metadata: ["error": "\(error)", "bytes": "\(record.count)"])
                    return
                }
                var observed: UInt64 = 0
                let outcome = transaction.apply(batch, on: connection, checkProgress: true, observedProgress: &observed,
                                                    templates: &templates)
                orderLock.lock()
                lastSequence = max(lastSequence, observed)
                orderLock.unlock()
                switch outcome {
                case .applied(let written, let failures, let unreadable):
                    metrics.eventsReplayed.increment(by: Int64(written))
                    replayed += written
                    report(failures: failures, events: batch.events.count, written: written)
                    report(unreadable)
                case .alreadyApplied:
                    // Its events are in the stream (the transaction ran, only its reply was
                    // lost): counted as replayed, so that spooled = replayed + lost once drained.
                    metrics.eventsReplayed.increment(by: Int64(batch.events.count))
                    logger.info("spooled batch was already applied before the connection failed; skipped",
                                metadata: ["sequence": "\(batch.sequence)", "events": "\(batch.events.count)"])
                case .transient(let error, _):
                    throw ReplayStopped(error: error)
                case .rejected(let message):
                    metrics.redisErrors.increment()
                    metrics.eventsLost.increment(by: Int64(batch.events.count))
                    logger.error("Redis refused a spooled event batch; its events are lost", metadata: ["error": "\(message)"])
                }
            }
            redisRecovered()
            if replayed > 0 {
                logger.info("spool replayed", metadata: ["events": "\(replayed)"])
            }
        } catch is ReplayPaused {
            if replayed > 0 { redisRecovered() }
        } catch let stopped as ReplayStopped {
            redisFailed(stopped.error)
            nextReplayAt = Self.now() + retryInterval
        } catch {
            logger.error("cannot read the spool", metadata: ["error": "\(error)", "spool": "\(spool.directory)"])
            nextReplayAt = Self.now() + retryInterval
        }
    }

    // MARK: - Helpers (callers hold `orderLock` where noted)

    /// The next batch sequence: above every earlier one and above Redis' progress mark.
    /// Microseconds of wall-clock time, so sequences keep increasing across restarts. Needs `orderLock`.
    private func nextSequence() -> UInt64 {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        lastSequence = max(lastSequence + 1, now)
        return lastSequence
    }

    /// Appends a batch to the spool. Needs `orderLock`.
    private func append(_ batch: EventBatch) {
        do {
            try spool.append(batch.encoded())
            spoolDirty = true
            metrics.eventsSpooled.increment(by: Int64(batch.events.count))
        } catch {
            metrics.spoolWriteErrors.increment()
            metrics.eventsLost.increment(by: Int64(batch.events.count))
            guard let unreported = spoolTrouble.occurrence() else { return }
            let note = LogThrottle.note(unreported: unreported, "spool failure")
            let remedy = error.remedy(directory: spool.directory)
            logger.error("cannot spool events while Redis is unavailable: \(error): \(remedy); pixels and redirects are still answered, but these events are lost\(note)")
        }
    }

    private func syncSpool() {
        orderLock.lock()
        spoolDirty = false
        orderLock.unlock()
        do {
            try spool.sync()
        } catch {
            logger.error("cannot fsync the spool", metadata: ["error": "\(error)"])
        }
    }

    private func report(failures: [String], events: Int, written: Int) {
        guard !failures.isEmpty else { return }
        metrics.redisErrors.increment(by: Int64(failures.count))
        if written < events { metrics.eventsLost.increment(by: Int64(events - written)) }
        logger.error("Redis refused commands of an event batch", metadata: [
            "failures": "\(failures.count)", "first": "\(failures[0])", "events-lost": "\(events - written)"])
    }

    private func report(_ unreadable: EventTransaction.UnreadableEnrichment) {
        guard let first = unreadable.hashes.first else { return }
        metrics.eventsUnenriched.increment(by: Int64(unreadable.events))
        guard let unreported = recordTrouble.occurrence() else { return }
        let note = LogThrottle.note(unreported: unreported, "time")
        logger.warning("cannot read the enrichment record \(first); its events are written without enrichment\(note)", metadata: [
            "records-in-batch": "\(unreadable.hashes.count)", "events-in-batch": "\(unreadable.events)"])
    }

    private func redisFailed(_ error: RedisError) {
        metrics.redisErrors.increment()
        if error.isConfiguration {
            // Not an outage that ends by itself: said again (rate-limited) until fixed.
            redisHealthy = false
            redisRefusedConfiguration(error)
            return
        }
        if redisHealthy {
            redisHealthy = false
            logger.warning("Redis unavailable; spooling events", metadata: ["error": "\(error)", "spool": "\(spool.directory)"])
        }
    }

    private func redisRecovered() {
        if !redisHealthy {
            redisHealthy = true
            logger.notice("Redis reachable again")
        }
    }

    /// Redis refused the configuration (`redis_password`, `redis_db`).
    private func redisRefusedConfiguration(_ error: RedisError) {
        metrics.redisConfigErrors.increment()
        guard let unreported = redisConfigTrouble.occurrence() else { return }
        let note = LogThrottle.note(unreported: unreported, "Redis refusal")
        logger.error("\(error); events wait in the spool \(spool.directory) until it is fixed\(note)")
    }

    private static func now() -> Double {
        Date().timeIntervalSince1970
    }
}
