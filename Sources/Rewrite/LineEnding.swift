/// The line break a piece of text uses: CRLF on the wire (and in the milter), often a bare
/// LF in message files on disk.
///
/// Re-encoded parts keep the line ending their original body used, so a rewritten part
/// never mixes conventions with the bytes around it.
public enum LineEnding: Sendable, Equatable {
    case crlf
    case lf

    /// The octets of this line break.
    @inlinable
    public var bytes: [UInt8] {
        switch self {
        case .crlf: return [ASCII.cr, ASCII.lf]
        case .lf: return [ASCII.lf]
        }
    }

    /// The line ending of the first line break in `bytes[range]` (CRLF when the first LF is
    /// preceded by CR), or nil when the range holds no LF.
    public static func detect(in bytes: [UInt8], range: Range<Int>? = nil) -> LineEnding? {
        let range = range ?? bytes.indices
        return bytes.withUnsafeBufferPointer { buf -> LineEnding? in
            var i = range.lowerBound
            while i < range.upperBound {
                if buf[i] == ASCII.lf {
                    return i > range.lowerBound && buf[i - 1] == ASCII.cr ? .crlf : .lf
                }
                i += 1
            }
            return nil
        }
    }
}
