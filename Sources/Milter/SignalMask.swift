import Glibc

/// SIGTERM, SIGINT and SIGHUP: the signals that stop the filter.
///
/// They are blocked first thing in `main`, before any other thread exists, so every thread
/// inherits the mask. The main thread then takes them with `sigtimedwait` while libmilter
/// runs on another thread: for a signal sent to the process, Linux prefers the main thread
/// when it is waiting for it, so libmilter's own signal thread (which would stop at once and
/// abandon the messages in progress) only sees a second signal sent during the stop.
enum SignalMask {
    static func blockTerminationSignals() {
        var set = terminationSignals
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // A peer closing a socket must give EPIPE, not kill the filter.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Waits up to `timeout` seconds for a termination signal; returns it, or nil.
    static func waitForTerminationSignal(timeout: Double) -> Int32? {
        var set = terminationSignals
        var wait = timespec(tv_sec: Int(timeout), tv_nsec: Int((timeout - timeout.rounded(.down)) * 1e9))
        let signal = sigtimedwait(&set, nil, &wait)
        return signal > 0 ? signal : nil
    }

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }

    private static var terminationSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        return set
    }
}
