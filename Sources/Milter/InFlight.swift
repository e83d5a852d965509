import Foundation

/// Counts the open milter sessions and the messages in progress (MAIL FROM seen, end of
/// message or abort not yet), so that a stop can wait for the messages Postfix is handing
/// over right now instead of cutting them off.
final class InFlight: @unchecked Sendable {
    private let condition = NSCondition()
    private var sessions = 0
    private var messages = 0

    func sessionOpened() { change { $0.sessions += 1 } }
    func sessionClosed() { change { $0.sessions -= 1 } }
    func messageStarted() { change { $0.messages += 1 } }
    func messageEnded() { change { $0.messages -= 1 } }

    /// (open sessions, messages in progress) right now.
    var counts: (sessions: Int, messages: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (sessions, messages)
    }

    /// Waits until no message is in progress, `timeout` seconds pass, or `giveUp()` (checked
    /// every 100 ms) says waiting is pointless; returns the number of messages still in progress.
    @discardableResult
    func waitForMessages(timeout: Double, giveUp: () -> Bool = { false }) -> Int {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while messages > 0 && Date() < deadline && !giveUp() {
            _ = condition.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.1)))
        }
        return messages
    }

    private func change(_ update: (InFlight) -> Void) {
        condition.lock()
        update(self)
        condition.broadcast()
        condition.unlock()
    }
}
