import Rewrite
import Store

/// A hit with the event id it keeps from the moment the writer first sees it: through
/// retries, the spool and replays, so consumers can de-duplicate and tests can count.
public struct PendingEvent: Equatable, Sendable {
    /// 32 lowercase hex digits (``Store/TrackingEvent/newID()``).
    public var id: String
    public var hit: TrackedHit

    public init(id: String, hit: TrackedHit) {
        self.id = id
        self.hit = hit
    }
}

/// The unit the writer applies to Redis in one transaction, and the unit it spools.
///
/// `sequence` increases strictly in the order batches are applied or spooled by one tracker
/// (one spool); each transaction also records it in Redis (``EventTransaction``), so a batch
/// whose outcome was lost with the connection is recognised as applied when replayed.
///
/// Spool record layout: `version(1) = 1 | sequence (8, big-endian) | count (varint)`, then
/// per event: `id | kind(1) | timestamp (8, IEEE 754 bits, big-endian) | tracking id (16) |
/// link index (varint) | destination | ip | user agent`, where `id`, `destination`, `ip` and
/// `user agent` are a varint length and the bytes.
public struct EventBatch: Equatable, Sendable {
    public static let formatVersion: UInt8 = 1

    public var sequence: UInt64
    public var events: [PendingEvent]

    public init(sequence: UInt64, events: [PendingEvent]) {
        self.sequence = sequence
        self.events = events
    }

    /// At most how many bytes `hit` adds to a spool record (as one event of a batch).
    public static func recordBytes(of hit: TrackedHit) -> Int {
        // id (varint + 32), kind, timestamp, tracking id, link index (varint), three fields
        // with their varint lengths.
        1 + 32 + 1 + 8 + TrackingID.byteCount + 5 + 3 * 5 + hit.destination.count + hit.ip.utf8.count + hit.userAgent.utf8.count
    }

    /// The spool record.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [Self.formatVersion]
        out.reserveCapacity(16 + events.count * 160)
        SpoolRecordWriter.appendFixed64(sequence, to: &out)
        SpoolRecordWriter.appendVarint(UInt64(events.count), to: &out)
        for event in events {
            let hit = event.hit
            SpoolRecordWriter.appendField(event.id.utf8, to: &out)
            out.append(hit.kind.rawValue)
            SpoolRecordWriter.appendFixed64(hit.timestamp.bitPattern, to: &out)
            hit.trackingID.append(to: &out)
            SpoolRecordWriter.appendVarint(UInt64(hit.linkIndex), to: &out)
            SpoolRecordWriter.appendField(hit.destination, to: &out)
            SpoolRecordWriter.appendField(hit.ip.utf8, to: &out)
            SpoolRecordWriter.appendField(hit.userAgent.utf8, to: &out)
        }
        return out
    }

    /// Parses a spool record; anything inconsistent is a typed error (the record is then dropped).
    public init(decoding bytes: [UInt8]) throws(EventBatchDecodingError) {
        var reader = SpoolRecordReader<EventBatchDecodingError>(bytes: bytes)
        let version = try reader.byte()
        guard version == Self.formatVersion else { throw .unsupportedVersion(version) }
        let sequence = try reader.fixed64()
        let count = try reader.count()
        var events: [PendingEvent] = []
        events.reserveCapacity(min(count, bytes.count / 30))
        for _ in 0..<count {
            let id = String(decoding: try reader.field(), as: UTF8.self)
            guard let kind = TokenKind(rawValue: try reader.byte()) else { throw .badKind }
            let timestamp = Double(bitPattern: try reader.fixed64())
            let trackingID = TrackingID(bytes: try reader.take(TrackingID.byteCount))
            let linkIndex = try reader.varint()
            guard linkIndex <= UInt64(UInt32.max) else { throw .malformedLength }
            let destination = try reader.field()
            let ip = String(decoding: try reader.field(), as: UTF8.self)
            let userAgent = String(decoding: try reader.field(), as: UTF8.self)
            events.append(PendingEvent(id: id, hit: TrackedHit(
                kind: kind, trackingID: trackingID, linkIndex: UInt32(linkIndex), destination: destination,
                timestamp: timestamp, ip: ip, userAgent: userAgent)))
        }
        guard reader.atEnd else { throw .trailingBytes }
        self.init(sequence: sequence, events: events)
    }
}

/// Why a spool record is not a valid ``EventBatch``.
public enum EventBatchDecodingError: SpoolRecordDecodingError, Equatable, Sendable {
    case unsupportedVersion(UInt8)
    case truncated
    case malformedLength
    case badKind
    case trailingBytes
}
