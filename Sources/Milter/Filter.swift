import Config
import Dispatch
import Foundation
import Logging
import Rewrite
import Store

/// Everything the callbacks share: the settings, the engine, the Redis writer, and the
/// sessions and messages in flight. Built once in `main`; its own state is lock-protected.
final class Filter: @unchecked Sendable {
    let settings: Settings
    /// What each connection asks of the MTA; depends on the kind of socket listened on.
    let protocolOptions: ProtocolOptions
    let rewriter: MessageRewriter
    let writer: DurableRedisWriter
    private let replayLoop: SpoolReplayLoop
    private let bodyDirectory: String
    private let enrichment: EnrichmentBuilder
    /// Bounds how many spilled (large) bodies are held in memory at once, which bounds
    /// the filter's peak memory whatever the number of concurrent large messages.
    private let largeBodies = DispatchSemaphore(value: Filter.largeBodiesAtOnce)
    static let largeBodiesAtOnce = 2
    /// How long a large message waits for its turn before it passes untouched (seconds).
    static let largeBodyWait = 20.0
    /// Redis connections kept open between messages: as many as Postfix runs cleanup
    /// processes by default (`default_process_limit`), so that concurrent end-of-message
    /// writes reuse connections instead of connecting (and Redis accepting) once per message.
    static let redisConnectionsKept = 100
    /// Open sessions and messages in progress, for a stop that lets messages finish.
    let inFlight = InFlight()
    let metrics = MilterMetrics()
    private let reporter: EnrichmentReporter
    let log = Logger(label: "mailtrail-milter")

    init(settings: Settings) throws(StartupError) {
        self.settings = settings
        protocolOptions = ProtocolOptions(socket: settings.milterSocket)
        let keyRing: KeyRing
        do {
            keyRing = try settings.loadKeyRing(requirePrivate: true)
        } catch {
            throw StartupError(error)
        }
        rewriter = MessageRewriter(options: settings.rewriterOptions(keyRing: keyRing))
        writer = try settings.durableWriter(program: "milter", maxIdleConnections: Self.redisConnectionsKept)
        bodyDirectory = settings.spoolPath(for: "bodies")
        if mkdir(bodyDirectory, 0o700) != 0 && errno != EEXIST {
            throw .spool(.cannotCreateDirectory(path: bodyDirectory, errno: errno), spoolDirectory: settings.spoolDirectory)
        }
        enrichment = EnrichmentBuilder(settings: settings)
        let reporter = EnrichmentReporter(metrics: metrics, log: log, spoolDirectory: writer.spool.directory)
        self.reporter = reporter
        replayLoop = SpoolReplayLoop(writer: writer) { reporter.replayed($0) }
    }

    /// Checks Redis once, so that a wrong `redis_password` is said at start rather than at the
    /// first message, then starts replaying the spool.
    func start() {
        do {
            _ = try RedisConnection(endpoint: settings.redisEndpoint).command(["PING"])
        } catch {
            reporter.checked(error)
        }
        replayLoop.start()
    }

    /// The Prometheus exposition of ``metrics``.
    func exposition() -> [UInt8] {
        metrics.exposition(spoolBytes: writer.spool.pendingBytes)
    }

    func stop() {
        replayLoop.stop()
        do { try writer.syncSpool() } catch { log.error("spool sync failed: \(error)") }
    }

    func makeBodyBuffer() -> BodyBuffer {
        BodyBuffer(memoryLimit: settings.memoryBufferSize, spoolDirectory: bodyDirectory)
    }

    // MARK: - End of message

    /// Tracks the message if it should be, and records its enrichment. Whatever happens,
    /// the message goes on: failures are logged and the message passes as it came.
    func finish(_ message: MessageInProgress, session: MilterSession, milter: MilterContext) {
        let started = DispatchTime.now()
        metrics.messagesSeen.increment()
        let queueID = milter.queueID
        var log = self.log
        log[metadataKey: "queue-id"] = "\(queueID ?? "NOQUEUE")"
        log[metadataKey: "size"] = "\(message.bodySize)"

        if message.tooLarge {
            metrics.countSkipped(.tooLarge)
            log.info("not tracked: larger than max_message_size (\(settings.maxMessageSize) bytes)")
            return
        }
        if let failure = message.bufferFailure {
            metrics.countSkipped(.bufferFailed)
            log.error("not tracked: \(failure)")
            return
        }
        // Spilled (large) bodies are rewritten a few at a time: that bounds the filter's peak
        // memory whatever the number of large messages arriving at once. One that cannot get
        // a turn in time passes untouched, well inside Postfix's milter_content_timeout.
        let spilled = message.body.isSpilled
        if spilled {
            guard largeBodies.wait(timeout: .now() + Self.largeBodyWait) == .success else {
                metrics.countSkipped(.busy)
                log.warning("not tracked: waited \(Int(Self.largeBodyWait)) s in vain for one of \(Self.largeBodiesAtOnce) turns to rewrite a large message")
                return
            }
        }
        defer { if spilled { largeBodies.signal() } }

        let header = HeaderBlock(milterFields: message.headers)
        let trackingID = TrackingID.random()
        let now = Date()
        let result: MessageRewriter.Result
        do {
            // The buffer lets go of the body here, so that the original is freed as soon as the
            // rewrite is done, before the new body goes back to the MTA.
            let body = try message.body.contents()
            message.body.discard()
            result = rewriter.rewrite(header: header, body: body, sender: message.sender,
                                      trackingID: trackingID, issuedAt: UInt32(clamping: Int(now.timeIntervalSince1970)))
        } catch {
            metrics.countSkipped(.bufferFailed)
            log.error("not tracked: \(error)")
            return
        }
        for failure in result.partsFailed {
            log.warning("part \(failure.path.map(String.init).joined(separator: ".")) left as is: \(failure.reason)")
        }

        // The record first: any message that leaves with an ID has its record (or the record
        // is in the spool), even if the filter dies while modifying the message.
        let storing = DispatchTime.now()
        let stored = result.isTracked ? store(enrichment.record(
            for: message, header: header, session: session, trackingID: trackingID,
            queueID: queueID, sentAt: now, linksWrapped: result.linksWrapped), log: log) : ""
        let storedAt = DispatchTime.now()

        // Then the changes, the ID header last: Postfix commits a replaced body when the next
        // (non-body) change arrives, so a message carries X-MailTrail-ID only if its new body
        // is complete. Cut off before that (the filter killed, the MTA gone), the message keeps
        // its original body and no ID.
        do {
            try apply(result.headerEdits, to: message, milter: milter)
            if result.isTracked {
                if let newBody = result.body { try milter.replaceBody(newBody) }
                try milter.insertHeader(TrackingPolicy.idHeader, trackingID.hex)
            }
        } catch {
            metrics.countSkipped(.modifyFailed)
            log.error("could not modify the message: \(error)")
            return
        }
        guard result.isTracked else {
            metrics.countSkipped(MilterMetrics.SkipLabel(result.skip!))
            log.info("not tracked: \(result.skip!)")
            return
        }
        metrics.messagesTracked.increment()
        // ms: the whole end of message; enrichment_ms: the part spent on Redis or the spool,
        // bounded by redis_connect_timeout + redis_timeout whatever state Redis is in.
        log.info("tracked", metadata: [
            "id": "\(trackingID.hex)", "links": "\(result.linksWrapped)", "pixels": "\(result.pixelsInserted)",
            "enrichment": "\(stored)", "ms": "\(Self.milliseconds(from: started, to: DispatchTime.now()))",
            "enrichment_ms": "\(Self.milliseconds(from: storing, to: storedAt))",
            "buffer": "\(spilled ? "file" : "memory")",
        ])
    }

    /// Writes the enrichment record to Redis, or to the spool when Redis cannot take it;
    /// returns where it went (`redis`, `spool` or `lost`), having counted it and logged any trouble.
    private func store(_ record: EnrichmentRecord, log: Logger) -> String {
        let commands = record.commands(schema: settings.keySchema, ttlSeconds: Int(settings.messageTTL))
        return reporter.submitted(Result { () throws(SpoolError) in try writer.submit(commands) }, log: log)
    }

    /// The time between two instants in milliseconds with one decimal ("12.3"), by integer
    /// arithmetic: `String(format:)` goes through Foundation's CFString formatter, which cost
    /// as much as the Redis write of a message.
    private static func milliseconds(from start: DispatchTime, to end: DispatchTime) -> String {
        let (start, end) = (start.uptimeNanoseconds, end.uptimeNanoseconds)
        let tenths = ((end >= start ? end - start : 0) + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// Applies top-level header edits through libmilter.
    private func apply(_ edits: [HeaderEdit], to message: MessageInProgress, milter: MilterContext) throws {
        for edit in edits {
            switch edit {
            case .removeAll(let name):
                let count = message.headers.filter { $0.name.lowercased() == name.lowercased() }.count
                for index in stride(from: count, through: 1, by: -1) {
                    try milter.changeHeader(name, index: index, to: nil)
                }
            case .set(let name, let value):
                if message.headers.contains(where: { $0.name.lowercased() == name.lowercased() }) {
                    try milter.changeHeader(name, index: 1, to: value)
                } else {
                    try milter.addHeader(name, value)
                }
            }
        }
    }
}
