/// Forward searches over a borrowed byte buffer, the inner loops of the scanners.
extension UnsafeBufferPointer where Element == UInt8 {
    /// Index of the first `byte` in `from..<to`, or nil.
    @inline(__always)
    func firstIndex(of byte: UInt8, from: Int, to: Int) -> Int? {
        var i = from
        while i < to {
            if self[i] == byte { return i }
            i += 1
        }
        return nil
    }

    /// Index where `pattern` (non-empty) first starts inside `from..<to`, or nil.
    /// With `ignoringCase`, ASCII letters match either case (`pattern` must be lower-case).
    func firstIndex(of pattern: [UInt8], from: Int, to: Int, ignoringCase: Bool = false) -> Int? {
        guard let head = pattern.first, to - from >= pattern.count else { return nil }
        let lastStart = to - pattern.count
        var i = from
        while i <= lastStart {
            let b = ignoringCase ? ASCII.lower(self[i]) : self[i]
            if b == head, tailMatches(pattern, at: i, ignoringCase: ignoringCase) { return i }
            i += 1
        }
        return nil
    }

    /// True when `pattern` after its first byte occurs after `index` (which must leave room).
    @inline(__always)
    private func tailMatches(_ pattern: [UInt8], at index: Int, ignoringCase: Bool) -> Bool {
        var j = 1
        while j < pattern.count {
            let b = ignoringCase ? ASCII.lower(self[index + j]) : self[index + j]
            if b != pattern[j] { return false }
            j += 1
        }
        return true
    }
}
