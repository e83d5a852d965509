import CMilter
import Foundation
import Store

/// `smfi_main` on its own thread, so that the main thread is free to take the termination
/// signals (see `SignalMask`) and stop libmilter only once messages in progress are done.
final class LibmilterThread: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var rc: Int32 = MI_SUCCESS

    func start() {
        NamedThread.start("libmilter") { [self] in
            let result = smfi_main()
            lock.lock(); rc = result; done = true; lock.unlock()
        }
    }

    /// True once `smfi_main` returned (after smfi_stop, or on its own after a failure).
    var finished: Bool { lock.lock(); defer { lock.unlock() }; return done }
    var result: Int32 { lock.lock(); defer { lock.unlock() }; return rc }
}
