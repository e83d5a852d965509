import Foundation
import Rewrite
import Store
import TestSupport
import Testing
@testable import TrackerCore

/// The writer's cache of message templates: bounded, and never trusted beyond what Redis
/// still shows of the record.
@Suite(.serialized) struct MessageTemplateCacheTests {
    typealias F = TrackerFixtures

    static func id(_ n: UInt8) -> TrackingID {
        TrackingID(bytes: [UInt8](repeating: 0, count: TrackingID.byteCount - 1) + [n])
    }

    static func entry(readAt: Double = 1000) -> MessageTemplateCache.Entry {
        .init(template: EventJSONTemplate(message: .init(trackingID: id(0), enrichment: nil)), identity: [], readAt: readAt)
    }

    @Test func holdsAtMostTwoGenerationsAndKeepsWhatIsUsed() {
        var cache = MessageTemplateCache(capacity: 2)
        cache.insert(Self.entry(), for: Self.id(1))
        cache.insert(Self.entry(), for: Self.id(2))
        cache.insert(Self.entry(), for: Self.id(3))  // 1 and 2 become the previous generation
        #expect(cache.count == 3)
        #expect(cache.entry(for: Self.id(1), now: 1001) != nil)  // used: back in the current generation
        cache.insert(Self.entry(), for: Self.id(4))  // 3 and 1 become previous; 2 is dropped
        #expect(cache.entry(for: Self.id(2), now: 1001) == nil)
        #expect(cache.entry(for: Self.id(1), now: 1001) != nil)
        #expect(cache.entry(for: Self.id(3), now: 1001) != nil)
        #expect(cache.count <= 4)
        cache.remove(Self.id(3))
        #expect(cache.entry(for: Self.id(3), now: 1001) == nil)
    }

    @Test func anEntryIsUsedForMaxAgeAfterItsRead() {
        var cache = MessageTemplateCache(capacity: 2, maxAge: 60)
        cache.insert(Self.entry(readAt: 1000), for: Self.id(1))
        cache.insert(Self.entry(readAt: 1000), for: Self.id(2))
        cache.insert(Self.entry(readAt: 1000), for: Self.id(3))  // 1 and 2 in the previous generation
        #expect(cache.entry(for: Self.id(1), now: 1059.9) != nil)
        #expect(cache.entry(for: Self.id(1), now: 1060) == nil)  // current generation, too old
        #expect(cache.entry(for: Self.id(2), now: 1060) == nil)  // previous generation, too old
        #expect(cache.entry(for: Self.id(3), now: 1060) == nil)
        #expect(cache.count == 0)
    }

    /// Calls of `command` Redis has run since it started (`INFO commandstats`).
    static func calls(_ command: String, _ client: RedisConnection) throws -> Int {
        let info = try client.command(["INFO", "commandstats"]).string ?? ""
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_\(command):calls=") {
            return Int(line.dropFirst("cmdstat_\(command):calls=".count).prefix { $0.isNumber }) ?? 0
        }
        return 0
    }

    /// The JSON object of the newest event in the stream.
    static func lastEvent(_ client: RedisConnection) throws -> [String: Any] {
        let entry = try #require(try client.command(["XREVRANGE", "mt:events", "+", "-", "COUNT", "1"]).array?.first?.array?.last?.fieldMap)
        let json = try #require(entry["json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    }

    static func open(_ sequence: UInt64) -> EventBatch {
        EventBatch(sequence: sequence, events: [PendingEvent(id: TrackingEvent.newID(), hit: TrackedHit(
            kind: .open, trackingID: F.trackingID, timestamp: 1_700_000_000 + Double(sequence), ip: "192.0.2.1", userAgent: "ua"))])
    }

    static func record(recipient: String, sentAt: Int64) -> EnrichmentRecord {
        EnrichmentRecord(
            trackingID: F.trackingID.hex, sender: "news@shop.test", recipients: [recipient], messageID: "<m1@shop.test>",
            subject: nil, campaign: "c1", tags: [], queueID: "4Xk2Lq0zZ1", clientAddress: nil, saslUser: nil,
            sentAt: sentAt, linksWrapped: 1)
    }

    /// A Redis holding one message's record, and a writer's transaction and cache.
    final class Scene {
        let redis: RedisServer
        let client: RedisConnection
        let connection: RedisConnection
        let transaction = EventTransaction(schema: KeySchema(), writerID: "w", eventsMaxLength: 1000, messageTTL: 60)
        var cache = MessageTemplateCache()
        var progress: UInt64 = 0

        init() throws {
            redis = try RedisServer()
            client = redis.client()
            connection = RedisConnection(endpoint: redis.endpoint())
            try write(MessageTemplateCacheTests.record(recipient: "alice@example.org", sentAt: 1_699_999_000))
        }

        func write(_ record: EnrichmentRecord) throws {
            _ = try client.pipeline(record.commands(ttlSeconds: 3600))
        }

        /// Applies batch `sequence`: one open of the message.
        func applyOpen(_ sequence: UInt64) -> EventTransaction.Outcome {
            transaction.apply(MessageTemplateCacheTests.open(sequence), on: connection, checkProgress: false,
                              observedProgress: &progress, templates: &cache)
        }

        static let applied = EventTransaction.Outcome.applied(written: 1, failures: [], unreadable: .init())
    }

    @Test func aCachedMessageIsCheckedNotReadWholeAndFirstStaysRight() throws {
        let scene = try Scene()
        defer { scene.redis.shutdown() }
        let client = scene.client
        #expect(scene.applyOpen(1) == Scene.applied)
        #expect(scene.cache.count == 1)
        #expect(try Self.lastEvent(client)["first"] as? Bool == true)
        #expect(scene.applyOpen(2) == Scene.applied)
        let second = try Self.lastEvent(client)
        #expect(second["first"] as? Bool == false)
        #expect(second["recipient"] as? String == "alice@example.org")
        #expect(try Self.calls("hgetall", client) == 1)
        #expect(try Self.calls("hmget", client) == 1)
        #expect(try client.command(["HGET", "mt:msg:" + F.trackingID.hex, "opens"]) == .bulk(Array("2".utf8)))
    }

    @Test func aReplacedOrVanishedRecordIsReadAgain() throws {
        let scene = try Scene()
        defer { scene.redis.shutdown() }
        let client = scene.client
        let key = "mt:msg:" + F.trackingID.hex
        #expect(scene.applyOpen(1) == Scene.applied)

        // Written again for another recipient (sent_at differs): the new record is read and used.
        try scene.write(Self.record(recipient: "bob@example.org", sentAt: 1_699_999_500))
        #expect(scene.applyOpen(2) == Scene.applied)
        #expect(try Self.lastEvent(client)["recipient"] as? String == "bob@example.org")
        #expect(try Self.calls("hgetall", client) == 2)

        // Gone: the event has no enrichment, is a first again, and the hash the tracker
        // creates expires.
        _ = try client.command(["DEL", key])
        #expect(scene.applyOpen(3) == Scene.applied)
        let third = try Self.lastEvent(client)
        #expect(third["recipient"] == nil)
        #expect(third["first"] as? Bool == true)
        #expect(scene.cache.count == 0)
        let ttl = try #require(try client.command(["TTL", key]).integer)
        #expect(ttl > 0 && ttl <= 60)

        // No longer a hash: the counters fail, the event is written, the cache forgets it.
        try scene.write(Self.record(recipient: "carol@example.org", sentAt: 1_699_999_900))
        #expect(scene.applyOpen(4) == Scene.applied)
        #expect(scene.cache.count == 1)
        _ = try client.command(["DEL", key])
        _ = try client.command(["SET", key, "not a hash"])
        let outcome = scene.applyOpen(5)
        guard case .applied(let written, let failures, _) = outcome else {
            Issue.record("unexpected outcome \(outcome)")
            return
        }
        #expect(written == 1 && failures.allSatisfy { $0.hasPrefix("WRONGTYPE") })
        #expect(scene.cache.count == 0)
        #expect(try Self.lastEvent(client)["recipient"] == nil)
    }
}
