/// Envelope addresses arrive as `<user@example.org>`; `<>` is the null sender.
enum Address {
    static func stripBrackets(_ s: String) -> String {
        s.hasPrefix("<") && s.hasSuffix(">") && s.count >= 2 ? String(s.dropFirst().dropLast()) : s
    }
}
