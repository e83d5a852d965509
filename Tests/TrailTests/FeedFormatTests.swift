import Store
import Testing
@testable import Trail

@Suite struct FeedFormatTests {
    static let open = TrackingEvent(
        id: "e1", event: .opened, timestamp: 1_790_000_000.75, trackingID: String(repeating: "a", count: 32),
        recipient: "ann@example.com", recipientDomain: "example.com", ip: "192.0.2.1", userAgent: "UA/1",
        first: true, campaign: "spring", tags: ["t1"])
    static let click = TrackingEvent(
        id: "e2", event: .clicked, timestamp: 1_790_000_001, trackingID: String(repeating: "b", count: 32),
        url: "https://shop.example/a?b=1", linkIndex: 2, ip: "192.0.2.2", userAgent: "UA/2", first: false)

    static func entry(_ id: String, _ event: TrackingEvent) throws -> StreamEntry {
        StreamEntry(id: id, fields: ["id": Array(event.id.utf8), "json": try event.jsonBytes()])
    }

    @Test func jsonBodyIsTheStoredDocumentsInOrder() throws {
        let events = try [Self.entry("1-0", Self.open), Self.entry("2-0", Self.click)].map { try FeedEvent.parse($0).get() }
        let expected = "[" + String(decoding: try Self.open.jsonBytes(), as: UTF8.self) + ","
            + String(decoding: try Self.click.jsonBytes(), as: UTF8.self) + "]"
        #expect(String(decoding: try FeedFormat.json.body(events), as: UTF8.self) == expected)
        #expect(try FeedFormat.json.body([]) == Array("[]".utf8))
        #expect(FeedFormat.json.contentType == "application/json")
    }

    @Test func sparkPostBodyIsNDJSONOfTrackEvents() throws {
        let events = try [Self.entry("1-0", Self.open), Self.entry("2-0", Self.click)].map { try FeedEvent.parse($0).get() }
        let lines = String(decoding: try FeedFormat.sparkpost.body(events), as: UTF8.self)
        #expect(lines == """
            {"msys":{"track_event":{"campaign_id":"spring","event_id":"e1","ip_address":"192.0.2.1","message_id":"\(String(repeating: "a", count: 32))","rcpt_tags":["t1"],"rcpt_to":"ann@example.com","routing_domain":"example.com","timestamp":"1790000000","type":"open","user_agent":"UA/1"}}}
            {"msys":{"track_event":{"event_id":"e2","ip_address":"192.0.2.2","message_id":"\(String(repeating: "b", count: 32))","rcpt_tags":[],"target_link_url":"https://shop.example/a?b=1","timestamp":"1790000001","type":"click","user_agent":"UA/2"}}}

            """)
        #expect(FeedFormat.sparkpost.contentType == "application/x-ndjson")
    }

    @Test func defectiveEntries() {
        func defect(_ entry: StreamEntry) -> FeedEvent.Defect? {
            if case .failure(let defect) = FeedEvent.parse(entry) { return defect }
            return nil
        }
        #expect(defect(StreamEntry(id: "1-0", fields: nil)) == .deleted)
        #expect(defect(StreamEntry(id: "1-0", fields: ["id": Array("x".utf8)])) == .noJSONField)
        #expect(defect(StreamEntry(id: "1-0", fields: ["json": Array("not json".utf8)])) == .invalidJSON("not JSON"))
        #expect(defect(StreamEntry(id: "1-0", fields: ["json": Array(#"{"id":"x"}"#.utf8)])) == .invalidJSON("missing \"event\""))
        #expect(defect(StreamEntry(id: "1-0", fields: ["json": Array(#"{"id":"x","event":"bounced"}"#.utf8)]))
                == .invalidJSON("bad \"event\""))
        #expect(FeedEvent.Defect.noJSONField.description == "entry has no json field")
    }

    @Test func deadLetterEntryKeepsTheDocumentAndTheFailure() {
        let record = DeadLetter(sourceID: "1790000000000-3", eventID: Array("e1".utf8), json: Array("{}".utf8),
                                attempts: 10, error: "HTTP 500: boom")
        #expect(record.xaddCommand(stream: "mt:events:dead", failedAt: 1_790_000_100) == RedisCommand(redisArguments: [
            "XADD", "mt:events:dead", "*", "id", "e1", "json", "{}", "attempts", "10", "error", "HTTP 500: boom",
            "source-id", "1790000000000-3", "failed-at", "1790000100",
        ]))
        let malformed = DeadLetter(sourceID: "5-0", eventID: nil, json: nil, attempts: 0, error: "entry has no json field")
        #expect(malformed.xaddCommand(stream: "d", failedAt: 7) == RedisCommand(redisArguments: [
            "XADD", "d", "*", "attempts", "0", "error", "entry has no json field", "source-id", "5-0", "failed-at", "7",
        ]))
    }

    @Test func outcomeSummaries() {
        #expect(WebhookOutcome.accepted(status: 204).summary == "HTTP 204")
        #expect(WebhookOutcome.refused(status: 500, body: "boom").summary == "HTTP 500: boom")
        #expect(WebhookOutcome.refused(status: 302, body: "").summary == "HTTP 302")
        #expect(WebhookOutcome.failed("timed out").summary == "timed out")
        #expect(WebhookOutcome.accepted(status: 200).isAccepted && !WebhookOutcome.refused(status: 500, body: "").isAccepted)
    }
}
