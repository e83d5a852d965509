import Foundation
import Testing
@testable import TrackerCore

@Suite struct WriterSchedulingTests {
    /// The settings land on the calling thread only: a fresh thread gets nice 0 and the short
    /// slice, and the thread that ran the test keeps what it had.
    @Test func appliesNiceAndSliceToTheCallingThreadOnly() throws {
        let before = try #require(WriterScheduling.currentThread())
        let applied = Applied()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 3)   // something to undo
            applied.error = WriterScheduling.applyToCurrentThread()
            applied.after = WriterScheduling.currentThread()
            done.signal()
        }
        thread.start()
        done.wait()
        #expect(applied.error == nil)
        let after = try #require(applied.after)
        #expect(after.nice == WriterScheduling.nice)
        #expect(after.sliceNanoseconds == WriterScheduling.sliceNanoseconds)
        let unchanged = try #require(WriterScheduling.currentThread())
        #expect(unchanged.nice == before.nice && unchanged.sliceNanoseconds == before.sliceNanoseconds)
    }

    /// What the other thread saw; read only after it signalled.
    private final class Applied: @unchecked Sendable {
        var error: Int32?
        var after: (nice: Int32, sliceNanoseconds: UInt64)?
    }
}
