import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT turned into a flag that long-running commands poll, and into an early
/// end of their waits, so they stop between steps instead of in the middle of one.
final class StopSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false
    private var sources: [DispatchSourceSignal] = []

    /// Installs the handlers (the signals' default actions are replaced until exit). Returns
    /// once they are registered: a dispatch source registers asynchronously, and a signal
    /// arriving before that would meet only `SIG_IGN` and be lost.
    init(signals: [Int32] = [SIGTERM, SIGINT]) {
        let registered = DispatchSemaphore(value: 0)
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.request() }
            source.setRegistrationHandler { registered.signal() }
            source.resume()
            sources.append(source)
        }
        for _ in signals { _ = registered.wait(timeout: .now() + 2) }
    }

    deinit {
        for source in sources { source.cancel() }
    }

    /// True once a stop was requested.
    var isRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    /// Requests a stop (what the signal handlers do).
    func request() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits `seconds`, or less when a stop is requested meanwhile; returns false then.
    @discardableResult
    func sleep(_ seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: max(0, seconds))
        condition.lock()
        defer { condition.unlock() }
        while !stopped {
            if !condition.wait(until: deadline) { return true }
        }
        return false
    }
}
