/// A parsed `Content-Disposition` (RFC 2183): whether a part is shown in the message
/// (inline) or offered as a file (attachment).
public struct ContentDisposition: Sendable, Equatable {
    /// The disposition type, lower-cased (`inline`, `attachment`, or anything else).
    public let type: String
    public let parameters: MIMEParameters

    public init(type: String, parameters: MIMEParameters = MIMEParameters()) {
        self.type = type.lowercased()
        self.parameters = parameters
    }

    /// Parses a header value; nil when it names no disposition type (empty, or only
    /// parameters), which is treated like an absent field.
    public init?<C: Collection>(parsing value: C) where C.Element == UInt8 {
        let bytes = HeaderValueSyntax.removingComments(value.filter { $0 != ASCII.cr && $0 != ASCII.lf })
        let end = HeaderValueSyntax.nextSemicolon(bytes, from: 0)
        let lead = HeaderValueSyntax.trimmed(bytes, 0..<end)
        var tokenEnd = lead.lowerBound
        while tokenEnd < lead.upperBound && HeaderValueSyntax.isTokenCharacter(bytes[tokenEnd]) { tokenEnd += 1 }
        guard tokenEnd > lead.lowerBound else { return nil }
        self.type = HeaderValueSyntax.lowercasedString(bytes[lead.lowerBound..<tokenEnd])
        self.parameters = MIMEParameters.parse(bytes, from: end)
    }

    /// The first `Content-Disposition` field of `header`, parsed.
    public static func of(_ header: HeaderBlock) -> ContentDisposition? {
        header.first(named: "Content-Disposition").flatMap { ContentDisposition(parsing: header.rawValue(of: $0)) }
    }

    /// True only for `inline`: RFC 2183 says an unrecognised type is to be treated as
    /// `attachment`.
    public var isInline: Bool { type == "inline" }

    /// The `filename` parameter (RFC 2231 forms decoded), raw octets.
    public var filename: [UInt8]? { parameters["filename"] }
}
