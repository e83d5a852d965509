/// A configuration problem, located precisely enough for an operator to fix it:
/// `/etc/mailtrail/mailtrail.conf:12: redis_timeout: "20x" is not a duration (use 200ms, 5s, 10d)`.
public struct ConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file (or "command line" for `-o` overrides).
    public var source: String
    /// 1-based line number, or nil when the problem is not tied to one line.
    public var line: Int?
    /// The parameter concerned, when there is one.
    public var key: String?
    public var message: String

    public init(source: String, line: Int? = nil, key: String? = nil, message: String) {
        self.source = source
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var s = source
        if let line { s += ":\(line)" }
        s += ": "
        if let key { s += "\(key): " }
        return s + message
    }
}
