/// A parsed `Content-Type` (RFC 2045 section 5): media type and subtype lower-cased,
/// parameters as raw octets.
///
/// Parsing tolerates comments, whitespace around `/`, `;` and `=`, quoted strings, RFC
/// 2231 parameters, and a missing `;` before the first parameter (what follows the subtype
/// is then ignored up to the next `;`).
public struct ContentType: Sendable, Equatable {
    public let type: String
    public let subtype: String
    public let parameters: MIMEParameters

    public init(type: String, subtype: String, parameters: MIMEParameters = MIMEParameters()) {
        self.type = type.lowercased()
        self.subtype = subtype.lowercased()
        self.parameters = parameters
    }

    /// Parses a header value (raw or unfolded); nil when it has no `type/subtype`.
    public init?<C: Collection>(parsing value: C) where C.Element == UInt8 {
        let bytes = HeaderValueSyntax.removingComments(value.filter { $0 != ASCII.cr && $0 != ASCII.lf })
        let end = HeaderValueSyntax.nextSemicolon(bytes, from: 0)
        let lead = HeaderValueSyntax.trimmed(bytes, 0..<end)
        guard let slash = bytes[lead].firstIndex(of: ASCII.slash) else { return nil }
        let typeRange = HeaderValueSyntax.trimmed(bytes, lead.lowerBound..<slash)
        var subStart = slash + 1
        while subStart < lead.upperBound && ASCII.isSpace(bytes[subStart]) { subStart += 1 }
        var subEnd = subStart
        while subEnd < lead.upperBound && HeaderValueSyntax.isTokenCharacter(bytes[subEnd]) { subEnd += 1 }
        guard !typeRange.isEmpty, subEnd > subStart,
              bytes[typeRange].allSatisfy(HeaderValueSyntax.isTokenCharacter) else { return nil }
        self.type = HeaderValueSyntax.lowercasedString(bytes[typeRange])
        self.subtype = HeaderValueSyntax.lowercasedString(bytes[subStart..<subEnd])
        self.parameters = MIMEParameters.parse(bytes, from: end)
    }

    /// The content type a header section declares, with RFC 2045's defaults:
    /// `defaultType` when there is no `Content-Type` field (`text/plain; charset=us-ascii`,
    /// or `message/rfc822` inside `multipart/digest`), and `application/octet-stream`
    /// when the field is present but unparseable. RFC 2045 would say `text/plain` there
    /// too; octet-stream is chosen so that a part nobody can identify is never rewritten.
    public static func of(_ header: HeaderBlock, default defaultType: ContentType = .textPlain) -> ContentType {
        guard let field = header.first(named: "Content-Type") else { return defaultType }
        return ContentType(parsing: header.rawValue(of: field)) ?? .octetStream
    }

    /// `text/plain; charset=us-ascii`, the RFC 2045 default.
    public static let textPlain = ContentType(
        type: "text", subtype: "plain",
        parameters: MIMEParameters([.init(name: "charset", value: Array("us-ascii".utf8))]))

    /// `message/rfc822`, the default inside `multipart/digest`.
    public static let messageRFC822 = ContentType(type: "message", subtype: "rfc822")

    /// `application/octet-stream`: opaque data.
    public static let octetStream = ContentType(type: "application", subtype: "octet-stream")

    /// `type/subtype`.
    public var mimeType: String { type + "/" + subtype }

    public var isMultipart: Bool { type == "multipart" }

    /// The `boundary` parameter, when present and non-empty.
    public var boundary: [UInt8]? {
        guard let b = parameters["boundary"], !b.isEmpty else { return nil }
        return b
    }

    /// The `charset` parameter, lower-cased.
    public var charset: String? { parameters.string("charset")?.lowercased() }
}
