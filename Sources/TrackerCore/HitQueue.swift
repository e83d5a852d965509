import Foundation
import NIOCore

/// The bounded hand-over between the request handlers (many event-loop threads) and the
/// event writer (one thread).
///
/// ``offer(_:)`` never blocks: it fails when the queue is full, and the caller spools the hit
/// instead. The writer takes hits in batches with ``take(max:timeout:linger:)``. A producer
/// wakes the writer only when the writer waits for exactly the count just reached (one hit
/// when idle, a full batch when lingering), so a busy server makes no futex call per request.
public final class HitQueue: @unchecked Sendable {
    public let capacity: Int
    private let condition = NSCondition()
    private var items: CircularBuffer<TrackedHit>
    /// The writer sleeps until the queue holds this many hits (Int.max: it does not sleep).
    private var wakeAt = Int.max
    private var closed = false

    public init(capacity: Int) {
        precondition(capacity > 0, "a queue needs room for at least one hit")
        self.capacity = capacity
        items = CircularBuffer(initialCapacity: min(capacity, Self.initialStorage))
    }

    /// Adds `hit` unless the queue is full or closed; false means the caller keeps it.
    public func offer(_ hit: TrackedHit) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, items.count < capacity else { return false }
        items.append(hit)
        if items.count == wakeAt { condition.signal() }
        return true
    }

    /// Up to `max` hits, oldest first. Waits up to `timeout` seconds while the queue is empty
    /// and open; returns an empty array on timeout or once closed and drained.
    ///
    /// With a `linger`, a batch that would be smaller than `max` waits up to that many
    /// seconds for more hits: under load the writer then makes fewer, larger Redis round
    /// trips, at the cost of that much delay for the events (never for the requests).
    public func take(max: Int, timeout: Double, linger: Double = 0) -> [TrackedHit] {
        condition.lock()
        if items.isEmpty && !closed && timeout > 0 {
            let deadline = Date(timeIntervalSinceNow: timeout)
            wakeAt = 1
            while items.isEmpty && !closed {
                if !condition.wait(until: deadline) { break }
            }
            wakeAt = Int.max
        }
        if linger > 0, !items.isEmpty, items.count < max, !closed {
            let deadline = Date(timeIntervalSinceNow: linger)
            wakeAt = max
            while items.count < max && !closed {
                if !condition.wait(until: deadline) { break }
            }
            wakeAt = Int.max
        }
        guard !items.isEmpty else {
            condition.unlock()
            return []
        }
        // Hits are moved, not copied, and the queue keeps its storage: no reference counting
        // per hit and no allocation but the batch's array. Moving a batch of a few hundred
        // hits holds the lock for a few microseconds.
        var taken: [TrackedHit] = []
        taken.reserveCapacity(Swift.min(max, items.count))
        while taken.count < max, let hit = items.popFirst() {
            taken.append(hit)
        }
        condition.unlock()
        return taken
    }

    private static let initialStorage = 1024

    /// Hits waiting now.
    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count
    }

    /// Refuses further offers and wakes the writer; what is queued can still be taken.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Wakes a waiting writer without adding anything (to make it notice a state change).
    public func wake() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// True once ``close()`` was called.
    public var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    /// True once ``close()`` was called and everything was taken.
    public var isDrainedAndClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed && items.isEmpty
    }
}
