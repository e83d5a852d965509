/// The `; name=value` parameters of a structured MIME header (Content-Type,
/// Content-Disposition), as raw octets: a boundary must match byte for byte.
///
/// Tolerant by design: names are case-insensitive (stored lower-cased); values are tokens
/// or quoted strings (backslash escapes removed, an unclosed quote runs to the end);
/// whitespace around `=` and empty or value-less parameters are accepted (the latter
/// dropped). RFC 2231 extended values (`name*=charset'lang'%41%42`) and continuations
/// (`name*0=`, `name*1*=`) are joined and percent-decoded; the charset and language are
/// dropped, since Rewrite never converts charsets. When a name appears both plain and
/// extended, the extended value wins; among duplicates, the first wins.
public struct MIMEParameters: Sendable, Equatable {
    /// One parameter after RFC 2231 joining.
    public struct Parameter: Sendable, Equatable {
        /// Lower-cased name, without any `*` or section number.
        public let name: String
        public let value: [UInt8]

        public init(name: String, value: [UInt8]) {
            self.name = name
            self.value = value
        }
    }

    /// The parameters in the order of their first appearance.
    public let items: [Parameter]

    public init(_ items: [Parameter] = []) {
        self.items = items
    }

    /// The value of the parameter `name` (case-insensitive).
    public subscript(name: String) -> [UInt8]? {
        let wanted = name.lowercased()
        return items.first { $0.name == wanted }?.value
    }

    /// The value of the parameter `name` as a string (invalid UTF-8 replaced).
    public func string(_ name: String) -> String? {
        self[name].map { String(decoding: $0, as: UTF8.self) }
    }

    /// Parses `bytes[start...]`, which must be comment-free and begin at (or before) the
    /// `;` of the first parameter.
    static func parse(_ bytes: [UInt8], from start: Int) -> MIMEParameters {
        var raw: [(name: String, value: [UInt8])] = []
        var i = start
        while i < bytes.count {
            if bytes[i] == ASCII.semicolon { i += 1 }
            let end = HeaderValueSyntax.nextSemicolon(bytes, from: i)
            if let parameter = parseOne(bytes, i..<end) { raw.append(parameter) }
            i = end
        }
        return MIMEParameters(joined(raw))
    }

    /// `name = value` within `range`, or nil when there is no name or no `=`.
    private static func parseOne(_ bytes: [UInt8], _ range: Range<Int>) -> (name: String, value: [UInt8])? {
        var eq = range.lowerBound
        while eq < range.upperBound && bytes[eq] != ASCII.equals { eq += 1 }
        guard eq < range.upperBound else { return nil }
        let name = HeaderValueSyntax.trimmed(bytes, range.lowerBound..<eq)
        guard !name.isEmpty else { return nil }
        let valueRange = HeaderValueSyntax.trimmed(bytes, (eq + 1)..<range.upperBound)
        var value: [UInt8] = []
        if let first = valueRange.first, bytes[first] == ASCII.quote {
            var j = first + 1
            while j < valueRange.upperBound {
                let b = bytes[j]
                if b == ASCII.quote { break }
                if b == ASCII.backslash && j + 1 < valueRange.upperBound {
                    j += 1
                }
                value.append(bytes[j])
                j += 1
            }
        } else {
            value = Array(bytes[valueRange])
        }
        return (HeaderValueSyntax.lowercasedString(bytes[name]), value)
    }

    /// Joins RFC 2231 sections and extended values; keeps first-appearance order.
    private static func joined(_ raw: [(name: String, value: [UInt8])]) -> [Parameter] {
        var order: [String] = []
        var plain: [String: [UInt8]] = [:]
        var sections: [String: [(number: Int, encoded: Bool, value: [UInt8])]] = [:]
        for (name, value) in raw {
            let base: String
            if let star = name.firstIndex(of: "*") {
                base = String(name[..<star])
                let rest = name[name.index(after: star)...]
                let encoded = rest.hasSuffix("*") || rest.isEmpty
                let digits = rest.hasSuffix("*") ? rest.dropLast() : rest
                guard let number = digits.isEmpty ? 0 : Int(digits), number >= 0 else { continue }
                if sections[base]?.contains(where: { $0.number == number }) == true { continue }
                sections[base, default: []].append((number, encoded, value))
            } else {
                base = name
                if plain[base] != nil { continue }
                plain[base] = value
            }
            if !order.contains(base) { order.append(base) }
        }
        return order.compactMap { name in
            if let parts = sections[name] {
                var value: [UInt8] = []
                for (index, part) in parts.sorted(by: { $0.number < $1.number }).enumerated() {
                    guard part.number == index else { break }  // stop at a gap
                    if !part.encoded {
                        value += part.value
                    } else if index == 0 {
                        value += percentDecoded(droppingCharsetPrefix(part.value))
                    } else {
                        value += percentDecoded(part.value[...])
                    }
                }
                if !value.isEmpty || plain[name] == nil { return Parameter(name: name, value: value) }
            }
            return plain[name].map { Parameter(name: name, value: $0) }
        }
    }

    /// `charset'language'rest` -> `rest`; the value itself when it has no two apostrophes.
    private static func droppingCharsetPrefix(_ value: [UInt8]) -> ArraySlice<UInt8> {
        guard let first = value.firstIndex(of: ASCII.apostrophe),
              let second = value[(first + 1)...].firstIndex(of: ASCII.apostrophe) else { return value[...] }
        return value[(second + 1)...]
    }

    /// `%XX` sequences decoded; a `%` not followed by two hex digits is kept as is.
    private static func percentDecoded(_ value: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        var i = value.startIndex
        while i < value.endIndex {
            if value[i] == UInt8(ascii: "%"), i + 2 < value.endIndex,
               let hi = ASCII.hexValue(value[i + 1]), let lo = ASCII.hexValue(value[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(value[i])
                i += 1
            }
        }
        return out
    }
}
