/// Stops the process when an invariant does not hold, so that libFuzzer records the input
/// as a crash (`crash-<sha1>`) and prints `message` with the failing target's file and line.
@inline(__always)
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError("invariant broken: \(message())", file: file, line: line) }
}

/// `bytes` as text for an invariant message: printable ASCII as is, the rest escaped,
/// cut to `limit` bytes.
public func describe(_ bytes: some Collection<UInt8>, limit: Int = 400) -> String {
    var text = ""
    for b in bytes.prefix(limit) {
        switch b {
        case 0x0A: text += "\\n"
        case 0x0D: text += "\\r"
        case 0x09: text += "\\t"
        case 0x5C: text += "\\\\"
        case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(b))
        default: text += "\\x" + (b < 0x10 ? "0" : "") + String(b, radix: 16)
        }
    }
    return bytes.count > limit ? text + "… (\(bytes.count) bytes)" : text
}
