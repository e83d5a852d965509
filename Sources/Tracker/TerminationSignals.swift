import Glibc

/// SIGTERM, SIGINT and SIGHUP, taken synchronously by the main thread.
///
/// ``block()`` runs first thing in `main`, before any thread exists, so the event-loop and
/// writer threads inherit the mask and a signal can only be received by ``wait(onIgnored:)``.
enum TerminationSignals {
    private static var set: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        return set
    }

    static func block() {
        var signals = set
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        // A client closing its socket must give EPIPE, not kill the tracker.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Waits for SIGTERM or SIGINT and returns it; SIGHUP is reported and waited past.
    static func wait(onIgnored: (Int32) -> Void) -> Int32 {
        var signals = set
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
