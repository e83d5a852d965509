import Foundation

/// A background thread that calls ``DurableRedisWriter/replayIfPossible()`` and
/// ``DurableRedisWriter/syncSpool()`` every `interval`, so spooled batches reach Redis soon
/// after it comes back and are fsynced within one interval of being spooled.
///
/// A dedicated thread (not a NIO event loop or a libmilter worker) because replay does
/// blocking Redis and disk I/O.
public final class SpoolReplayLoop: @unchecked Sendable {
    /// The outcome of one tick, for logging and metrics.
    public typealias Observer = @Sendable (Result<DurableRedisWriter.ReplayReport, SpoolError>) -> Void

    private enum State { case idle, running, stopping, stopped }

    private let writer: DurableRedisWriter
    private let interval: Duration
    private let observer: Observer
    private let condition = NSCondition()
    private var state = State.idle

    public init(writer: DurableRedisWriter, interval: Duration = .seconds(1), observer: @escaping Observer = { _ in }) {
        self.writer = writer
        self.interval = interval
        self.observer = observer
    }

    /// Starts the thread; the first replay runs at once. Calling it again does nothing.
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard state == .idle else { return }
        state = .running
        NamedThread.start("mt-spool-replay") { [self] in run() }
    }

    /// Stops the thread and waits for the current tick to finish. Call it before dropping the
    /// loop (the thread keeps it alive), and never from the observer (it would wait for itself).
    public func stop() {
        condition.lock()
        defer { condition.unlock() }
        switch state {
        case .idle:
            state = .stopped
        case .running:
            state = .stopping
            condition.broadcast()
            while state != .stopped { condition.wait() }
        case .stopping:
            while state != .stopped { condition.wait() }
        case .stopped:
            break
        }
    }

    private func run() {
        let (seconds, attoseconds) = interval.components
        let pause = TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
        while true {
            condition.lock()
            if state != .running {
                state = .stopped
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()

            let outcome: Result<DurableRedisWriter.ReplayReport, SpoolError>
            do {
                let report = try writer.replayIfPossible()
                try writer.syncSpool()
                outcome = .success(report)
            } catch {
                outcome = .failure(error)
            }
            observer(outcome)

            condition.lock()
            if state == .running { _ = condition.wait(until: Date(timeIntervalSinceNow: pause)) }
            condition.unlock()
        }
    }
}
