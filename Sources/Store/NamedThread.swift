import Foundation
import Glibc

/// Starts MailTrail's own long-lived threads under names an operator sees in `top -H`,
/// `ps -L`, `/proc/PID/task/*/comm` and profiles: the event writer, the spool replay, the
/// libmilter thread.
///
/// Foundation's `Thread.name` does not reliably reach the kernel (set before `start()` it never
/// does; set on the thread itself, only once `start()` has recorded the thread), and Linux
/// refuses names longer than 15 bytes. So the new thread names itself, first thing, the way
/// glibc names a thread other than the caller: through its `comm` file in `/proc` (Swift
/// cannot call `pthread_setname_np`, which glibc declares only for `_GNU_SOURCE`).
public enum NamedThread {
    /// The most bytes Linux keeps of a thread name.
    public static let maxNameBytes = 15

    /// Runs `body` on a new thread named `name` (at most ``maxNameBytes`` bytes).
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        precondition(name.utf8.count <= maxNameBytes, "thread name '\(name)' is longer than \(maxNameBytes) bytes")
        let thread = Thread {
            nameCallingThread(name)
            body()
        }
        thread.name = name  // what `Thread.current.name` says on it
        thread.start()
    }

    /// Sets the calling thread's kernel name; on failure the thread keeps the name it inherited.
    private static func nameCallingThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var bytes = Array(name.utf8)
        _ = write(fd, &bytes, bytes.count)
    }
}
