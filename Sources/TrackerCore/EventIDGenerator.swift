import Store

/// Event ids for the writer: 128 bits from xoshiro256**, seeded once from the system's
/// secure generator.
///
/// Ids only need to be unique (consumers de-duplicate on them), not secret, so drawing them
/// from a fast generator instead of one `getrandom` system call per 64 bits (what
/// `SystemRandomNumberGenerator` does) takes a noticeable load off the writer thread.
/// Not thread-safe: the ``EventWriter`` uses it under its lock.
struct EventIDGenerator: RandomNumberGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var seed = SystemRandomNumberGenerator()
        state = (seed.next(), seed.next(), seed.next(), seed.next())
        if state == (0, 0, 0, 0) { state.0 = 1 }  // the one state xoshiro never leaves
    }

    /// Seeded, for tests.
    init(seed: (UInt64, UInt64, UInt64, UInt64)) {
        state = seed == (0, 0, 0, 0) ? (1, 0, 0, 0) : seed
    }

    mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotate(state.3, 45)
        return result
    }

    /// A fresh event id: 32 lowercase hex digits.
    mutating func newID() -> String {
        TrackingEvent.newID(using: &self)
    }

    private func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
