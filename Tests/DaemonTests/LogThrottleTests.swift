import Daemon
import Foundation
import Testing

/// A lasting problem is reported at once, then once per interval with the count left unreported.
@Suite struct LogThrottleTests {
    /// A settable clock for the throttle.
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Double
        init(_ value: Double) { self.value = value }
        var now: Double {
            get { lock.lock(); defer { lock.unlock() }; return value }
            set { lock.lock(); value = newValue; lock.unlock() }
        }
    }

    @Test func firstOccurrenceIsReportedThenOncePerIntervalWithTheUnreportedCount() {
        let clock = Clock(1000)
        let throttle = LogThrottle(interval: 60) { clock.now }
        #expect(throttle.occurrence() == 0)
        clock.now = 1001
        #expect(throttle.occurrence() == nil)
        clock.now = 1059.9
        #expect(throttle.occurrence() == nil)
        #expect(throttle.occurrence() == nil)
        clock.now = 1060
        #expect(throttle.occurrence() == 3)
        clock.now = 1100
        #expect(throttle.occurrence() == nil)
        clock.now = 5000
        #expect(throttle.occurrence() == 1)
        #expect(throttle.occurrence() == nil)
    }

    @Test func concurrentOccurrencesAreCountedExactlyOnce() async {
        let clock = Clock(0)
        let throttle = LogThrottle(interval: 60) { clock.now }
        let reports = await withTaskGroup(of: Int?.self) { group in
            for _ in 0..<1000 { group.addTask { throttle.occurrence() } }
            var reports: [Int?] = []
            for await report in group { reports.append(report) }
            return reports
        }
        #expect(reports.compactMap { $0 } == [0])
        clock.now = 60
        #expect(throttle.occurrence() == 999)
    }

    @Test func noteSaysHowManyWentUnreported() {
        #expect(LogThrottle.note(unreported: 0, "spool failure") == "")
        #expect(LogThrottle.note(unreported: 1, "spool failure") == " (1 more spool failure since the last report)")
        #expect(LogThrottle.note(unreported: 7, "Redis refusal") == " (7 more Redis refusals since the last report)")
    }
}
