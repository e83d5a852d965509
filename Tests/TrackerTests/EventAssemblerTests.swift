import Rewrite
import Store
import Testing
@testable import TrackerCore

@Suite struct EventAssemblerTests {
    static let enrichment: [String: [UInt8]] = {
        let record = EnrichmentRecord(
            trackingID: TrackerFixtures.trackingID.hex, sender: "news@shop.test", recipients: ["Alice@Example.ORG"],
            messageID: "<m1@shop.test>", subject: "Hello", campaign: "spring", tags: ["a", "b/c"], queueID: "4Xk2Lq0zZ1",
            clientAddress: "192.0.2.1", saslUser: "app", sentAt: 1_700_000_000, linksWrapped: 4)
        var map: [String: [UInt8]] = [:]
        for (field, value) in record.fields { map[field.rawValue] = value }
        map["opens"] = Array("2".utf8)
        map["first_open_at"] = Array("1700000050".utf8)
        return map
    }()

    static func pending(_ kind: TokenKind, destination: String = "", index: UInt32 = 0) -> PendingEvent {
        PendingEvent(id: "0123456789abcdef0123456789abcdef", hit: TrackedHit(
            kind: kind, trackingID: TrackerFixtures.trackingID, linkIndex: index, destination: Array(destination.utf8),
            timestamp: 1_700_000_100.25, ip: "203.0.113.9", userAgent: "Mozilla/5.0 \"x\""))
    }

    @Test func clickWithEnrichment() throws {
        let event = EventAssembler.event(for: Self.pending(.click, destination: "https://example.com/p?q=1&r=é", index: 2),
                                         enrichment: Self.enrichment, first: true)
        #expect(String(decoding: try event.jsonBytes(), as: UTF8.self) == """
            {"campaign":"spring","client-info":{"client-name":"unknown","client-os":"unknown","client-type":"unknown","device-type":"unknown"},\
            "event":"clicked","first":true,"id":"0123456789abcdef0123456789abcdef","ip":"203.0.113.9","link-index":2,\
            "machine":{"is-machine":false},"message-id":"<m1@shop.test>","queue-id":"4Xk2Lq0zZ1","recipient":"Alice@Example.ORG",\
            "recipient-domain":"example.org","sent-at":1700000000,"tags":["a","b/c"],"timestamp":1700000100.25,\
            "tracking-id":"00112233445566778899aabbccddeeff","url":"https://example.com/p?q=1&r=é","user-agent":"Mozilla/5.0 \\"x\\""}
            """)
    }

    @Test func openWithoutEnrichment() throws {
        for enrichment in [nil, [:], ["opens": Array("3".utf8), "first_open_at": Array("1".utf8)]] as [[String: [UInt8]]?] {
            let event = EventAssembler.event(for: Self.pending(.open), enrichment: enrichment, first: false)
            #expect(String(decoding: try event.jsonBytes(), as: UTF8.self) == """
                {"client-info":{"client-name":"unknown","client-os":"unknown","client-type":"unknown","device-type":"unknown"},\
                "event":"opened","first":false,"id":"0123456789abcdef0123456789abcdef","ip":"203.0.113.9",\
                "machine":{"is-machine":false},"tags":[],"timestamp":1700000100.25,\
                "tracking-id":"00112233445566778899aabbccddeeff","user-agent":"Mozilla/5.0 \\"x\\""}
                """)
        }
    }

    /// Only a hash with more than the tracker's counters is expected to decode; when it does
    /// not, the message says why.
    @Test func aHashThatDoesNotDecodeIsUnreadable() {
        let id = TrackingID(hex: "00112233445566778899aabbccddeeff")!
        for enrichment in [nil, [:], ["opens": Array("3".utf8), "first_click_at": Array("1".utf8)]] as [[String: [UInt8]]?] {
            let message = EventAssembler.Message(trackingID: id, enrichment: enrichment)
            #expect(message.record == nil && message.unreadable == nil)
        }
        #expect(EventAssembler.Message(trackingID: id, enrichment: Self.enrichment).unreadable == nil)
        var broken = Self.enrichment
        broken["tags"] = Array("promo".utf8)
        var message = EventAssembler.Message(trackingID: id, enrichment: broken)
        #expect(message.record == nil && message.recipientDomain == nil)
        #expect(message.unreadable == .invalidField("tags", "promo"))
        broken = Self.enrichment
        broken["sender"] = nil
        message = EventAssembler.Message(trackingID: id, enrichment: broken)
        #expect(message.unreadable == .missingField("sender"))
        message = EventAssembler.Message(trackingID: id, enrichment: ["opens": Array("1".utf8), "note": Array("x".utf8)])
        #expect(message.unreadable == .missingField("recipients"))
    }

    @Test func unsubscribeIsAClickEvent() {
        let event = EventAssembler.event(for: Self.pending(.unsubscribe, destination: "https://x.test/u"), enrichment: nil, first: true)
        #expect(event.event == .clicked)
        #expect(event.url == "https://x.test/u")
    }

    @Test func severalRecipientsGiveNoRecipient() {
        var enrichment = Self.enrichment
        enrichment["recipient"] = nil
        enrichment["recipients"] = Array(#"["a@x.test","b@y.test"]"#.utf8)
        let event = EventAssembler.event(for: Self.pending(.open), enrichment: enrichment, first: true)
        #expect(event.recipient == nil && event.recipientDomain == nil)
        #expect(event.campaign == "spring")
    }
}
