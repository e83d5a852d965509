import Foundation

/// Starts MailTrail's own long-lived threads under names an operator sees in `top -H`,
/// `ps -L`, `/proc/PID/task/*/comm` and profiles: the event writer, the spool replay, the
/// libmilter thread.
///
/// Foundation's `Thread.name` reaches the kernel only when set on the thread itself, and Linux
/// keeps at most 15 bytes of a name (a longer one is refused, not cut), so both are taken care
/// of here.
public enum NamedThread {
    /// The most bytes Linux keeps of a thread name.
    public static let maxNameBytes = 15

    /// Runs `body` on a new thread named `name` (at most ``maxNameBytes`` bytes).
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        precondition(name.utf8.count <= maxNameBytes, "thread name '\(name)' is longer than \(maxNameBytes) bytes")
        let thread = Thread {
            Thread.current.name = name
            body()
        }
        thread.name = name
        thread.start()
    }
}
