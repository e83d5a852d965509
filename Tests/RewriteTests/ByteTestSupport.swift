/// Helpers shared by the MIME tests: byte literals and a visible transform.

/// The UTF-8 bytes of `s` (test inputs are written as Swift strings with explicit `\r\n`).
func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// `b` as a string, for readable failure messages.
func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

/// A transform whose effect is visible everywhere: ASCII letters upper-cased.
func uppercased(_ content: [UInt8]) -> [UInt8] {
    content.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }
}

/// `s` with every LF turned into CRLF (messages are written with plain newlines in tests).
func crlf(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    for b in s.utf8 {
        if b == 0x0A { out.append(0x0D) }
        out.append(b)
    }
    return out
}
