#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs socket writes without letting a dead peer kill the process.
///
/// hiredis writes with `write(2)`, which raises SIGPIPE when Redis has closed the
/// connection; the default action terminates the process. Changing the process-wide
/// disposition is not a library's call, so the signal is blocked for the calling thread
/// only, a SIGPIPE raised meanwhile is consumed, and the thread's mask is restored.
enum SIGPIPEGuard {
    static func run<T>(_ body: () throws -> T) rethrows -> T {
        var pipeOnly = sigset_t()
        sigemptyset(&pipeOnly)
        sigaddset(&pipeOnly, SIGPIPE)
        var previousMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeOnly, &previousMask)
        var pendingBefore = sigset_t()
        sigpending(&pendingBefore)
        let alreadyPending = sigismember(&pendingBefore, SIGPIPE) == 1
        defer {
            if !alreadyPending {
                var pendingNow = sigset_t()
                sigpending(&pendingNow)
                if sigismember(&pendingNow, SIGPIPE) == 1 {
                    var noWait = timespec(tv_sec: 0, tv_nsec: 0)
                    _ = sigtimedwait(&pipeOnly, nil, &noWait)
                }
            }
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        }
        return try body()
    }
}
