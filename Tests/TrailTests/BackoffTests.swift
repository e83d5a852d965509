import PropertyBased
import Testing
@testable import Trail
@_exported import TestSupport

@Suite struct BackoffTests {
    @Test func boundsDoubleUpToTheCap() {
        let backoff = Backoff(base: 1, cap: 60)
        #expect((1...9).map { backoff.bound(afterFailures: $0) } == [1, 2, 4, 8, 16, 32, 60, 60, 60])
        #expect(backoff.bound(afterFailures: 10_000) == 60)
        let small = Backoff(base: 0.01, cap: 0.05)
        #expect((1...4).map { small.bound(afterFailures: $0) } == [0.01, 0.02, 0.04, 0.05])
    }

    @Test func capBelowBaseIsRaisedToBase() {
        #expect(Backoff(base: 2, cap: 1).bound(afterFailures: 3) == 2)
    }

    @Test func fullJitterSpansZeroToTheBound() async {
        await propertyCheck(count: 200, input: Gen.int(in: 1...40), Gen.uint64()) { failures, seed in
            let backoff = Backoff(base: 0.5, cap: 30)
            let bound = backoff.bound(afterFailures: failures)
            var generator = SeededGenerator(seed: seed)
            let delays = (0..<400).map { _ in backoff.delay(afterFailures: failures, using: &generator) }
            #expect(delays.allSatisfy { $0 >= 0 && $0 <= bound })
            // Full jitter: the draws reach both ends of the range, not just its top.
            #expect(delays.min()! < bound * 0.05)
            #expect(delays.max()! > bound * 0.95)
        }
    }
}

