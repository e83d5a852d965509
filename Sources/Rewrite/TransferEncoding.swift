/// A `Content-Transfer-Encoding` (RFC 2045 section 6).
///
/// Parsed without case, surrounding whitespace and comments; `7-bit` and `8-bit` are
/// accepted as the common misspellings they are. An absent field means `7bit`; an empty
/// or unrecognised value (`x-uuencode`, ...) is `unknown`, and such a part is never
/// decoded or rewritten.
public enum TransferEncoding: Sendable, Equatable {
    case sevenBit
    case eightBit
    case binary
    case quotedPrintable
    case base64
    /// Anything else, lower-cased and trimmed.
    case unknown(String)

    /// Parses a header value.
    public init<C: Collection>(parsing value: C) where C.Element == UInt8 {
        let bytes = HeaderValueSyntax.removingComments(value)
        let token = HeaderValueSyntax.lowercasedString(bytes[HeaderValueSyntax.trimmed(bytes, bytes.indices)])
        switch token {
        case "7bit", "7-bit": self = .sevenBit
        case "8bit", "8-bit": self = .eightBit
        case "binary": self = .binary
        case "quoted-printable": self = .quotedPrintable
        case "base64": self = .base64
        default: self = .unknown(token)
        }
    }

    /// The encoding a header section declares (its first `Content-Transfer-Encoding`
    /// field); `7bit` when there is none.
    public static func of(_ header: HeaderBlock) -> TransferEncoding {
        guard let field = header.first(named: "Content-Transfer-Encoding") else { return .sevenBit }
        return TransferEncoding(parsing: header.rawValue(of: field))
    }

    /// The canonical header value.
    public var name: String {
        switch self {
        case .sevenBit: return "7bit"
        case .eightBit: return "8bit"
        case .binary: return "binary"
        case .quotedPrintable: return "quoted-printable"
        case .base64: return "base64"
        case .unknown(let token): return token
        }
    }

    /// True for the identity encodings (`7bit`, `8bit`, `binary`): the body is the content.
    public var isIdentity: Bool {
        switch self {
        case .sevenBit, .eightBit, .binary: return true
        default: return false
        }
    }
}
