import Daemon
import Glibc

/// The tracker's wait for SIGTERM or SIGINT (blocked by `Daemon.TerminationSignals.block()`
/// first thing in `main`, so only the main thread receives them).
enum TrackerSignals {
    /// Waits for SIGTERM or SIGINT and returns it; SIGHUP is reported and waited past.
    static func wait(onIgnored: (Int32) -> Void) -> Int32 {
        var signals = TerminationSignals.set
        while true {
            var received: Int32 = 0
            guard sigwait(&signals, &received) == 0 else { continue }
            if received == SIGHUP {
                onIgnored(received)
                continue
            }
            return received
        }
    }
}
