/// An inline `text/html` or `text/plain` part handed to a rewrite transform: its decoded
/// content and what is known about it.
public struct TextPart: Sendable {
    /// The two kinds of text part Rewrite transforms.
    public enum Subtype: Sendable, Equatable {
        case html
        case plain
    }

    public let subtype: Subtype
    /// The full content type, for parameters such as `charset`, `format`, `delsp`.
    public let contentType: ContentType
    /// The encoding the content was decoded from (and will be re-encoded in).
    public let transferEncoding: TransferEncoding
    /// Child indices from the root to this part (`[]` for a single-part message,
    /// `[1, 0]` for the first child of the root's second child).
    public let path: [Int]
    /// Which text part this is, in document order, counting only parts handed to the
    /// transform (0-based).
    public let index: Int
    /// The line ending of the decoded content (its first line break; the body's when the
    /// content has none). Text a transform inserts should use it.
    public let lineEnding: LineEnding
    /// The decoded content, with the part's own line endings; charsets untouched.
    public let content: [UInt8]

    public init(
        subtype: Subtype, contentType: ContentType, transferEncoding: TransferEncoding,
        path: [Int], index: Int, lineEnding: LineEnding, content: [UInt8]
    ) {
        self.subtype = subtype
        self.contentType = contentType
        self.transferEncoding = transferEncoding
        self.path = path
        self.index = index
        self.lineEnding = lineEnding
        self.content = content
    }

    /// Nesting depth: 0 for the root entity.
    public var depth: Int { path.count }

    /// The `charset` parameter, lower-cased.
    public var charset: String? { contentType.charset }

    /// True for `format=flowed` (RFC 3676): trailing spaces mark soft line breaks.
    public var isFlowed: Bool { contentType.parameters.string("format")?.lowercased() == "flowed" }

    /// True for `delsp=yes` (RFC 3676) on a flowed part.
    public var deletesSpace: Bool { contentType.parameters.string("delsp")?.lowercased() == "yes" }
}
