import Glibc

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread, and so in every thread it
/// creates afterwards. Called first thing in `main`, before any other thread exists:
/// libmilter's own signal thread then receives them with sigwait and stops `smfi_main`
/// cleanly instead of the process dying mid-message.
enum SignalMask {
    static func blockTerminationSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // A peer closing a socket must give EPIPE, not kill the filter.
        signal(SIGPIPE, SIG_IGN)
    }
}
