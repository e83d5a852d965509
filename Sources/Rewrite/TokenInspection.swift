/// Everything `TrackingToken.inspect` could read from a token, with the verification outcome,
/// for operators (`mailtrail link decode`). A field is nil when the token ends, or its
/// spelling or structure breaks, before that field. Unless `isValid`, the fields are
/// attacker-controlled and must not be acted on.
public struct TokenInspection: Equatable, Sendable {
    /// Whether the token verifies, and with which key.
    public enum Verification: Equatable, Sendable {
        /// Tag verified with this key (`k<id>`) and every field parsed.
        case valid(keyName: String)
        /// The first reason the token is refused.
        case invalid(TokenError)
    }

    public var verification: Verification
    /// Length of the decoded binary token.
    public var byteCount: Int?
    public var version: UInt8?
    public var keyID: UInt8?
    /// The kind byte as stored (kind plus the deflate flag).
    public var kindByte: UInt8?
    /// nil when the kind byte is not a known kind.
    public var kind: TokenKind?
    public var isDeflated: Bool?
    public var issuedAt: UInt32?
    public var trackingID: TrackingID?
    public var linkIndex: UInt32?
    public var destination: [UInt8]?
    /// Bytes the destination takes in the token (compressed size when deflated).
    public var storedDestinationLength: Int?
    public var tag: [UInt8]?

    public init(verification: Verification) {
        self.verification = verification
    }

    /// True when the signature verified and every field parsed.
    public var isValid: Bool {
        if case .valid = verification { return true }
        return false
    }
}
