import Foundation

/// Keeps a recurring problem to one clear log line: the first occurrence is logged at once,
/// later ones at most once per `interval`, each report saying how many went unreported
/// since the previous one. A full spool disk or a wrong Redis password then shows as a line a
/// minute, not a line per message.
///
/// Thread-safe: the milter's worker threads share one.
public final class LogThrottle: @unchecked Sendable {
    /// Seconds between two reports of the same problem.
    public let interval: Double
    private let clock: @Sendable () -> Double
    private let lock = NSLock()
    private var lastReport: Double?
    private var unreported = 0

    /// - Parameters:
    ///   - interval: seconds between two reports.
    ///   - clock: monotonic seconds (injected by tests).
    public init(interval: Double, clock: @escaping @Sendable () -> Double = LogThrottle.monotonicSeconds) {
        self.interval = interval
        self.clock = clock
    }

    /// Counts one occurrence. Returns nil when it should not be logged, else the number of
    /// occurrences left unlogged since the last report (0 for the first).
    public func occurrence() -> Int? {
        let now = clock()
        lock.lock()
        defer { lock.unlock() }
        if let last = lastReport, now - last < interval {
            unreported += 1
            return nil
        }
        lastReport = now
        defer { unreported = 0 }
        return unreported
    }

    /// ` (N more <what>s since the last report)` for a report that follows `unreported`
    /// unlogged occurrences; empty when there were none.
    public static func note(unreported: Int, _ what: String) -> String {
        unreported == 0 ? "" : " (\(unreported) more \(what)\(unreported == 1 ? "" : "s") since the last report)"
    }

    /// `CLOCK_MONOTONIC` in seconds.
    @Sendable public static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
