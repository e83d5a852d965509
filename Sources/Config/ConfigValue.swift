/// Parsers for the value syntaxes the configuration uses. Each throws a plain message;
/// `Settings` adds the file, line and parameter name.
public enum ConfigValue {
    public struct Invalid: Error { public var message: String }

    /// `yes|no|true|false|on|off|1|0`.
    public static func boolean(_ text: String) throws(Invalid) -> Bool {
        switch text.lowercased() {
        case "yes", "true", "on", "1": return true
        case "no", "false", "off", "0": return false
        default: throw Invalid(message: "\"\(text)\" is not yes or no")
        }
    }

    /// A duration with a unit — `ms`, `s`, `m`, `h`, `d`, `w` — as seconds. A bare
    /// number takes `defaultUnit`, as Postfix time parameters do.
    public static func duration(_ text: String, defaultUnit: String = "s") throws(Invalid) -> Double {
        let digits = text.prefix(while: { $0.isNumber || $0 == "." })
        let unit = text.dropFirst(digits.count).lowercased()
        guard let n = Double(digits), n >= 0 else {
            throw Invalid(message: "\"\(text)\" is not a duration (use 200ms, 5s, 10d)")
        }
        let scale: Double
        switch unit.isEmpty ? defaultUnit : unit {
        case "ms": scale = 0.001
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86400
        case "w": scale = 7 * 86400
        default: throw Invalid(message: "\"\(text)\" is not a duration (use 200ms, 5s, 10d)")
        }
        return n * scale
    }

    /// A size in bytes: a number with an optional `k`, `M`, `G` suffix (powers of 1024;
    /// `KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB` are read the same way).
    public static func size(_ text: String) throws(Invalid) -> Int {
        let digits = text.prefix(while: { $0.isNumber })
        let unit = text.dropFirst(digits.count).lowercased()
        guard let n = Int(digits) else {
            throw Invalid(message: "\"\(text)\" is not a size (use 1048576, 512k, 1M, 2G)")
        }
        let scale: Int
        switch unit {
        case "", "b": scale = 1
        case "k", "kb", "kib": scale = 1 << 10
        case "m", "mb", "mib": scale = 1 << 20
        case "g", "gb", "gib": scale = 1 << 30
        default: throw Invalid(message: "\"\(text)\" is not a size (use 1048576, 512k, 1M, 2G)")
        }
        let (product, overflow) = n.multipliedReportingOverflow(by: scale)
        guard !overflow else { throw Invalid(message: "\"\(text)\" is too large") }
        return product
    }

    /// A whole number within `range`.
    public static func integer(_ text: String, in range: ClosedRange<Int>) throws(Invalid) -> Int {
        guard let n = Int(text), range.contains(n) else {
            throw Invalid(message: "\"\(text)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    /// A list separated by commas and/or whitespace, as Postfix lists are.
    public static func list(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// `host:port` (`[::1]:8080` for IPv6).
    public static func hostPort(_ text: String) throws(Invalid) -> (host: String, port: Int) {
        let invalid = Invalid(message: "\"\(text)\" is not host:port (e.g. 127.0.0.1:8080)")
        guard let colon = text.lastIndex(of: ":") else { throw invalid }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw invalid
        }
        return (host, port)
    }

    /// `host:port` as ``hostPort(_:)`` reads it (brackets around an IPv6 address).
    public static func hostPortText(_ address: (host: String, port: Int)) -> String {
        address.host.contains(":") ? "[\(address.host)]:\(address.port)" : "\(address.host):\(address.port)"
    }

    /// An octal file mode such as `0660`.
    public static func fileMode(_ text: String) throws(Invalid) -> Int {
        guard text.allSatisfy({ ("0"..."7").contains($0) }), let n = Int(text, radix: 8), n <= 0o7777 else {
            throw Invalid(message: "\"\(text)\" is not an octal file mode (e.g. 0660)")
        }
        return n
    }

    /// An absolute http(s) URL with a host, used as the tracking base.
    public static func baseURL(_ text: String) throws(Invalid) -> String {
        let lower = text.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            throw Invalid(message: "\"\(text)\" must start with https:// or http://")
        }
        let rest = text[text.index(text.startIndex, offsetBy: lower.hasPrefix("https://") ? 8 : 7)...]
        guard let first = rest.first, first != "/",
              !text.contains(where: { $0 == " " || $0 == "?" || $0 == "#" || $0 == "\"" || $0 == "<" || $0 == ">" })
        else {
            throw Invalid(message: "\"\(text)\" is not a base URL (e.g. https://t.example.com)")
        }
        var base = text
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
}
