/// One node of a parsed MIME message: its header section, its body's byte range, what the
/// headers say about it, and, for a multipart, its children.
///
/// All ranges point into the buffer the parser was given (a child's header, too; the
/// root's header may live in a buffer of its own, as in the milter), so any part can be
/// replaced while every other byte is copied verbatim.
public struct MIMEEntity: Sendable {
    /// The entity's header section.
    public let header: HeaderBlock
    /// The body: after the empty line that ends the header, up to (not including) the
    /// line break that belongs to the next boundary delimiter.
    public let bodyRange: Range<Int>
    /// False for a part whose header section runs to the end of the part with no empty
    /// line after it: it has no body, and giving it one would change its header. Always
    /// true for the root (a body can follow a new empty line there).
    public let hasBody: Bool
    /// Declared or defaulted content type (see `ContentType.of`).
    public let contentType: ContentType
    public let transferEncoding: TransferEncoding
    public let disposition: ContentDisposition?
    /// The children when this is a multipart that was split at its boundary; nil for a
    /// leaf, including a multipart whose boundary is missing or never occurs (opaque).
    public let multipart: Multipart?

    public init(
        header: HeaderBlock, bodyRange: Range<Int>, hasBody: Bool, contentType: ContentType,
        transferEncoding: TransferEncoding, disposition: ContentDisposition?, multipart: Multipart?
    ) {
        self.header = header
        self.bodyRange = bodyRange
        self.hasBody = hasBody
        self.contentType = contentType
        self.transferEncoding = transferEncoding
        self.disposition = disposition
        self.multipart = multipart
    }

    /// True when the entity is not split into children.
    public var isLeaf: Bool { multipart == nil }

    /// True when the entity is shown in the message body: no `Content-Disposition`, or
    /// `inline`.
    public var isInline: Bool { disposition?.isInline ?? true }
}

/// The layout of a multipart body (RFC 2046 section 5.1.1), every piece a byte range.
public struct Multipart: Sendable {
    /// The boundary, as raw octets (without the leading `--`).
    public let boundary: [UInt8]
    /// Everything before the first delimiter (minus the line break that belongs to it).
    public let preamble: Range<Int>
    /// `delimiters[i]` opens `parts[i]`: its leading line break (when it has one),
    /// `--boundary`, any transport padding, and its own line break.
    public let delimiters: [Range<Int>]
    public let parts: [MIMEEntity]
    /// The `--boundary--` line with its leading and trailing line breaks; nil when the
    /// body ends without one (the last part then runs to the end).
    public let closeDelimiter: Range<Int>?
    /// Everything after the close delimiter line; empty when there is none.
    public let epilogue: Range<Int>

    public init(
        boundary: [UInt8], preamble: Range<Int>, delimiters: [Range<Int>], parts: [MIMEEntity],
        closeDelimiter: Range<Int>?, epilogue: Range<Int>
    ) {
        self.boundary = boundary
        self.preamble = preamble
        self.delimiters = delimiters
        self.parts = parts
        self.closeDelimiter = closeDelimiter
        self.epilogue = epilogue
    }
}
