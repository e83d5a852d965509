import Rewrite
import Store

/// The event templates of recently seen messages, so that a message whose events come in a
/// row (an open and its clicks, an image proxy fetching again, a reader opening twice) has
/// its enrichment record read whole and rendered once, not in every batch.
///
/// The milter writes a message's record once; afterwards only the tracker's own fields
/// change. So a batch asks Redis for a cached message only what can change or tell that the
/// record is still the one cached: `first_open_at`, `first_click_at` and the
/// ``identityFields`` (``EventTransaction``). When those differ, the record is gone or was
/// replaced, and the message is read whole again.
///
/// Only messages with a readable milter record are kept, each for at most `maxAge` seconds
/// after it was read: a record edited by hand in a way the identity does not show is seen
/// that late at most. Memory is bounded: two generations of at most `capacity` messages
/// each (about 1 KiB apiece); a full current generation becomes the previous one, and what
/// the previous one held and nobody asked for since is dropped.
struct MessageTemplateCache {
    /// What a cached message's read must still show for the cached template to be used.
    /// Every readable record has `sent_at`, so a record that vanished never matches.
    static let identityFields: [EnrichmentField] = [.sentAt, .queueID, .messageID]

    /// A message's template, the values of its ``identityFields`` when it was read, and when
    /// that was (unix seconds).
    struct Entry {
        let template: EventJSONTemplate
        let identity: [[UInt8]?]
        let readAt: Double
    }

    /// Messages per generation.
    let capacity: Int
    /// Seconds an entry is used after its record was read.
    let maxAge: Double
    private var current: [TrackingID: Entry] = [:]
    private var previous: [TrackingID: Entry] = [:]

    init(capacity: Int = 4096, maxAge: Double = 60) {
        precondition(capacity > 0, "a template cache needs room for at least one message")
        self.capacity = capacity
        self.maxAge = maxAge
    }

    /// The values of the ``identityFields`` in a record's fields (the `HGETALL` answer).
    static func identity(of fields: [String: [UInt8]]) -> [[UInt8]?] {
        identityFields.map { fields[$0.rawValue] }
    }

    /// The entry for `id`, if it is cached and younger than `maxAge` at `now` (it then counts
    /// as recently used; an older one is dropped).
    mutating func entry(for id: TrackingID, now: Double) -> Entry? {
        if let entry = current[id] {
            guard now - entry.readAt < maxAge else {
                current[id] = nil
                return nil
            }
            return entry
        }
        guard let entry = previous.removeValue(forKey: id), now - entry.readAt < maxAge else { return nil }
        insert(entry, for: id)
        return entry
    }

    mutating func insert(_ entry: Entry, for id: TrackingID) {
        if current.count >= capacity, current[id] == nil {
            previous = current
            current = [:]
            current.reserveCapacity(capacity)
        }
        current[id] = entry
    }

    mutating func remove(_ id: TrackingID) {
        current[id] = nil
        previous[id] = nil
    }

    /// Messages held, in both generations.
    var count: Int { current.count + previous.count }
}
