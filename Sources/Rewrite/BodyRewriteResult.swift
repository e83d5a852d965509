/// What `MIMEBodyRewriter` did to a message body.
public struct BodyRewriteResult: Sendable {
    /// The new body; byte-identical to the input when nothing was rewritten.
    public let body: [UInt8]
    /// Changes to the top-level header section (applied by the caller, e.g. with
    /// `smfi_chgheader`): the top-level part's Content-Transfer-Encoding when its body had
    /// to become quoted-printable.
    public let topLevelHeaderEdits: [HeaderEdit]
    /// Number of parts whose content was replaced.
    public let partsRewritten: Int
    /// Text parts that were eligible but left unchanged because they could not be decoded.
    public let partsFailed: [PartFailure]

    public init(body: [UInt8], topLevelHeaderEdits: [HeaderEdit], partsRewritten: Int, partsFailed: [PartFailure]) {
        self.body = body
        self.topLevelHeaderEdits = topLevelHeaderEdits
        self.partsRewritten = partsRewritten
        self.partsFailed = partsFailed
    }

    /// True when the body and the headers are unchanged.
    public var isUnchanged: Bool { partsRewritten == 0 && topLevelHeaderEdits.isEmpty }
}

/// An inline text part the rewriter had to leave untouched, and why.
public struct PartFailure: Sendable, Equatable {
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// The base64 body does not decode (bad character, padding or truncation).
        case brokenBase64
        /// The quoted-printable body has an `=` that starts no valid escape.
        case brokenQuotedPrintable
        /// A Content-Transfer-Encoding Rewrite does not decode (`x-uuencode`, ...).
        case unsupportedTransferEncoding(String)
        /// The part's header section is not followed by an empty line, so it has no body.
        case missingBody

        public var description: String {
            switch self {
            case .brokenBase64: return "its base64 does not decode"
            case .brokenQuotedPrintable: return "its quoted-printable does not decode"
            case .unsupportedTransferEncoding(let name): return "unsupported Content-Transfer-Encoding \"\(name)\""
            case .missingBody: return "no empty line after its headers, so no body"
            }
        }
    }

    /// Child indices from the root to the part (see `TextPart.path`).
    public let path: [Int]
    public let reason: Reason

    public init(path: [Int], reason: Reason) {
        self.path = path
        self.reason = reason
    }
}
