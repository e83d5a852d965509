/// One `name = value` assignment and where it came from.
public struct ConfigEntry: Equatable, Sendable {
    public var key: String
    public var value: String
    public var source: String
    public var line: Int?

    public init(key: String, value: String, source: String, line: Int?) {
        self.key = key
        self.value = value
        self.source = source
        self.line = line
    }
}

/// The lexical layer of a configuration file, in Postfix's `main.cf` syntax:
/// `name = value`; a line starting with `#` is a comment; a line starting with
/// whitespace continues the previous one; blank lines are ignored. A later
/// assignment of the same name wins, as in Postfix.
public enum ConfigFile {
    public static func parse(_ text: String, source: String) throws(ConfigError) -> [ConfigEntry] {
        var entries: [ConfigEntry] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.first == "#" { continue }
            if line.first == " " || line.first == "\t" {
                guard var last = entries.popLast() else {
                    throw ConfigError(source: source, line: lineNumber,
                                      message: "continuation line without a parameter before it")
                }
                let piece = trimmed.trimmingTrailingSpace()
                last.value = last.value.isEmpty ? String(piece) : last.value + " " + piece
                entries.append(last)
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigError(source: source, line: lineNumber,
                                  message: "expected \"name = value\", found \"\(line)\"")
            }
            let key = line[..<eq].trimmingTrailingSpace()
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigError(source: source, line: lineNumber,
                                  message: "\"\(key)\" is not a parameter name")
            }
            let value = line[line.index(after: eq)...].drop(while: { $0 == " " || $0 == "\t" })
            entries.append(ConfigEntry(key: String(key), value: String(value.trimmingTrailingSpace()),
                                       source: source, line: lineNumber))
        }
        return entries
    }

    /// Parses a `-o name=value` command-line override.
    public static func parseOverride(_ text: String) throws(ConfigError) -> ConfigEntry {
        guard let eq = text.firstIndex(of: "=") else {
            throw ConfigError(source: "command line", message: "-o expects name=value, found \"\(text)\"")
        }
        let key = text[..<eq].trimmingTrailingSpace().drop(while: { $0 == " " })
        let value = text[text.index(after: eq)...].drop(while: { $0 == " " }).trimmingTrailingSpace()
        return ConfigEntry(key: String(key), value: String(value), source: "command line", line: nil)
    }
}

extension StringProtocol {
    func trimmingTrailingSpace() -> SubSequence {
        var end = endIndex
        while end > startIndex {
            let before = index(before: end)
            guard self[before] == " " || self[before] == "\t" else { break }
            end = before
        }
        return self[startIndex..<end]
    }
}
