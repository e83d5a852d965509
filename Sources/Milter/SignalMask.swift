import Daemon
import Glibc

/// How the filter takes its termination signals.
///
/// They are blocked first thing in `main` (`TerminationSignals.block()`). The main thread
/// then takes them with `sigtimedwait` while libmilter runs on another thread: for a signal
/// sent to the process, Linux prefers the main thread when it is waiting for it, so
/// libmilter's own signal thread (which would stop at once and abandon the messages in
/// progress) only sees a second signal sent during the stop.
enum SignalMask {
    /// Waits up to `timeout` seconds for a termination signal; returns it, or nil.
    static func waitForTerminationSignal(timeout: Double) -> Int32? {
        var set = TerminationSignals.set
        var wait = timespec(tv_sec: Int(timeout), tv_nsec: Int((timeout - timeout.rounded(.down)) * 1e9))
        let signal = sigtimedwait(&set, nil, &wait)
        return signal > 0 ? signal : nil
    }
}
