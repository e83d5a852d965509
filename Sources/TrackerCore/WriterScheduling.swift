import CSched
import Glibc

/// How the event writer's thread is scheduled next to the event loops.
///
/// Under saturation the event loops and the load's own threads never sleep, while the writer
/// sleeps on every Redis round trip (two per batch). With the default time slice each wake-up
/// can wait behind several busy threads, the writer falls behind and the queue overflows into
/// the spool (measured with `bench/tracker`). A short slice lets the woken writer run at once
/// for the little CPU it needs; its nice value stays the process's, so it gets its fair share
/// and no more. No privilege is needed. Kernels before Linux 6.12 ignore the slice.
public enum WriterScheduling {
    /// The writer's time slice: the shortest Linux accepts (100 µs).
    public static let sliceNanoseconds: UInt64 = 100_000

    /// Gives the calling thread ``sliceNanoseconds``, keeping its policy and nice value;
    /// returns why it could not (the thread then keeps its scheduling).
    public static func applyToCurrentThread() -> String? {
        let error = mt_set_time_slice(sliceNanoseconds)
        return error == 0 ? nil : String(cString: strerror(error))
    }

    /// The calling thread's nice value and slice in nanoseconds, or nil if they cannot be read.
    public static func currentThread() -> (nice: Int32, sliceNanoseconds: UInt64)? {
        var nice: Int32 = 0
        var slice: UInt64 = 0
        return mt_time_slice(&nice, &slice) == 0 ? (nice, slice) : nil
    }
}
