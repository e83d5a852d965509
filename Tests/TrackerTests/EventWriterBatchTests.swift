import PropertyBased
import Rewrite
import Testing
@testable import TrackerCore

@Suite struct EventWriterBatchTests {
    typealias F = TrackerFixtures

    static func hit(destination: Int, ip: String = "203.0.113.9", agent: String = "UA") -> TrackedHit {
        TrackedHit(kind: .click, trackingID: F.trackingID, linkIndex: 70_000, destination: [UInt8](repeating: 0x61, count: destination),
                   timestamp: 1_700_000_000.5, ip: ip, userAgent: agent)
    }

    @Test func batchesEndBeforeTheirRecordPassesTheLimit() {
        // Each of these hits counts 78 fixed bytes, 13 for ip and agent, and its destination.
        let hits = [100, 100, 100, 5000, 10].map { Self.hit(destination: $0) }
        #expect(EventBatch.recordBytes(of: hits[0]) == 191)
        #expect(EventWriter.batchEnd(hits, from: 0, maxBytes: 573) == 3)     // 3 × 191 fit exactly
        #expect(EventWriter.batchEnd(hits, from: 0, maxBytes: 572) == 2)
        #expect(EventWriter.batchEnd(hits, from: 2, maxBytes: 1000) == 3)    // the big one goes alone
        #expect(EventWriter.batchEnd(hits, from: 3, maxBytes: 1000) == 4)    // at least one hit, however big
        #expect(EventWriter.batchEnd(hits, from: 4, maxBytes: 1000) == 5)
        #expect(EventWriter.batchEnd(hits, from: 0, maxBytes: 1 << 20) == 5)
    }

    @Test func recordBytesBoundTheEncodedRecord() async {
        let hits = zip(Gen<Int>.int(in: 0...300), Gen<Int>.int(in: 0...20), Gen<Int>.int(in: 0...200))
            .map { destination, ip, agent in
                Self.hit(destination: destination, ip: String(repeating: "1", count: ip), agent: String(repeating: "é", count: agent))
            }
            .array(of: 1...20)
        await propertyCheck(count: 300, input: hits) { hits in
            let batch = EventBatch(sequence: 1 << 60, events: hits.map { PendingEvent(id: "0123456789abcdef0123456789abcdef", hit: $0) })
            let bound = hits.reduce(0) { $0 + EventBatch.recordBytes(of: $1) }
            #expect(batch.encoded().count <= bound + 1 + 8 + 5)  // version, sequence, event count
        }
    }
}
