/// Exponential backoff with full jitter: after the n-th consecutive failure, wait a random
/// time between 0 and `min(cap, base · 2^(n-1))`.
///
/// Full jitter spreads the retries of several feeders hitting the same failing receiver
/// (AWS' "Exponential Backoff And Jitter" analysis), and the cap bounds the wait.
struct Backoff: Equatable, Sendable {
    /// Bound of the first delay, seconds (> 0).
    let base: Double
    /// Largest bound, seconds (≥ base).
    let cap: Double

    init(base: Double, cap: Double) {
        precondition(base > 0 && cap > 0, "backoff base and cap must be positive")
        self.base = base
        self.cap = max(base, cap)
    }

    /// The upper bound of the delay after `failures` consecutive failures (at least 1).
    func bound(afterFailures failures: Int) -> Double {
        precondition(failures >= 1, "a delay follows at least one failure")
        // 2^63 overflows Double's exact range long after any cap is reached.
        let exponent = min(failures - 1, 62)
        return min(cap, base * Double(UInt64(1) << UInt64(exponent)))
    }

    /// A random delay in `0...bound(afterFailures:)`.
    func delay<G: RandomNumberGenerator>(afterFailures failures: Int, using generator: inout G) -> Double {
        Double.random(in: 0...bound(afterFailures: failures), using: &generator)
    }
}
