/// The rewritten text part and what was done to it.
public struct TextRewriteResult: Equatable, Sendable {
    /// The new part body; the input itself when nothing changed.
    public var bytes: [UInt8]
    /// URLs replaced by a tracking URL.
    public var linksWrapped: Int
}

/// Wraps the `http://` and `https://` URLs of a `text/plain` part, changing nothing else.
///
/// A URL starts at its scheme (any case; not directly after a letter or digit) and runs
/// up to whitespace, a control byte, `<`, `>` or `"`. Trailing `.,;:!?'` are sentence
/// punctuation, not part of it, and so is a trailing `)` or `]` that has no opening
/// partner inside the URL (`(see https://x.example/a)` vs `https://x.example/wiki/A_(b)`).
/// `<https://…>` keeps its brackets. Destinations that are not web URLs, still hold
/// template syntax (also `<%` right after the URL) or already point at the tracking base
/// are left alone.
///
/// Only URL bytes are ever replaced, so line breaks and trailing spaces never change; a
/// tracking URL holding whitespace or another byte that ends a URL is refused (the link
/// stays as it was). For `format=flowed` (RFC 3676) with `DelSp=no` a soft break keeps
/// its space, so no URL spans lines and the plain rules apply. With `DelSp=yes` the space
/// before a soft break is deleted when the text is reflowed, so a URL touching that space,
/// or starting a line that continues a soft-broken one without whitespace in between, may
/// be a piece of a longer URL: it is left alone.
public enum TextLinkRewriter {
    public static func rewrite(
        _ text: [UInt8], flowed: Bool, delSp: Bool, trackingBase: [UInt8], wrap: LinkWrapper
    ) -> TextRewriteResult {
        let eligibility = LinkEligibility(trackingBase: trackingBase)
        let joinsLines = flowed && delSp
        var edits: [ByteEdit] = []
        text.withUnsafeBufferPointer { buffer in
            let count = buffer.count
            var floor = 0  // nothing before this index can start a URL
            var i = 0
            while let colon = buffer.firstIndex(of: ASCII.colon, from: i, to: count) {
                i = colon + 1
                guard let start = schemeStart(buffer, colon: colon, floor: floor),
                      colon + 2 < count, buffer[colon + 1] == ASCII.slash, buffer[colon + 2] == ASCII.slash
                else { continue }
                var runEnd = colon + 3
                while runEnd < count, !endsURL(buffer[runEnd]) { runEnd += 1 }
                floor = runEnd
                i = runEnd

                let end = trimmedEnd(buffer, start: start, hostStart: colon + 3, runEnd: runEnd)
                let url = buffer[start..<end]
                guard eligibility.shouldWrap(url),
                      !(runEnd + 1 < count && buffer[runEnd] == ASCII.lessThan && buffer[runEnd + 1] == percent),
                      !(joinsLines && touchesSoftBreak(buffer, start: start, runEnd: runEnd)),
                      let trackingURL = wrap(Array(url)),
                      !trackingURL.isEmpty, !trackingURL.contains(where: endsURL)
                else { continue }
                edits.append(ByteEdit(range: start..<end, replacement: trackingURL))
            }
        }
        return TextRewriteResult(bytes: ByteEdit.apply(edits, to: text), linksWrapped: edits.count)
    }

    /// Start of `http` or `https` ending just before `colon`, when it is not glued to a
    /// preceding letter or digit and does not reach back before `floor`.
    private static func schemeStart(_ buffer: UnsafeBufferPointer<UInt8>, colon: Int, floor: Int) -> Int? {
        let start: Int
        if colon - 5 >= floor, ASCII.hasPrefixIgnoringCase(buffer, at: colon - 5, https) {
            start = colon - 5
        } else if colon - 4 >= floor, ASCII.hasPrefixIgnoringCase(buffer, at: colon - 4, http) {
            start = colon - 4
        } else {
            return nil
        }
        if start > 0 {
            let before = buffer[start - 1]
            if ASCII.isAlpha(before) || ASCII.isDigit(before) { return nil }
        }
        return start
    }

    /// Bytes a URL in text cannot contain: whitespace, controls, `<`, `>`, `"`.
    @inline(__always)
    private static func endsURL(_ b: UInt8) -> Bool {
        b <= ASCII.space || b == 0x7F || b == ASCII.lessThan || b == ASCII.greaterThan || b == ASCII.quote
    }

    /// End of the URL in `start..<runEnd` once trailing punctuation and unbalanced closing
    /// brackets are dropped (never before `hostStart`).
    private static func trimmedEnd(_ buffer: UnsafeBufferPointer<UInt8>, start: Int, hostStart: Int, runEnd: Int) -> Int {
        var parens = 0    // '(' minus ')'
        var brackets = 0  // '[' minus ']'
        for j in start..<runEnd {
            switch buffer[j] {
            case ASCII.leftParen: parens += 1
            case ASCII.rightParen: parens -= 1
            case ASCII.leftBracket: brackets += 1
            case ASCII.rightBracket: brackets -= 1
            default: break
            }
        }
        var end = runEnd
        while end > hostStart {
            let b = buffer[end - 1]
            if b == ASCII.period || b == ASCII.comma || b == ASCII.semicolon || b == ASCII.colon
                || b == ASCII.bang || b == ASCII.question || b == ASCII.apostrophe {
                end -= 1
            } else if b == ASCII.rightParen, parens < 0 {
                parens += 1
                end -= 1
            } else if b == ASCII.rightBracket, brackets < 0 {
                brackets += 1
                end -= 1
            } else {
                break
            }
        }
        return end
    }

    /// For `format=flowed; delsp=yes`: true when the URL run `start..<runEnd` may continue
    /// onto the next line or from the previous one across a soft line break.
    private static func touchesSoftBreak(_ buffer: UnsafeBufferPointer<UInt8>, start: Int, runEnd: Int) -> Bool {
        // Followed by the single space of a soft break, then the line break.
        if runEnd < buffer.count, buffer[runEnd] == ASCII.space, lineBreakStarts(buffer, at: runEnd + 1) {
            return true
        }
        // Starts the content of a line (after quote marks and space-stuffing)...
        var lineStart = start
        while lineStart > 0, buffer[lineStart - 1] != ASCII.lf { lineStart -= 1 }
        var content = lineStart
        while content < start, buffer[content] == ASCII.greaterThan { content += 1 }
        if content < start, buffer[content] == ASCII.space { content += 1 }
        guard content == start, lineStart > 0 else { return false }
        // ...right after a soft-broken line whose deleted space follows a non-space.
        var previousEnd = lineStart - 1  // the LF
        if previousEnd > 0, buffer[previousEnd - 1] == ASCII.cr { previousEnd -= 1 }
        guard previousEnd > 0, buffer[previousEnd - 1] == ASCII.space else { return false }
        var previousStart = previousEnd
        while previousStart > 0, buffer[previousStart - 1] != ASCII.lf { previousStart -= 1 }
        let previous = UnsafeBufferPointer(rebasing: buffer[previousStart..<previousEnd])
        if previous.elementsEqual(signatureSeparator) { return false }  // "-- " is a hard break
        return previous.count < 2 || !ASCII.isSpace(previous[previous.count - 2])
    }

    private static func lineBreakStarts(_ buffer: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        guard index < buffer.count else { return false }
        if buffer[index] == ASCII.lf { return true }
        return buffer[index] == ASCII.cr && index + 1 < buffer.count && buffer[index + 1] == ASCII.lf
    }

    private static let http: [UInt8] = Array("http".utf8)
    private static let https: [UInt8] = Array("https".utf8)
    private static let signatureSeparator: [UInt8] = Array("-- ".utf8)
    private static let percent = UInt8(ascii: "%")
}
