/// A Redis stream entry id, `<milliseconds>-<sequence>`: the time the entry was added (server
/// clock, unix milliseconds) and a counter among entries of the same millisecond.
///
/// Ids order entries; `mailtrail stats` selects a time window with them (`XRANGE` bounds).
public struct StreamID: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var milliseconds: UInt64
    public var sequence: UInt64

    public init(milliseconds: UInt64, sequence: UInt64 = 0) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// Parses `1700000000000-3` (or a bare `1700000000000`, sequence 0); nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, let milliseconds = UInt64(parts[0]) else { return nil }
        var sequence: UInt64 = 0
        if parts.count == 2 {
            guard let parsed = UInt64(parts[1]) else { return nil }
            sequence = parsed
        }
        self.init(milliseconds: milliseconds, sequence: sequence)
    }

    /// `0-0`: below every entry (`XREADGROUP … 0` reads a consumer's pending entries from here).
    public static let zero = StreamID(milliseconds: 0)

    public var description: String { "\(milliseconds)-\(sequence)" }

    public static func < (a: StreamID, b: StreamID) -> Bool {
        (a.milliseconds, a.sequence) < (b.milliseconds, b.sequence)
    }
}
