/// One replacement of `range` of the input by `replacement` (an insertion when `range` is empty).
///
/// Both rewriters collect their changes as a sorted list of these while scanning, then
/// build the output in one pass that copies every untouched run in bulk.
struct ByteEdit {
    var range: Range<Int>
    var replacement: [UInt8]

    /// Applies `edits` (sorted by position, non-overlapping) to `input`.
    /// Returns `input` itself, without copying, when there is nothing to change.
    static func apply(_ edits: [ByteEdit], to input: [UInt8]) -> [UInt8] {
        if edits.isEmpty { return input }
        var growth = 0
        for edit in edits { growth += edit.replacement.count - edit.range.count }
        var output: [UInt8] = []
        output.reserveCapacity(input.count + max(growth, 0))
        input.withUnsafeBufferPointer { buffer in
            var copied = 0
            for edit in edits {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[copied..<edit.range.lowerBound]))
                output.append(contentsOf: edit.replacement)
                copied = edit.range.upperBound
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[copied..<buffer.count]))
        }
        return output
    }
}
