import Foundation
import Testing
@testable import Store

@Suite struct TrackingEventTests {
    static let click = TrackingEvent(
        id: "9f86d081884c7d659a2feaa0c55ad015",
        event: .clicked,
        timestamp: 1_767_300_000.25,
        trackingID: "0123456789abcdef0123456789abcdef",
        messageID: "<abc@shop.example>",
        recipient: "Alice@Example.org",
        recipientDomain: "example.org",
        url: "https://shop.example/sale?a=1&b=2",
        linkIndex: 3,
        ip: "198.51.100.7",
        userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        clientInfo: .init(clientName: "Mobile Safari", clientType: "mobile browser", clientOS: "iOS", deviceType: "mobile"),
        machine: .init(isMachine: false),
        first: true,
        campaign: "spring-2026",
        tags: ["promo", "newsletter"],
        queueID: "4XyZ1234",
        sentAt: 1_767_225_600
    )

    @Test func clickEncodesToExactJSON() throws {
        let json = String(decoding: try Self.click.jsonBytes(), as: UTF8.self)
        #expect(json == #"{"campaign":"spring-2026","client-info":{"client-name":"Mobile Safari","client-os":"iOS","client-type":"mobile browser","device-type":"mobile"},"event":"clicked","first":true,"id":"9f86d081884c7d659a2feaa0c55ad015","ip":"198.51.100.7","link-index":3,"machine":{"is-machine":false},"message-id":"<abc@shop.example>","queue-id":"4XyZ1234","recipient":"Alice@Example.org","recipient-domain":"example.org","sent-at":1767225600,"tags":["promo","newsletter"],"timestamp":1767300000.25,"tracking-id":"0123456789abcdef0123456789abcdef","url":"https://shop.example/sale?a=1&b=2","user-agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}"#)
    }

    @Test func machineOpenWithoutEnrichmentLeavesAbsentFieldsOut() throws {
        let open = TrackingEvent(
            id: "00000000000000000000000000000001", event: .opened, timestamp: 1_767_300_001,
            trackingID: "ffffffffffffffffffffffffffffffff", ip: "17.58.0.1", userAgent: "Mozilla/5.0",
            machine: .init(isMachine: true, reason: "apple-mpp"), first: false)
        let json = String(decoding: try open.jsonBytes(), as: UTF8.self)
        #expect(json == #"{"client-info":{"client-name":"unknown","client-os":"unknown","client-type":"unknown","device-type":"unknown"},"event":"opened","first":false,"id":"00000000000000000000000000000001","ip":"17.58.0.1","machine":{"is-machine":true,"reason":"apple-mpp"},"tags":[],"timestamp":1767300001,"tracking-id":"ffffffffffffffffffffffffffffffff","user-agent":"Mozilla/5.0"}"#)
        #expect(try TrackingEvent.decode(json: open.jsonBytes()) == open)
    }

    @Test func jsonRoundTrips() throws {
        #expect(try TrackingEvent.decode(json: Self.click.jsonBytes()) == Self.click)
    }

    @Test func nonFiniteTimestampIsAnEncodingError() {
        var broken = Self.click
        broken.timestamp = .nan
        #expect(throws: EncodingError.self) { try broken.jsonBytes() }
    }

    @Test func xaddCommandCarriesIdAndJSON() throws {
        let command = try Self.click.xaddCommand()
        let text = command.map { String(decoding: $0, as: UTF8.self) }
        #expect(Array(text.prefix(5)) == ["XADD", "mt:events", "*", "id", "9f86d081884c7d659a2feaa0c55ad015"])
        #expect(text[5] == "json")
        #expect(command[6] == (try Self.click.jsonBytes()))

        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = server.client()
        _ = try redis.command(command)
        let entries = try redis.command(["XRANGE", "mt:events", "-", "+"])
        let fields = try #require(entries.array?.first?.array?.last)
        let map = try #require(fields.fieldMap)
        #expect(map["id"] == Array("9f86d081884c7d659a2feaa0c55ad015".utf8))
        #expect(try TrackingEvent.decode(json: #require(map["json"])) == Self.click)
    }

    @Test func idsAre128RandomBitsInLowercaseHex() {
        struct Fixed: RandomNumberGenerator {
            var values: [UInt64]
            mutating func next() -> UInt64 { values.removeFirst() }
        }
        var fixed = Fixed(values: [0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210])
        #expect(TrackingEvent.newID(using: &fixed) == "0123456789abcdeffedcba9876543210")
        var zeros = Fixed(values: [0, 0])
        #expect(TrackingEvent.newID(using: &zeros) == "00000000000000000000000000000000")

        let ids = (0..<2_000).map { _ in TrackingEvent.newID() }
        #expect(Set(ids).count == 2_000)
        #expect(ids.allSatisfy { $0.utf8.count == 32 && $0.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } })
    }

    @Test func recipientDomain() {
        #expect(TrackingEvent.domain(of: "Bob@Example.COM") == "example.com")
        #expect(TrackingEvent.domain(of: "\"a@b\"@mail.test") == "mail.test")
        #expect(TrackingEvent.domain(of: "nobody") == nil)
        #expect(TrackingEvent.domain(of: "trailing@") == nil)
    }
}
