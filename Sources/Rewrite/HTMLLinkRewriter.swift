/// What the HTML rewriter should do to one `text/html` part.
public struct HTMLRewriteOptions: Sendable {
    /// Where tracking links live, e.g. `https://t.example.com/`. Links already on it are left
    /// alone, and a part already holding `<trackingBase>o/` (outside a link being wrapped)
    /// gets no pixel, so rewriting twice changes nothing.
    public var trackingBase: [UInt8]
    /// Wrap eligible links (false: opens only).
    public var wrapLinks: Bool
    /// The pixel inserted before the last `</body>`; nil for none.
    public var pixelURL: [UInt8]?
    /// An optional second pixel inserted right after the first `<body …>` tag, so an open
    /// is seen even when a client stops loading a long message early; nil for none.
    public var topPixelURL: [UInt8]?

    public init(trackingBase: [UInt8], wrapLinks: Bool = true, pixelURL: [UInt8]? = nil, topPixelURL: [UInt8]? = nil) {
        self.trackingBase = trackingBase
        self.wrapLinks = wrapLinks
        self.pixelURL = pixelURL
        self.topPixelURL = topPixelURL
    }
}

/// The rewritten part and what was done to it.
public struct HTMLRewriteResult: Equatable, Sendable {
    /// The new part body; the input itself when nothing changed.
    public var bytes: [UInt8]
    /// Links replaced by a tracking URL.
    public var linksWrapped: Int
    /// Link elements whose opt-out attribute was honoured (and removed).
    public var linksOptedOut: Int
    /// The closing pixel was inserted.
    public var pixelInserted: Bool
    /// The top pixel was inserted.
    public var topPixelInserted: Bool
}

/// Wraps the links of an HTML part and inserts the open pixel, in one forward pass over
/// the bytes that changes nothing else.
///
/// The pass tokenizes just enough HTML to be right where it matters: tags and their
/// attributes as the WHATWG tokenizer splits them, comments, `<![CDATA[…]]>`, and the raw
/// text of `script`, `style`, `textarea`, `title`, `xmp`, `iframe`, `noembed`, `noframes`
/// and `plaintext`, none of which hold links. Rewritten are the `href` of `<a>` and
/// `<area>` and, inside Outlook conditional comments (`<!--[if …]> … <![endif]-->`), also
/// of VML elements (`<v:roundrect href=…>`). The first `href` of an element counts, as in
/// browsers. Every other byte is copied verbatim: no case folding, no re-quoting.
///
/// A wrapped `href` keeps its quote character; an unquoted one stays unquoted unless the
/// tracking URL holds a byte that would end an unquoted value (then it is double-quoted).
/// An element carrying `data-mailtrail="off"` or SendGrid's `clicktracking=off` (any case,
/// any quoting) is not wrapped, and that attribute is removed together with the whitespace
/// before it. A tag, comment or raw-text element that the input ends inside is left as is.
///
/// The pixel (see `TrackingPixel`) goes right before the last `</body>` outside comments
/// and raw text; without one, at the end of the part — or, when the part ends inside an
/// unterminated tag, comment or raw-text element, right before it, where it still renders.
public enum HTMLLinkRewriter {
    public static func rewrite(_ html: [UInt8], options: HTMLRewriteOptions, wrap: LinkWrapper) -> HTMLRewriteResult {
        var pass = DocumentPass(
            eligibility: LinkEligibility(trackingBase: options.trackingBase),
            wrapLinks: options.wrapLinks)
        html.withUnsafeBufferPointer { buffer in
            pass.scan(buffer, range: 0..<buffer.count, inConditionalComment: false, wrap: wrap)
        }

        var pixelInserted = false
        var topPixelInserted = false
        if options.pixelURL != nil || options.topPixelURL != nil,
           !TrackingPixel.isPresent(in: html, trackingBase: options.trackingBase, keptBy: pass.edits) {
            if let url = options.topPixelURL, let at = pass.firstBodyTagEnd {
                pass.insert(TrackingPixel.markup(url: url), at: at)
                topPixelInserted = true
            }
            if let url = options.pixelURL {
                let at = pass.lastBodyCloseStart ?? pass.unterminatedStart ?? html.count
                pass.insert(TrackingPixel.markup(url: url), at: at)
                pixelInserted = true
            }
        }
        return HTMLRewriteResult(
            bytes: ByteEdit.apply(pass.edits, to: html),
            linksWrapped: pass.linksWrapped,
            linksOptedOut: pass.linksOptedOut,
            pixelInserted: pixelInserted,
            topPixelInserted: topPixelInserted)
    }
}

/// The state of one rewrite: the edits found so far and the landmarks for the pixels.
private struct DocumentPass {
    let eligibility: LinkEligibility
    let wrapLinks: Bool
    var edits: [ByteEdit] = []
    var linksWrapped = 0
    var linksOptedOut = 0
    /// Index just after the first top-level `<body …>` tag.
    var firstBodyTagEnd: Int?
    /// Index of the `<` of the last top-level `</body>`.
    var lastBodyCloseStart: Int?
    /// Start of the tag, comment or raw-text element the input ends inside, if any.
    var unterminatedStart: Int?

    init(eligibility: LinkEligibility, wrapLinks: Bool) {
        self.eligibility = eligibility
        self.wrapLinks = wrapLinks
    }

    /// Inserts `bytes` at `index`, after any edit already starting there.
    mutating func insert(_ bytes: [UInt8], at index: Int) {
        var lo = 0
        var hi = edits.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if edits[mid].range.lowerBound <= index { lo = mid + 1 } else { hi = mid }
        }
        edits.insert(ByteEdit(range: index..<index, replacement: bytes), at: lo)
    }

    /// Scans `range` of `buffer` as HTML content. A conditional comment's content is
    /// scanned with `inConditionalComment`, which also admits VML links and keeps its
    /// `<body>` tags and its end out of the pixel landmarks.
    mutating func scan(
        _ buffer: UnsafeBufferPointer<UInt8>, range: Range<Int>, inConditionalComment: Bool, wrap: LinkWrapper
    ) {
        let limit = range.upperBound
        var i = range.lowerBound
        while let open = buffer.firstIndex(of: ASCII.lessThan, from: i, to: limit) {
            let next: Int?
            let n = open + 1
            guard n < limit else { break }  // a lone '<' at the end is text
            let c = buffer[n]
            if ASCII.isAlpha(c) {
                next = startTag(buffer, at: open, limit: limit, inConditionalComment: inConditionalComment, wrap: wrap)
            } else if c == ASCII.slash {
                next = endTag(buffer, at: open, limit: limit, topLevel: !inConditionalComment)
            } else if c == ASCII.bang {
                next = markupDeclaration(buffer, at: open, limit: limit, wrap: wrap)
            } else if c == ASCII.question {
                next = buffer.firstIndex(of: ASCII.greaterThan, from: n, to: limit).map { $0 + 1 }
            } else {
                next = n  // '<' not starting markup is text
            }
            guard let next else {
                if !inConditionalComment { unterminatedStart = open }
                return
            }
            i = next
        }
    }

    // MARK: Tags

    /// Handles the start tag at `open`; returns where scanning resumes, nil when the input
    /// ends inside the tag or inside the raw text it opens.
    private mutating func startTag(
        _ buffer: UnsafeBufferPointer<UInt8>, at open: Int, limit: Int, inConditionalComment: Bool, wrap: LinkWrapper
    ) -> Int? {
        var tag = HTMLTagScanner(buffer: buffer, nameStart: open + 1, limit: limit)
        let name = UnsafeBufferPointer(rebasing: buffer[(open + 1)..<tag.nameEnd])
        switch TagKind(name, inConditionalComment: inConditionalComment) {
        case .link:
            return linkTag(buffer, &tag, wrap: wrap)
        case .body:
            guard let end = tag.skipToEnd() else { return nil }
            if !inConditionalComment, firstBodyTagEnd == nil { firstBodyTagEnd = end }
            return end
        case .rawText(let lowerName):
            guard let end = tag.skipToEnd() else { return nil }
            return Self.rawTextEnd(buffer, lowerName: lowerName, from: end, limit: limit)
        case .plaintext:
            return nil  // everything after `<plaintext>` is text
        case .other:
            return tag.skipToEnd()
        }
    }

    /// Handles `</…` at `open`; returns where scanning resumes, nil when the input ends first.
    private mutating func endTag(_ buffer: UnsafeBufferPointer<UInt8>, at open: Int, limit: Int, topLevel: Bool) -> Int? {
        let nameStart = open + 2
        guard nameStart < limit else { return nil }
        let c = buffer[nameStart]
        if c == ASCII.greaterThan { return nameStart + 1 }  // `</>` is dropped by browsers
        guard ASCII.isAlpha(c) else {
            // `</3 …>` is a bogus comment up to the next '>'.
            return buffer.firstIndex(of: ASCII.greaterThan, from: nameStart, to: limit).map { $0 + 1 }
        }
        var tag = HTMLTagScanner(buffer: buffer, nameStart: nameStart, limit: limit)
        guard let end = tag.skipToEnd() else { return nil }
        if topLevel, ASCII.equalsIgnoringCase(UnsafeBufferPointer(rebasing: buffer[nameStart..<tag.nameEnd]), Self.body) {
            lastBodyCloseStart = open
        }
        return end
    }

    /// Handles `<a>`, `<area>` or a VML element: records its opt-out or its wrapped `href`.
    private mutating func linkTag(
        _ buffer: UnsafeBufferPointer<UInt8>, _ tag: inout HTMLTagScanner, wrap: LinkWrapper
    ) -> Int? {
        var href: HTMLAttribute?
        var optOuts: [HTMLAttribute] = []
        while let attribute = tag.next() {
            let name = UnsafeBufferPointer(rebasing: buffer[attribute.name])
            if ASCII.equalsIgnoringCase(name, Self.href) {
                if href == nil { href = attribute }
            } else if Self.isOptOut(buffer, attribute) {
                optOuts.append(attribute)
            }
        }
        guard let end = tag.tagEnd else { return nil }

        if !optOuts.isEmpty {
            linksOptedOut += 1
            for attribute in optOuts {
                // Keep one separator when something other than '>' follows directly
                // (`title=x clicktracking="off"/>` must not become `title=x/>`); a CRLF is
                // one separator, never split into a bare CR.
                var start = attribute.start
                if start < attribute.name.lowerBound, attribute.end < end - 1 {
                    let following = buffer[attribute.end]
                    if !ASCII.isSpace(following), following != ASCII.greaterThan {
                        let isCRLF = buffer[start] == ASCII.cr && start + 1 < attribute.name.lowerBound
                            && buffer[start + 1] == ASCII.lf
                        start += isCRLF ? 2 : 1
                    }
                }
                edits.append(ByteEdit(range: start..<attribute.end, replacement: []))
            }
        } else if wrapLinks, let href, let edit = wrappedHref(buffer, href, wrap: wrap) {
            edits.append(edit)
            linksWrapped += 1
        }
        return end
    }

    /// The edit replacing `href`'s value by its tracking URL, or nil to leave it alone.
    private func wrappedHref(_ buffer: UnsafeBufferPointer<UInt8>, _ href: HTMLAttribute, wrap: LinkWrapper) -> ByteEdit? {
        guard !href.value.isEmpty,
              let decoded = HTMLEntities.decodeAttributeValue(buffer[href.value]) else { return nil }
        let destination = LinkEligibility.browserNormalized(decoded)
        guard eligibility.shouldWrap(destination), let trackingURL = wrap(destination) else { return nil }

        let escaped = HTMLEntities.escapeAttributeValue(trackingURL)
        if href.quote != 0 || (!escaped.isEmpty && !escaped.contains(where: Self.endsUnquotedValue)) {
            return ByteEdit(range: href.value, replacement: escaped)
        }
        var quoted: [UInt8] = [ASCII.quote]
        quoted.append(contentsOf: escaped)
        quoted.append(ASCII.quote)
        return ByteEdit(range: href.value, replacement: quoted)
    }

    /// `data-mailtrail=off` or `clicktracking=off`, names and value in any case and quoting.
    private static func isOptOut(_ buffer: UnsafeBufferPointer<UInt8>, _ attribute: HTMLAttribute) -> Bool {
        let name = UnsafeBufferPointer(rebasing: buffer[attribute.name])
        guard ASCII.equalsIgnoringCase(name, dataMailTrail) || ASCII.equalsIgnoringCase(name, clickTracking) else { return false }
        return ASCII.equalsIgnoringCase(UnsafeBufferPointer(rebasing: buffer[attribute.value]), off)
    }

    /// Bytes that cannot appear in an unquoted attribute value.
    private static func endsUnquotedValue(_ b: UInt8) -> Bool {
        ASCII.isSpace(b) || b == ASCII.quote || b == ASCII.apostrophe || b == ASCII.equals
            || b == ASCII.lessThan || b == ASCII.greaterThan || b == UInt8(ascii: "`")
    }

    // MARK: Comments, CDATA, raw text

    /// Handles `<!…` at `open`: comments (scanning conditional ones), CDATA, doctype and
    /// other bogus comments. Returns where scanning resumes, nil when the input ends first.
    private mutating func markupDeclaration(
        _ buffer: UnsafeBufferPointer<UInt8>, at open: Int, limit: Int, wrap: LinkWrapper
    ) -> Int? {
        if open + 4 <= limit, buffer[open + 2] == ASCII.hyphen, buffer[open + 3] == ASCII.hyphen {
            guard let (contentEnd, end) = Self.commentEnd(buffer, from: open + 4, limit: limit) else { return nil }
            if let inner = Self.conditionalContent(buffer, open + 4..<contentEnd) {
                scan(buffer, range: inner, inConditionalComment: true, wrap: wrap)
            }
            return end
        }
        let cdataEnd = open + Self.cdataOpen.count
        if cdataEnd <= limit, buffer[open..<cdataEnd].elementsEqual(Self.cdataOpen) {
            return buffer.firstIndex(of: Self.cdataClose, from: cdataEnd, to: limit).map { $0 + Self.cdataClose.count }
        }
        return buffer.firstIndex(of: ASCII.greaterThan, from: open + 2, to: limit).map { $0 + 1 }
    }

    /// For a comment whose content starts at `from`: the end of its content and the index
    /// after its closing `-->` (also `--!>`, and the abrupt `<!-->` and `<!--->`).
    private static func commentEnd(_ buffer: UnsafeBufferPointer<UInt8>, from: Int, limit: Int) -> (Int, Int)? {
        if from < limit, buffer[from] == ASCII.greaterThan { return (from, from + 1) }
        if from + 1 < limit, buffer[from] == ASCII.hyphen, buffer[from + 1] == ASCII.greaterThan {
            return (from, from + 2)
        }
        var i = from
        while let dash = buffer.firstIndex(of: ASCII.hyphen, from: i, to: limit - 2) {
            if buffer[dash + 1] == ASCII.hyphen {
                let after = buffer[dash + 2]
                if after == ASCII.greaterThan { return (dash, dash + 3) }
                if after == ASCII.bang, dash + 3 < limit, buffer[dash + 3] == ASCII.greaterThan {
                    return (dash, dash + 4)
                }
            }
            i = dash + 1
        }
        return nil
    }

    /// The markup inside a conditional comment's content `[if …]> … <![endif]`: what
    /// follows the `]>` of the condition, or nil when the comment is not conditional.
    private static func conditionalContent(_ buffer: UnsafeBufferPointer<UInt8>, _ content: Range<Int>) -> Range<Int>? {
        var i = content.lowerBound
        while i < content.upperBound, ASCII.isSpace(buffer[i]) { i += 1 }
        guard ASCII.hasPrefixIgnoringCase(UnsafeBufferPointer(rebasing: buffer[i..<content.upperBound]),
                                          at: 0, conditionalOpen),
              let close = buffer.firstIndex(of: conditionClose, from: i + conditionalOpen.count, to: content.upperBound)
        else { return nil }
        return (close + conditionClose.count)..<content.upperBound
    }

    /// Where the raw text opened by an element named `lowerName` ends: the `<` of its end
    /// tag (`</name` then whitespace, `/` or `>`), nil when the input ends first.
    private static func rawTextEnd(_ buffer: UnsafeBufferPointer<UInt8>, lowerName: [UInt8], from: Int, limit: Int) -> Int? {
        var i = from
        while let open = buffer.firstIndex(of: ASCII.lessThan, from: i, to: limit) {
            let nameStart = open + 2
            let after = nameStart + lowerName.count
            if after < limit, buffer[open + 1] == ASCII.slash,
               ASCII.hasPrefixIgnoringCase(buffer, at: nameStart, lowerName) {
                let b = buffer[after]
                if ASCII.isSpace(b) || b == ASCII.slash || b == ASCII.greaterThan { return open }
            }
            i = open + 1
        }
        return nil
    }

    // MARK: Names

    static let href: [UInt8] = Array("href".utf8)
    static let body: [UInt8] = Array("body".utf8)
    static let off: [UInt8] = Array("off".utf8)
    static let dataMailTrail: [UInt8] = Array("data-mailtrail".utf8)
    static let clickTracking: [UInt8] = Array("clicktracking".utf8)
    static let cdataOpen: [UInt8] = Array("<![CDATA[".utf8)
    static let cdataClose: [UInt8] = Array("]]>".utf8)
    static let conditionalOpen: [UInt8] = Array("[if".utf8)
    static let conditionClose: [UInt8] = Array("]>".utf8)
}

/// What a start tag's name means to the rewriter.
private enum TagKind {
    case link
    case body
    /// Its content is text up to the matching end tag (name given lower-case).
    case rawText([UInt8])
    case plaintext
    case other

    init(_ name: UnsafeBufferPointer<UInt8>, inConditionalComment: Bool) {
        switch name.count {
        case 1:
            self = ASCII.lower(name[0]) == UInt8(ascii: "a") ? .link : .other
            return
        case 4:
            if ASCII.equalsIgnoringCase(name, Self.area) { self = .link; return }
            if ASCII.equalsIgnoringCase(name, Self.bodyName) { self = .body; return }
        case 9:
            if ASCII.equalsIgnoringCase(name, Self.plaintextName) { self = .plaintext; return }
        default:
            break
        }
        if inConditionalComment, name.count > 2, ASCII.lower(name[0]) == UInt8(ascii: "v"), name[1] == ASCII.colon {
            self = .link
            return
        }
        for raw in Self.rawTextNames where ASCII.equalsIgnoringCase(name, raw) {
            self = .rawText(raw)
            return
        }
        self = .other
    }

    private static let area: [UInt8] = Array("area".utf8)
    private static let bodyName: [UInt8] = Array("body".utf8)
    private static let plaintextName: [UInt8] = Array("plaintext".utf8)
    private static let rawTextNames: [[UInt8]] = [
        "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
    ].map { Array($0.utf8) }
}
