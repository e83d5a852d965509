/// What to track in a message: opens (the pixel), clicks (wrapped links), both or neither.
///
/// Spelled `off`, `opens`, `clicks` or `all` wherever an operator or a sender writes it
/// (the `X-MailTrail-Track` header, `sender_tracking` rules).
public struct TrackingMode: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let opens = TrackingMode(rawValue: 1)
    public static let clicks = TrackingMode(rawValue: 2)
    public static let off: TrackingMode = []
    public static let all: TrackingMode = [.opens, .clicks]

    /// Parses `off|opens|clicks|all` (any case, surrounding whitespace ignored); `none`,
    /// `no` and `yes` are accepted as the obvious synonyms.
    public init?<S: StringProtocol>(parsing text: S) {
        switch text.trimmingASCIISpace().lowercased() {
        case "off", "none", "no": self = .off
        case "opens", "open": self = .opens
        case "clicks", "click": self = .clicks
        case "all", "on", "yes": self = .all
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .off: return "off"
        case .opens: return "opens"
        case .clicks: return "clicks"
        default: return "all"
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, CRs and LFs.
    func trimmingASCIISpace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return self[endIndex..<endIndex] }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
