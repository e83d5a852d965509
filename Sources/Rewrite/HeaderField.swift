/// One header field located in a buffer by byte ranges (never a copy), so that untouched
/// fields can be written back exactly as they arrived.
public struct HeaderField: Sendable, Equatable {
    /// The whole field: name, colon, value with its folded lines, and the final line break
    /// when there is one.
    public let range: Range<Int>
    /// The field name, without the colon and any whitespace before it.
    public let nameRange: Range<Int>
    /// The raw value: everything after the colon up to, not including, the final line
    /// break; folding line breaks and leading whitespace are kept.
    public let valueRange: Range<Int>

    public init(range: Range<Int>, nameRange: Range<Int>, valueRange: Range<Int>) {
        self.range = range
        self.nameRange = nameRange
        self.valueRange = valueRange
    }
}
