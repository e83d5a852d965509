#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Forward searches over a borrowed byte buffer, the inner loops of the scanners.
extension UnsafeBufferPointer where Element == UInt8 {
    /// Index of the first `byte` in `from..<to`, or nil. Uses the C library's vectorised
    /// `memchr`: long runs of text and long `style` attributes are skipped at memory speed.
    @inline(__always)
    func firstIndex(of byte: UInt8, from: Int, to: Int) -> Int? {
        guard from < to, let base = baseAddress else { return nil }
        guard let found = memchr(base + from, Int32(byte), to - from) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// Index where `pattern` first starts inside `from..<to`, exact bytes, or nil.
    ///
    /// Short patterns: `memchr` for the first byte, then compare. Long ones (the pixel URL
    /// prefix): Boyer–Moore–Horspool, which looks at only a fraction of the bytes.
    func firstIndex(of pattern: [UInt8], from: Int, to: Int) -> Int? {
        let m = pattern.count
        guard m > 0, to - from >= m else { return nil }
        let lastStart = to - m
        if m < 8 {
            var i = from
            while let candidate = firstIndex(of: pattern[0], from: i, to: lastStart + 1) {
                if matches(pattern, at: candidate, from: 1) { return candidate }
                i = candidate + 1
            }
            return nil
        }
        var shift = [Int](repeating: m, count: 256)
        for j in 0..<(m - 1) { shift[Int(pattern[j])] = m - 1 - j }
        let last = pattern[m - 1]
        var i = from
        while i <= lastStart {
            let tail = self[i + m - 1]
            if tail == last, matches(pattern, at: i, from: 0) { return i }
            i += shift[Int(tail)]
        }
        return nil
    }

    /// True when `pattern[from...]` occurs at `index + from` (`index` must leave room).
    @inline(__always)
    private func matches(_ pattern: [UInt8], at index: Int, from: Int) -> Bool {
        var j = from
        while j < pattern.count {
            if self[index + j] != pattern[j] { return false }
            j += 1
        }
        return true
    }
}
