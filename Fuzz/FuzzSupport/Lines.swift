import Rewrite

/// Line measurements for encoded output.
public enum Lines {
    /// The length of the longest line of `bytes`, its CRLF or LF excluded.
    public static func longest(_ bytes: some Collection<UInt8>) -> Int {
        var longest = 0
        var current = 0
        var previous: UInt8 = 0
        for b in bytes {
            if b == 0x0A {
                longest = max(longest, previous == 0x0D ? current - 1 : current)
                current = 0
            } else {
                current += 1
            }
            previous = b
        }
        return max(longest, current)
    }

    /// True when every LF in `bytes` is preceded by CR and every CR is followed by LF
    /// (`crlf`), or when `bytes` holds no CR at all (`lf`).
    public static func breaksAreOnly(_ ending: LineEnding, in bytes: [UInt8]) -> Bool {
        for (i, b) in bytes.enumerated() {
            switch ending {
            case .lf:
                if b == 0x0D { return false }
            case .crlf:
                if b == 0x0D && (i + 1 == bytes.count || bytes[i + 1] != 0x0A) { return false }
                if b == 0x0A && (i == 0 || bytes[i - 1] != 0x0D) { return false }
            }
        }
        return true
    }
}
