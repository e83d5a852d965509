import Foundation
import Testing
@testable import Store

@Suite struct EnrichmentRecordTests {
    static let id = "0123456789abcdef0123456789abcdef"

    static let single = EnrichmentRecord(
        trackingID: id,
        sender: "news@shop.example",
        recipients: ["Alice@Example.org"],
        messageID: "<abc@shop.example>",
        subject: "Sale: 20% off / today",
        campaign: "spring-2026",
        tags: ["promo", "newsletter"],
        queueID: "4XyZ1234",
        clientAddress: "192.0.2.10",
        saslUser: "shop",
        sentAt: 1_767_225_600,
        linksWrapped: 7
    )

    static func text(_ command: RedisCommand) -> [String] {
        command.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func keySchemaNames() {
        let schema = KeySchema()
        #expect(schema.message(Self.id) == "mt:msg:0123456789abcdef0123456789abcdef")
        #expect(schema.events == "mt:events")
        #expect(schema.feedGroup == "mt:feed")
        #expect(schema.deadLetter == "mt:events:dead")
        let other = KeySchema(prefix: "staging:mt:")
        #expect(other.message("ab") == "staging:mt:msg:ab")
        #expect(other.events == "staging:mt:events")
        #expect(other.feedGroup == "staging:mt:feed")
        #expect(other.deadLetter == "staging:mt:events:dead")
    }

    @Test func commandsAreOneHSETAndOneEXPIRE() {
        let commands = Self.single.commands(ttlSeconds: 864_000)
        #expect(commands.count == 2)
        #expect(Self.text(commands[0]) == [
            "HSET", "mt:msg:0123456789abcdef0123456789abcdef",
            "sender", "news@shop.example",
            "recipient", "Alice@Example.org",
            "recipients", #"["Alice@Example.org"]"#,
            "rcpt_count", "1",
            "message_id", "<abc@shop.example>",
            "subject", "Sale: 20% off / today",
            "campaign", "spring-2026",
            "tags", #"["promo","newsletter"]"#,
            "queue_id", "4XyZ1234",
            "client_addr", "192.0.2.10",
            "sasl_user", "shop",
            "sent_at", "1767225600",
            "links", "7",
        ])
        #expect(Self.text(commands[1]) == ["EXPIRE", "mt:msg:0123456789abcdef0123456789abcdef", "864000"])
    }

    @Test func severalRecipientsAndAbsentFieldsAreLeftOut() {
        let record = EnrichmentRecord(trackingID: "ff", sender: "", recipients: ["a@x.test", "b@y.test", "c\"q@z.test"],
                                      sentAt: 5, linksWrapped: 0)
        let commands = record.commands(schema: KeySchema(prefix: "t:"), ttlSeconds: 60)
        #expect(Self.text(commands[0]) == [
            "HSET", "t:msg:ff",
            "sender", "",
            "recipients", #"["a@x.test","b@y.test","c\"q@z.test"]"#,
            "rcpt_count", "3",
            "sent_at", "5",
            "links", "0",
        ])
        #expect(record.singleRecipient == nil)
    }

    @Test func writesTheExactHashAndTTLToRedis() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = server.client()
        let replies = try redis.pipeline(Self.single.commands(ttlSeconds: 864_000))
        #expect(replies == [.integer(13), .integer(1)])

        let key = KeySchema().message(Self.id)
        let stored = try redis.command(["HGETALL", key]).fieldMap?.mapValues { String(decoding: $0, as: UTF8.self) }
        #expect(stored == [
            "sender": "news@shop.example",
            "recipient": "Alice@Example.org",
            "recipients": #"["Alice@Example.org"]"#,
            "rcpt_count": "1",
            "message_id": "<abc@shop.example>",
            "subject": "Sale: 20% off / today",
            "campaign": "spring-2026",
            "tags": #"["promo","newsletter"]"#,
            "queue_id": "4XyZ1234",
            "client_addr": "192.0.2.10",
            "sasl_user": "shop",
            "sent_at": "1767225600",
            "links": "7",
        ])
        let ttl = try redis.command(["TTL", key]).integer ?? -1
        #expect(ttl > 863_990 && ttl <= 864_000)

        let fields = try #require(try redis.command(["HGETALL", key]).fieldMap)
        #expect(try EnrichmentRecord(trackingID: Self.id, fields: fields) == Self.single)
    }

    @Test func decodingReportsMissingAndInvalidFields() throws {
        let good = Dictionary(uniqueKeysWithValues: Self.single.fields.map { ($0.0.rawValue, $0.1) })
        var missing = good
        missing["sender"] = nil
        #expect(throws: EnrichmentDecodingError.missingField("sender")) {
            try EnrichmentRecord(trackingID: Self.id, fields: missing)
        }
        var badNumber = good
        badNumber["sent_at"] = Array("yesterday".utf8)
        #expect(throws: EnrichmentDecodingError.invalidField("sent_at", "yesterday")) {
            try EnrichmentRecord(trackingID: Self.id, fields: badNumber)
        }
        var badList = good
        badList["tags"] = Array("promo,news".utf8)
        #expect(throws: EnrichmentDecodingError.invalidField("tags", "promo,news")) {
            try EnrichmentRecord(trackingID: Self.id, fields: badList)
        }
        var noRecipients = good
        noRecipients["recipients"] = nil
        #expect(throws: EnrichmentDecodingError.missingField("recipients")) {
            try EnrichmentRecord(trackingID: Self.id, fields: noRecipients)
        }
        var withCounters = good
        withCounters["opens"] = Array("3".utf8)
        #expect(try EnrichmentRecord(trackingID: Self.id, fields: withCounters) == Self.single)
    }

    @Test func engagementCountsAndSetsFirstTimesOnce() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = server.client()
        let key = KeySchema().message(Self.id)
        _ = try redis.pipeline(Self.single.commands(ttlSeconds: 100))

        let firstOpen = EngagementUpdate(kind: .opened, trackingID: Self.id, at: 1_767_300_000)
        #expect(firstOpen.commands(ttlSeconds: 864_000).map(Self.text) == [
            ["HINCRBY", key, "opens", "1"],
            ["HSETNX", key, "first_open_at", "1767300000"],
            ["EXPIRE", key, "864000", "NX"],
        ])
        #expect(try redis.pipeline(firstOpen.commands(ttlSeconds: 864_000)) == [.integer(1), .integer(1), .integer(0)])
        let secondOpen = EngagementUpdate(kind: .opened, trackingID: Self.id, at: 1_767_300_500)
        #expect(try redis.pipeline(secondOpen.commands(ttlSeconds: 864_000)) == [.integer(2), .integer(0), .integer(0)])
        let click = EngagementUpdate(kind: .clicked, trackingID: Self.id, at: 1_767_300_600)
        #expect(try redis.pipeline(click.commands(ttlSeconds: 864_000)) == [.integer(1), .integer(1), .integer(0)])

        let fields = try redis.command(["HMGET", key, "opens", "first_open_at", "clicks", "first_click_at"])
        #expect(fields == .array(["2", "1767300000", "1", "1767300600"].map { .bulk(Array($0.utf8)) }))
        let ttl = try redis.command(["TTL", key]).integer ?? -1
        #expect(ttl > 90 && ttl <= 100)  // the milter's expiry is kept

        // A hash created by the counters alone still expires.
        let orphan = EngagementUpdate(kind: .clicked, trackingID: "00000000000000000000000000000000", at: 1)
        _ = try redis.pipeline(orphan.commands(ttlSeconds: 500))
        let orphanTTL = try redis.command(["TTL", KeySchema().message(orphan.trackingID)]).integer ?? -1
        #expect(orphanTTL > 490 && orphanTTL <= 500)
    }

    @Test func fieldNamesArePartOfTheProduct() {
        #expect(EnrichmentField.allCases.map(\.rawValue) == [
            "sender", "recipient", "recipients", "rcpt_count", "message_id", "subject", "campaign", "tags",
            "queue_id", "client_addr", "sasl_user", "sent_at", "links", "opens", "clicks", "first_open_at",
            "first_click_at",
        ])
    }
}
