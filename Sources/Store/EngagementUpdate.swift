/// The tracker's write to a message's enrichment hash when an open or click is recorded:
/// bump the counter and set the first-seen time once.
///
/// The hash may have expired or never arrived (spooled milter write); the trailing
/// `EXPIRE … NX` gives a hash created by the counters alone a lifetime, while leaving the
/// milter's expiry untouched. `EXPIRE … NX` needs Redis 7.0 or later.
public struct EngagementUpdate: Equatable, Sendable {
    public var kind: TrackingEvent.Kind
    public var trackingID: String
    /// Unix seconds of the hit.
    public var at: Int64

    public init(kind: TrackingEvent.Kind, trackingID: String, at: Int64) {
        self.kind = kind
        self.trackingID = trackingID
        self.at = at
    }

    /// `HINCRBY key opens|clicks 1`, `HSETNX key first_open_at|first_click_at <at>`,
    /// `EXPIRE key <ttl> NX`. In a pipeline the `HSETNX` reply (1 or 0) tells whether this
    /// was the first open or click.
    public func commands(schema: KeySchema = KeySchema(), ttlSeconds: Int) -> [RedisCommand] {
        precondition(ttlSeconds > 0, "the enrichment TTL must be positive")
        let key = Array(schema.message(trackingID).utf8)
        let counter: EnrichmentField = kind == .opened ? .opens : .clicks
        let firstAt: EnrichmentField = kind == .opened ? .firstOpenAt : .firstClickAt
        return [
            [Array("HINCRBY".utf8), key, counter.bytes, Array("1".utf8)],
            [Array("HSETNX".utf8), key, firstAt.bytes, Array(String(at).utf8)],
            [Array("EXPIRE".utf8), key, Array(String(ttlSeconds).utf8), Array("NX".utf8)],
        ]
    }
}
