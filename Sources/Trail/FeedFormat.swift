import ArgumentParser
import Foundation
import Store

/// The body of a webhook request, built from the events' stored JSON documents.
enum FeedFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// `[event, event, …]`: the events exactly as stored on `mt:events` (Mailgun-like objects).
    case json
    /// SparkPost's ingest NDJSON: one `{"msys":{"track_event":{…}}}` object per line.
    case sparkpost

    var contentType: String {
        switch self {
        case .json: return "application/json"
        case .sparkpost: return "application/x-ndjson"
        }
    }

    /// The uncompressed body for `events` (each a valid event JSON document, in order).
    func body(_ events: [FeedEvent]) throws -> [UInt8] {
        switch self {
        case .json:
            var out: [UInt8] = [UInt8(ascii: "[")]
            out.reserveCapacity(events.reduce(2) { $0 + $1.json.count + 1 })
            for (index, event) in events.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: event.json)
            }
            out.append(UInt8(ascii: "]"))
            return out
        case .sparkpost:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var out: [UInt8] = []
            for event in events {
                out.append(contentsOf: try encoder.encode(SparkPostEvent(event.event)))
                out.append(UInt8(ascii: "\n"))
            }
            return out
        }
    }
}

/// One event read from a stream entry: its document as stored, and decoded (which also
/// proves the document is a well-formed event before anything is sent).
struct FeedEvent: Sendable {
    /// The stream entry it came from (`mt:events` or `mt:events:dead`).
    var entryID: String
    var json: [UInt8]
    var event: TrackingEvent

    /// Why a stream entry cannot be delivered.
    enum Defect: Error, Equatable, CustomStringConvertible {
        /// The entry was trimmed from the stream (`MAXLEN`) while it waited in the group.
        case deleted
        case noJSONField
        case invalidJSON(String)

        var description: String {
            switch self {
            case .deleted: return "entry deleted from the stream before delivery"
            case .noJSONField: return "entry has no \(TrackingEvent.streamJSONField) field"
            case .invalidJSON(let reason): return "entry's \(TrackingEvent.streamJSONField) is not an event: \(reason)"
            }
        }
    }

    /// The event of an `mt:events` (or dead-letter) entry.
    static func parse(_ entry: StreamEntry) -> Result<FeedEvent, Defect> {
        guard entry.fields != nil else { return .failure(.deleted) }
        guard let json = entry[TrackingEvent.streamJSONField] else { return .failure(.noJSONField) }
        do {
            return .success(FeedEvent(entryID: entry.id, json: json, event: try TrackingEvent.decode(json: json)))
        } catch {
            return .failure(.invalidJSON(Self.reason(error)))
        }
    }

    private static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "bad \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\""
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "bad \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\""
        default: return "\(error)"
        }
    }
}

/// A MailTrail event in SparkPost's event shape (`msys.track_event`), for SparkPost's ingest API
/// and for consumers written against SparkPost webhooks.
struct SparkPostEvent: Encodable, Equatable {
    struct TrackEvent: Encodable, Equatable {
        /// `open` or `click`.
        var type: String
        var eventID: String
        /// Unix seconds, as a decimal string.
        var timestamp: String
        /// MailTrail's tracking id stands in for SparkPost's message id.
        var messageID: String
        var rcptTo: String?
        var routingDomain: String?
        var rcptTags: [String]
        var campaignID: String?
        var ipAddress: String
        var userAgent: String
        var targetLinkURL: String?

        enum CodingKeys: String, CodingKey {
            case type
            case eventID = "event_id"
            case timestamp
            case messageID = "message_id"
            case rcptTo = "rcpt_to"
            case routingDomain = "routing_domain"
            case rcptTags = "rcpt_tags"
            case campaignID = "campaign_id"
            case ipAddress = "ip_address"
            case userAgent = "user_agent"
            case targetLinkURL = "target_link_url"
        }
    }

    struct Wrapper: Encodable, Equatable {
        var trackEvent: TrackEvent
        enum CodingKeys: String, CodingKey { case trackEvent = "track_event" }
    }

    var msys: Wrapper

    init(_ event: TrackingEvent) {
        msys = Wrapper(trackEvent: TrackEvent(
            type: event.event == .opened ? "open" : "click",
            eventID: event.id,
            timestamp: String(UTCTime.wholeSeconds(event.timestamp)),
            messageID: event.trackingID,
            rcptTo: event.recipient,
            routingDomain: event.recipientDomain,
            rcptTags: event.tags,
            campaignID: event.campaign,
            ipAddress: event.ip,
            userAgent: event.userAgent,
            targetLinkURL: event.url))
    }
}
