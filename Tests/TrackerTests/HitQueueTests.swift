import Foundation
import Testing
@testable import TrackerCore

@Suite struct HitQueueTests {
    static func hit(_ n: Int) -> TrackedHit {
        TrackedHit(kind: .open, trackingID: TrackerFixtures.trackingID, timestamp: Double(n), ip: "ip", userAgent: "")
    }

    @Test func boundedFIFO() {
        let queue = HitQueue(capacity: 3)
        #expect((0..<5).map { queue.offer(Self.hit($0)) } == [true, true, true, false, false])
        #expect(queue.count == 3)
        #expect(queue.take(max: 2, timeout: 0).map(\.timestamp) == [0, 1])
        #expect(queue.offer(Self.hit(5)))
        #expect(queue.take(max: 10, timeout: 0).map(\.timestamp) == [2, 5])
        #expect(queue.take(max: 10, timeout: 0).isEmpty)
    }

    @Test func aBacklogIsTakenInOrderInPieces() {
        let queue = HitQueue(capacity: 100)
        for n in 0..<50 { #expect(queue.offer(Self.hit(n))) }
        var taken: [Double] = []
        for _ in 0..<3 { taken += queue.take(max: 10, timeout: 0).map(\.timestamp) }
        #expect(taken == (0..<30).map(Double.init))
        #expect(queue.count == 20)
        for n in 50..<130 { #expect(queue.offer(Self.hit(n))) }  // 100 queued: full again
        #expect(!queue.offer(Self.hit(130)))
        #expect(queue.take(max: 1000, timeout: 0).map(\.timestamp) == (30..<130).map(Double.init))
        #expect(queue.count == 0)
        #expect(queue.offer(Self.hit(131)))
        #expect(queue.take(max: 10, timeout: 0).map(\.timestamp) == [131])
    }

    @Test func closeRefusesOffersButKeepsWhatIsQueued() {
        let queue = HitQueue(capacity: 4)
        #expect(queue.offer(Self.hit(1)))
        queue.close()
        #expect(!queue.offer(Self.hit(2)))
        #expect(!queue.isDrainedAndClosed)
        #expect(queue.take(max: 10, timeout: 5).map(\.timestamp) == [1])
        #expect(queue.isDrainedAndClosed)
        let start = Date()
        #expect(queue.take(max: 10, timeout: 5).isEmpty)
        #expect(Date().timeIntervalSince(start) < 1)  // closed: no waiting
    }

    @Test func takeWaitsForAnOffer() {
        let queue = HitQueue(capacity: 4)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { _ = queue.offer(Self.hit(7)) }
        let start = Date()
        #expect(queue.take(max: 10, timeout: 5).map(\.timestamp) == [7])
        #expect(Date().timeIntervalSince(start) < 2)
        let waited = Date()
        #expect(queue.take(max: 10, timeout: 0.1).isEmpty)
        #expect(Date().timeIntervalSince(waited) >= 0.09)
    }

    @Test func lingerWaitsForAFullBatchOrItsTime() {
        let queue = HitQueue(capacity: 100)
        #expect(queue.offer(Self.hit(0)))
        var start = Date()
        #expect(queue.take(max: 10, timeout: 1, linger: 0.15).count == 1)
        #expect(Date().timeIntervalSince(start) >= 0.14)

        #expect(queue.offer(Self.hit(0)))
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { for n in 1..<10 { _ = queue.offer(Self.hit(n)) } }
        start = Date()
        #expect(queue.take(max: 10, timeout: 1, linger: 5).map(\.timestamp) == (0..<10).map(Double.init))
        #expect(Date().timeIntervalSince(start) < 2)  // woken by the tenth hit, not by the linger time
    }
}
