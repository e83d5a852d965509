/// A per-sender tracking rule from the configuration (`sender_tracking`).
///
/// Patterns follow Postfix's access-table conventions: `user@example.org` matches that
/// address, `example.org` (or `@example.org`) matches every address at that domain, and
/// `.example.org` matches its subdomains. Matching ignores case. The most specific rule
/// wins: address, then exact domain, then the longest parent-domain pattern.
public struct SenderRule: Equatable, Sendable {
    public var pattern: String
    public var mode: TrackingMode

    public init(pattern: String, mode: TrackingMode) {
        self.pattern = pattern.lowercased()
        if self.pattern.hasPrefix("@") { self.pattern.removeFirst() }
        self.mode = mode
    }

    /// The tracking mode the rules give `sender` (an envelope or From address), or nil
    /// when no rule matches.
    public static func mode(for sender: String, in rules: [SenderRule]) -> TrackingMode? {
        match(for: sender, in: rules)?.mode
    }

    /// The most specific rule matching `sender`, or nil.
    public static func match(for sender: String, in rules: [SenderRule]) -> SenderRule? {
        let address = sender.trimmingASCIISpace().trimmingAngleBrackets().lowercased()
        guard !address.isEmpty else { return nil }
        if let rule = rules.first(where: { $0.pattern == address }) { return rule }
        guard let at = address.lastIndex(of: "@") else { return nil }
        let domain = String(address[address.index(after: at)...])
        if let rule = rules.first(where: { $0.pattern == domain }) { return rule }
        var best: SenderRule?
        for rule in rules where rule.pattern.hasPrefix(".") && domain.hasSuffix(rule.pattern) {
            if best == nil || rule.pattern.count > best!.pattern.count { best = rule }
        }
        return best
    }
}

extension StringProtocol {
    func trimmingAngleBrackets() -> SubSequence {
        guard first == "<", last == ">", count >= 2 else { return self[...] }
        return self[index(after: startIndex)..<index(before: endIndex)]
    }
}
