/// Why a tracking token was refused. Any of these means: no redirect, no event.
public enum TokenError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Too short for its layout (or a base64url length no byte string has).
    case truncated
    /// The text has `=` padding; tokens are unpadded.
    case padded
    /// A character outside the base64url alphabet (`A-Z a-z 0-9 - _`).
    case badAlphabet
    /// The last character carries non-zero unused bits: not the one canonical spelling.
    case nonCanonical
    /// A format version this build does not know.
    case unknownVersion(UInt8)
    /// Signed with a key id that is not in the key ring.
    case unknownKey(UInt8)
    /// The kind byte is not open, click or unsubscribe (or an open claims a deflated URL).
    case badKind
    /// The authentication tag does not match: forged, corrupted or signed with another secret.
    case badTag
    /// Bytes after the last field (an open with a link index or URL, data after the deflate stream).
    case trailingBytes
    /// The link index varint is longer than 32 bits or not in its shortest form.
    case varintOverflow
    /// The compressed destination is not a valid raw deflate stream.
    case inflateFailed
    /// The destination is longer than `TrackingToken.maxDestinationLength` (or inflates past it).
    case destinationTooLarge
    /// A click or unsubscribe token without a destination.
    case missingDestination
    /// The path is neither `/c/<token>` nor `/o/<token>.gif`.
    case notATrackingPath
    /// A valid token used on the wrong path (a click token as a pixel, or the reverse).
    case kindMismatch

    public var description: String {
        switch self {
        case .truncated: return "token is truncated"
        case .padded: return "token has base64 padding ('='); tokens are unpadded base64url"
        case .badAlphabet: return "token has a character outside the base64url alphabet"
        case .nonCanonical: return "token is not canonical base64url (non-zero unused bits at the end)"
        case .unknownVersion(let v): return "unknown token version \(v)"
        case .unknownKey(let id): return "token is signed with key k\(id), which is not in the key ring"
        case .badKind: return "unknown token kind"
        case .badTag: return "signature does not verify"
        case .trailingBytes: return "token has unexpected bytes after its last field"
        case .varintOverflow: return "link index is malformed (over 32 bits or not minimally encoded)"
        case .inflateFailed: return "compressed destination is corrupt"
        case .destinationTooLarge: return "destination exceeds \(TrackingToken.maxDestinationLength) bytes"
        case .missingDestination: return "click token has no destination"
        case .notATrackingPath: return "not a tracking path (/c/<token> or /o/<token>.gif)"
        case .kindMismatch: return "token kind does not match the path"
        }
    }
}
