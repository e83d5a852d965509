import PropertyBased
import Rewrite
import Testing
@testable import TrackerCore

@Suite struct EventBatchTests {
    static let batch = EventBatch(sequence: 1_700_000_000_123_456, events: [
        PendingEvent(id: "0123456789abcdef0123456789abcdef", hit: TrackedHit(
            kind: .click, trackingID: TrackerFixtures.trackingID, linkIndex: 300,
            destination: [0x68, 0x00, 0xFF, 0x0D, 0x0A], timestamp: 1_700_000_001.25, ip: "2001:db8::1", userAgent: "UA \u{E9}")),
        PendingEvent(id: "ffffffffffffffffffffffffffffffff", hit: TrackedHit(
            kind: .open, trackingID: TrackingID(hex: "ffeeddccbbaa99887766554433221100")!,
            timestamp: 1_700_000_002, ip: "127.0.0.1", userAgent: "")),
    ])

    @Test func knownEncoding() {
        let bytes = Self.batch.encoded()
        // version, sequence, count, then the first event's id length and id.
        #expect(Array(bytes.prefix(11)) == [1, 0, 6, 10, 36, 24, 32, 34, 64, 2, 32])
        #expect(bytes.count == 11 + 32 + 1 + 8 + 16 + 2 + 6 + 12 + 6 + 1 + 32 + 1 + 8 + 16 + 1 + 1 + 10 + 1)
    }

    @Test func roundTrip() throws {
        #expect(try EventBatch(decoding: Self.batch.encoded()) == Self.batch)
        #expect(try EventBatch(decoding: EventBatch(sequence: 0, events: []).encoded()) == EventBatch(sequence: 0, events: []))
    }

    @Test func damagedRecordsAreTypedErrors() {
        let bytes = Self.batch.encoded()
        #expect(throws: EventBatchDecodingError.unsupportedVersion(2)) { try EventBatch(decoding: [2] + bytes.dropFirst()) }
        #expect(throws: EventBatchDecodingError.truncated) { try EventBatch(decoding: Array(bytes.dropLast())) }
        #expect(throws: EventBatchDecodingError.trailingBytes) { try EventBatch(decoding: bytes + [0]) }
        #expect(throws: EventBatchDecodingError.truncated) { try EventBatch(decoding: []) }
        var badKind = bytes
        badKind[11 + 32] = 0x41
        #expect(throws: EventBatchDecodingError.badKind) { try EventBatch(decoding: badKind) }
        var hugeCount = Array(bytes.prefix(9))
        hugeCount += [0xFF, 0xFF, 0xFF, 0x7F]
        #expect(throws: EventBatchDecodingError.malformedLength) { try EventBatch(decoding: hugeCount) }
    }

    @Test func randomBytesNeverCrash() async {
        await propertyCheck(count: 500, input: Gen<UInt8>.uint8().array(of: 0...200)) { junk in
            _ = try? EventBatch(decoding: [1] + junk)
        }
        // Every truncation of a valid record is refused, never misread.
        let bytes = Self.batch.encoded()
        for length in 0..<bytes.count {
            #expect((try? EventBatch(decoding: Array(bytes.prefix(length)))) == nil)
        }
    }
}
