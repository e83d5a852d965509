import Foundation
import Testing
@testable import TrackerCore

@Suite struct WriterSchedulingTests {
    /// The slice lands on the calling thread only, and the thread keeps its nice value (an
    /// unprivileged tracker could not lower it, and an administrator's `Nice=` stays).
    @Test func appliesTheSliceToTheCallingThreadOnlyKeepingItsNiceValue() throws {
        let before = try #require(WriterScheduling.currentThread())
        let applied = Applied()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 3)   // this thread only
            applied.error = WriterScheduling.applyToCurrentThread()
            applied.after = WriterScheduling.currentThread()
            done.signal()
        }
        thread.start()
        done.wait()
        #expect(applied.error == nil)
        let after = try #require(applied.after)
        #expect(after.nice == 3)
        if Self.kernelHasFairSlices {
            #expect(after.sliceNanoseconds == WriterScheduling.sliceNanoseconds)
        }
        let unchanged = try #require(WriterScheduling.currentThread())
        #expect(unchanged.nice == before.nice && unchanged.sliceNanoseconds == before.sliceNanoseconds)
    }

    /// Linux 6.12 and later let a thread of the fair class choose its slice.
    static var kernelHasFairSlices: Bool {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard numbers.count == 2 else { return false }
        return (numbers[0], numbers[1]) >= (6, 12)
    }

    /// What the other thread saw; read only after it signalled.
    private final class Applied: @unchecked Sendable {
        var error: String?
        var after: (nice: Int32, sliceNanoseconds: UInt64)?
    }
}
