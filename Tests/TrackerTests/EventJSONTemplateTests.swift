import PropertyBased
import Rewrite
import Store
import Testing
@testable import TrackerCore

@Suite struct EventJSONTemplateTests {
    typealias F = TrackerFixtures

    static let text = EventJSONTests.text
    static let bytes = Gen<UInt8?>.element(of: [
        0x41, 0x2F, 0x22, 0x5C, 0x00, 0x0A, 0x1F, 0x7F, 0xC3, 0xA9, 0xFF, 0x80, 0xE2,
    ] as [UInt8]).array(of: 0...12).map { $0.compactMap { $0 } }

    /// Enrichment hashes: none, the tracker's counters only, or a milter record with optional fields.
    static let enrichment = zip(Gen<Int>.int(in: 0...3), text, EventJSONTests.optionalText, text.array(of: 0...3), Gen<Bool>.bool)
        .map { shape, value, optional, list, flag -> [String: [UInt8]]? in
            switch shape {
            case 0: return nil
            case 1: return ["opens": Array("3".utf8), "first_open_at": Array("1700000000".utf8)]
            default:
                let record = EnrichmentRecord(
                    trackingID: F.trackingID.hex, sender: value, recipients: flag ? [value + "@Example.ORG"] : list,
                    messageID: optional, subject: value, campaign: shape == 2 ? optional : value, tags: list,
                    queueID: optional, clientAddress: nil, saslUser: nil, sentAt: flag ? 1_700_000_000 : -5, linksWrapped: 2)
                var map: [String: [UInt8]] = [:]
                for (field, bytes) in record.fields { map[field.rawValue] = bytes }
                return map
            }
        }

    static let hits = zip(Gen<TokenKind?>.element(of: TokenKind.allCases), bytes, text, text, Gen<Bool>.bool,
                          EventJSONTests.timestamp, Gen<UInt32>.uint32(in: 0...70_000))
        .map { kind, destination, ip, agent, first, time, index in
            (PendingEvent(id: ip + "id", hit: TrackedHit(
                kind: kind ?? .open, trackingID: F.trackingID, linkIndex: kind == .open ? 0 : index,
                destination: kind == .open ? [] : destination, timestamp: time, ip: ip, userAgent: agent)), first)
        }

    @Test func matchesTheAssembledEventByteForByte() async {
        await propertyCheck(count: 1000, input: zip(Self.enrichment, Self.hits)) { enrichment, hit in
            let (pending, first) = hit
            let message = EventAssembler.Message(trackingID: F.trackingID, enrichment: enrichment)
            var written: [UInt8] = Array("kept".utf8)
            #expect(EventJSONTemplate(message: message).append(pending, first: first, to: &written))
            let expected = EventJSON.bytes(of: EventAssembler.event(for: pending, message: message, first: first))
            #expect(written == Array("kept".utf8) + (expected ?? []),
                    "\(String(decoding: written, as: UTF8.self))")
        }
    }

    @Test func aKnownClick() throws {
        let message = EventAssembler.Message(trackingID: F.trackingID, enrichment: EventAssemblerTests.enrichment)
        let pending = EventAssemblerTests.pending(.click, destination: "https://example.com/p?q=1&r=é", index: 2)
        var written: [UInt8] = []
        #expect(EventJSONTemplate(message: message).append(pending, first: true, to: &written))
        #expect(String(decoding: written, as: UTF8.self) == """
            {"campaign":"spring","client-info":{"client-name":"unknown","client-os":"unknown","client-type":"unknown","device-type":"unknown"},\
            "event":"clicked","first":true,"id":"0123456789abcdef0123456789abcdef","ip":"203.0.113.9","link-index":2,\
            "machine":{"is-machine":false},"message-id":"<m1@shop.test>","queue-id":"4Xk2Lq0zZ1","recipient":"Alice@Example.ORG",\
            "recipient-domain":"example.org","sent-at":1700000000,"tags":["a","b/c"],"timestamp":1700000100.25,\
            "tracking-id":"00112233445566778899aabbccddeeff","url":"https://example.com/p?q=1&r=é","user-agent":"Mozilla/5.0 \\"x\\""}
            """)
    }

    @Test func nonFiniteTimestampsAreRefused() {
        let template = EventJSONTemplate(message: EventAssembler.Message(trackingID: F.trackingID, enrichment: nil))
        for value in [Double.nan, .infinity, -.infinity] {
            var written: [UInt8] = []
            let pending = PendingEvent(id: "e", hit: TrackedHit(kind: .open, trackingID: F.trackingID, timestamp: value, ip: "i", userAgent: "u"))
            #expect(!template.append(pending, first: false, to: &written))
            #expect(written.isEmpty)
        }
    }
}
