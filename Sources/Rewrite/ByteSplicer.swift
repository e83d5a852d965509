/// A set of non-overlapping replacements of byte ranges in one buffer, applied in a single
/// copy: every byte outside the replaced ranges is copied verbatim.
///
/// This is how Rewrite changes a message without re-serializing it.
struct ByteSplicer {
    private var edits: [(range: Range<Int>, replacement: [UInt8], order: Int)] = []

    var isEmpty: Bool { edits.isEmpty }

    /// Replaces `range` (empty for an insertion) with `replacement`. Ranges must not
    /// overlap; insertions at the same offset keep the order they were added in.
    mutating func replace(_ range: Range<Int>, with replacement: [UInt8]) {
        edits.append((range, replacement, edits.count))
    }

    /// `bytes[range]` with the replacements applied.
    func apply(to bytes: [UInt8], in range: Range<Int>) -> [UInt8] {
        let sorted = edits.sorted { ($0.range.lowerBound, $0.order) < ($1.range.lowerBound, $1.order) }
        var size = range.count
        for edit in sorted { size += edit.replacement.count - edit.range.count }
        var out = [UInt8]()
        out.reserveCapacity(size)
        var cursor = range.lowerBound
        for edit in sorted {
            precondition(edit.range.lowerBound >= cursor && edit.range.upperBound <= range.upperBound,
                         "ByteSplicer: overlapping or out-of-range edit")
            out.append(contentsOf: bytes[cursor..<edit.range.lowerBound])
            out.append(contentsOf: edit.replacement)
            cursor = edit.range.upperBound
        }
        out.append(contentsOf: bytes[cursor..<range.upperBound])
        return out
    }
}
