/// Names of every Redis key MailTrail uses, under one configurable prefix (default `mt:`).
///
/// | name | type | written by | holds |
/// |---|---|---|---|
/// | `mt:msg:<tracking id>` | hash | milter (fields), tracker (counters) | ``EnrichmentField`` |
/// | `mt:events` | stream | tracker (`XADD`, and `XTRIM … MAXLEN ~ N` per batch) | one ``TrackingEvent`` per entry, fields `id` and `json` |
/// | `mt:feed` | consumer group on `mt:events` | `mailtrail feed` | webhook delivery progress |
/// | `mt:events:dead` | stream | `mailtrail feed` | events the webhook refused for good |
///
/// Tracking ids are 32 lowercase hex digits; keys are built from them as given.
public struct KeySchema: Sendable, Equatable {
    /// Prepended to every key, so several installations can share one Redis database.
    public let prefix: String

    public init(prefix: String = "mt:") {
        self.prefix = prefix
    }

    /// The enrichment hash of one message: `mt:msg:<tracking id>`.
    public func message(_ trackingID: String) -> String {
        prefix + "msg:" + trackingID
    }

    /// The event stream: `mt:events`.
    public var events: String { prefix + "events" }

    /// The consumer group that feeds the webhook: `mt:feed`.
    public var feedGroup: String { prefix + "feed" }

    /// Events that could not be delivered to the webhook after all retries: `mt:events:dead`.
    public var deadLetter: String { prefix + "events:dead" }
}
