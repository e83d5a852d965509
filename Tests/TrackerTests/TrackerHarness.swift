import Config
import Foundation
import Logging
import Store
import TestSupport
@testable import TrackerCore

/// An in-process tracker on a free loopback port, writing to a throwaway redis-server.
final class TrackerHarness {
    let redis: RedisServer
    let spoolDirectory: String
    let service: TrackerService
    let port: Int
    /// What the tracker logged, one line per message (level and text).
    let log = CapturedLog()
    private let ownsSpool: Bool

    /// - Parameters:
    ///   - settings: configuration lines (`name = value`) on top of the test defaults.
    ///   - spoolDirectory: reuse a spool (restart tests); by default a fresh one, removed at `stop()`.
    ///   - redisTimeout: `tracker_redis_timeout`, how long the writer waits for a Redis that does not answer.
    init(redis: RedisServer, settings extra: String = "", spoolDirectory: String? = nil, redisTimeout: String = "200ms") throws {
        self.redis = redis
        ownsSpool = spoolDirectory == nil
        self.spoolDirectory = try spoolDirectory ?? TemporaryDirectory.make(prefix: "tracker-spool")
        var settings = try Settings.parse("""
            redis_port = \(redis.port)
            redis_timeout = 200ms
            tracker_redis_timeout = \(redisTimeout)
            spool_directory = \(self.spoolDirectory)
            tracker_threads = 2
            \(extra)
            """, source: "test")
        settings.trackerListen = (host: "127.0.0.1", port: 0)
        let configuration = try TrackerConfiguration(settings: settings, keyRing: TrackerFixtures.ring)
        service = try TrackerService(configuration: configuration, logger: Logger(label: "test") { [log] _ in log.handler })
        port = try service.start()
    }

    func stop() {
        service.shutdown(gracePeriod: 2)
        if ownsSpool { try? FileManager.default.removeItem(atPath: spoolDirectory) }
    }

    func connect(source: String? = nil, timeout: Double = 10, receiveBuffer: Int32? = nil) throws -> RawHTTPConnection {
        try RawHTTPConnection(port: port, source: source, timeout: timeout, receiveBuffer: receiveBuffer)
    }

    /// The stream's events, oldest first.
    func events() throws -> [TrackingEvent] {
        let entries = try redis.client().command(["XRANGE", "mt:events", "-", "+"]).array ?? []
        return try entries.map { entry in
            guard let fields = entry.array?[1].array, fields.count == 4, let json = fields[3].bytes else {
                throw FixtureError("unexpected stream entry \(entry)")
            }
            let event = try TrackingEvent.decode(json: json)
            guard fields[0].string == "id", fields[1].string == event.id, fields[2].string == "json" else {
                throw FixtureError("stream entry fields \(fields) do not match event \(event.id)")
            }
            return event
        }
    }

    /// The raw JSON documents of the stream, oldest first.
    func eventJSON() throws -> [String] {
        let entries = try redis.client().command(["XRANGE", "mt:events", "-", "+"]).array ?? []
        return entries.compactMap { $0.array?[1].array?[3].string }
    }

    func streamLength() throws -> Int {
        Int(try redis.client().command(["XLEN", "mt:events"]).integer ?? -1)
    }

    /// Waits until the stream holds `count` events and returns its length. Gives up, returning
    /// the length reached, only once the stream has not grown for `timeout` seconds: a slow or
    /// busy machine (or a sanitizer build) makes the wait longer, never the test fail.
    @discardableResult
    func waitForStream(length count: Int, timeout: Double = 20) throws -> Int {
        var deadline = Date(timeIntervalSinceNow: timeout)
        var length = -1
        while Date() < deadline {
            let now = (try? streamLength()) ?? -1
            if now >= count { return now }
            if now > length {
                length = now
                deadline = Date(timeIntervalSinceNow: timeout)
            }
            usleep(20_000)
        }
        return length
    }

    func hash(_ trackingID: String) throws -> [String: String] {
        let map = try redis.client().command(["HGETALL", "mt:msg:" + trackingID]).fieldMap ?? [:]
        return map.mapValues { String(decoding: $0, as: UTF8.self) }
    }

    /// Stores an enrichment record as the milter would.
    func enrich(_ record: EnrichmentRecord) throws {
        _ = try redis.client().pipeline(record.commands(ttlSeconds: 3600))
    }

    /// The value of one metric line (`name{labels}`) in `/metrics`, read within `timeout` seconds.
    func metric(_ line: String, timeout: Double = 10) throws -> Double? {
        let connection = try connect(timeout: timeout)
        let text = String(decoding: try connection.get("/metrics").body, as: UTF8.self)
        for row in text.split(separator: "\n") where row.hasPrefix(line + " ") {
            return Double(row.dropFirst(line.count + 1))
        }
        return nil
    }

    /// The metric once it reads `value`, or its last reading after `timeout` seconds: the
    /// writer counts just after Redis answers, so a reader that saw the stream can be first.
    func metric(_ line: String, reaching value: Double, timeout: Double = 10) throws -> Double? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let reading = try metric(line)
            if reading == value || Date() > deadline { return reading }
            usleep(10_000)
        }
    }
}

/// Collects log lines as `<level>: <message>`.
final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []

    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return entries
    }

    var handler: Handler { Handler(log: self) }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.lock.lock()
            log.entries.append("\(event.level): \(event.message)")
            log.lock.unlock()
        }
    }
}
