/// Where `mailtrail-milter` listens, in libmilter's syntax: `inet:8893@127.0.0.1`,
/// `inet6:8893@[::1]` or `unix:/run/mailtrail/milter.sock` (`local:` is a synonym).
///
/// Postfix writes the same TCP socket as `inet:127.0.0.1:8893`; that spelling is accepted
/// too and converted, since operators copy it from `main.cf`.
public enum MilterSocket: Equatable, Sendable, CustomStringConvertible {
    case inet(host: String, port: Int)
    case inet6(host: String, port: Int)
    case unix(path: String)

    public init(parsing text: String) throws(ConfigValue.Invalid) {
        let invalid = ConfigValue.Invalid(
            message: "\"\(text)\" is not a milter socket (use inet:8893@127.0.0.1 or unix:/run/mailtrail/milter.sock)")
        guard let colon = text.firstIndex(of: ":") else { throw invalid }
        let scheme = text[..<colon].lowercased()
        let rest = String(text[text.index(after: colon)...])
        switch scheme {
        case "unix", "local":
            guard rest.hasPrefix("/") else { throw invalid }
            self = .unix(path: rest)
        case "inet", "inet6":
            var host: String
            var portText: Substring
            if let at = rest.firstIndex(of: "@") {            // libmilter: port@host
                portText = rest[..<at]
                host = String(rest[rest.index(after: at)...])
            } else if let last = rest.lastIndex(of: ":") {    // Postfix: host:port
                host = String(rest[..<last])
                portText = rest[rest.index(after: last)...]
            } else {
                portText = rest[...]
                host = scheme == "inet" ? "127.0.0.1" : "::1"
            }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else { throw invalid }
            self = scheme == "inet" ? .inet(host: host, port: port) : .inet6(host: host, port: port)
        default:
            throw invalid
        }
    }

    /// The string `smfi_setconn` expects.
    public var libmilterSpec: String {
        switch self {
        case let .inet(host, port): return "inet:\(port)@\(host)"
        case let .inet6(host, port): return "inet6:\(port)@[\(host)]"
        case let .unix(path): return "unix:\(path)"
        }
    }

    /// The same socket as Postfix's `smtpd_milters` wants it.
    public var postfixSpec: String {
        switch self {
        case let .inet(host, port): return "inet:\(host):\(port)"
        case let .inet6(host, port): return "inet:[\(host)]:\(port)"
        case let .unix(path): return "unix:\(path)"
        }
    }

    public var description: String { libmilterSpec }
}
