import Glibc

/// SIGTERM, SIGINT and SIGHUP: the signals that stop a MailTrail daemon.
///
/// `block()` runs first thing in `main`, before any other thread exists, so every thread
/// inherits the mask and the signals reach only the thread that waits for them
/// (`sigwait`/`sigtimedwait` on `set`): a daemon then stops between two requests or
/// messages, never in the middle of one.
public enum TerminationSignals {
    public static var set: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        return set
    }

    /// Blocks the three signals in the calling thread (and the threads it creates later), and
    /// ignores SIGPIPE: a peer closing its socket must give EPIPE, not kill the daemon.
    public static func block() {
        var signals = set
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }
}
