/// Where one attribute of a tag lies in the scanned buffer.
struct HTMLAttribute {
    /// Start of the whitespace before the name (equal to `name.lowerBound` when there is none):
    /// removing `start..<end` removes the attribute without leaving a double space.
    var start: Int
    var name: Range<Int>
    /// The value without its quotes; an empty range at the end of the attribute when it has none.
    var value: Range<Int>
    /// `"` or `'`; 0 for an unquoted or missing value.
    var quote: UInt8
    /// Index just after the attribute (after its closing quote, if any).
    var end: Int
}

/// Walks the attributes of one start or end tag exactly as the WHATWG tokenizer splits
/// them, so a `>` inside a quoted value, a `'` inside a name, `/` between attributes or a
/// missing space after a quoted value are all handled as a browser would.
///
/// Works on a borrowed buffer: only use it inside the `withUnsafeBufferPointer` that made it.
struct HTMLTagScanner {
    private let buffer: UnsafeBufferPointer<UInt8>
    private let limit: Int
    private var position: Int
    /// End of the tag name (the name starts just after `<` or `</`).
    let nameEnd: Int
    /// Once `next()` returned nil: the index just after the closing `>`, or nil when the
    /// input ended inside the tag (a truncated tag, which must be left untouched).
    private(set) var tagEnd: Int?

    /// - Parameters:
    ///   - nameStart: index of the tag name's first byte.
    ///   - limit: where the input (or the enclosing region) ends.
    init(buffer: UnsafeBufferPointer<UInt8>, nameStart: Int, limit: Int) {
        self.buffer = buffer
        self.limit = limit
        var i = nameStart
        while i < limit {
            let b = buffer[i]
            if ASCII.isSpace(b) || b == ASCII.slash || b == ASCII.greaterThan { break }
            i += 1
        }
        nameEnd = i
        position = i
    }

    /// The next attribute, or nil at the end of the tag (see `tagEnd`).
    mutating func next() -> HTMLAttribute? {
        let gapStart = position
        // Before attribute name: whitespace and stray '/' separate attributes.
        while position < limit {
            let b = buffer[position]
            guard ASCII.isSpace(b) || b == ASCII.slash else { break }
            position += 1
        }
        guard position < limit else { return truncated() }
        if buffer[position] == ASCII.greaterThan {
            tagEnd = position + 1
            return nil
        }
        // Attribute name: the first byte may be anything, even '='.
        let nameStart = position
        position += 1
        while position < limit {
            let b = buffer[position]
            if ASCII.isSpace(b) || b == ASCII.slash || b == ASCII.greaterThan || b == ASCII.equals { break }
            position += 1
        }
        let name = nameStart..<position
        var start = nameStart
        while start > gapStart, ASCII.isSpace(buffer[start - 1]) { start -= 1 }

        // After attribute name: only '=' (after optional whitespace) introduces a value.
        var p = position
        while p < limit, ASCII.isSpace(buffer[p]) { p += 1 }
        guard p < limit else { return truncated() }
        guard buffer[p] == ASCII.equals else {
            return HTMLAttribute(start: start, name: name, value: position..<position, quote: 0, end: position)
        }
        p += 1
        while p < limit, ASCII.isSpace(buffer[p]) { p += 1 }
        guard p < limit else { return truncated() }

        let q = buffer[p]
        if q == ASCII.quote || q == ASCII.apostrophe {
            guard let close = buffer.firstIndex(of: q, from: p + 1, to: limit) else { return truncated() }
            position = close + 1
            return HTMLAttribute(start: start, name: name, value: (p + 1)..<close, quote: q, end: position)
        }
        if q == ASCII.greaterThan {
            // `name=>`: an empty value, and the '>' closes the tag on the next call.
            position = p
            return HTMLAttribute(start: start, name: name, value: p..<p, quote: 0, end: p)
        }
        var valueEnd = p
        while valueEnd < limit {
            let b = buffer[valueEnd]
            if ASCII.isSpace(b) || b == ASCII.greaterThan { break }
            valueEnd += 1
        }
        guard valueEnd < limit else { return truncated() }
        position = valueEnd
        return HTMLAttribute(start: start, name: name, value: p..<valueEnd, quote: 0, end: valueEnd)
    }

    /// Consumes the remaining attributes; returns `tagEnd` (nil for a truncated tag).
    mutating func skipToEnd() -> Int? {
        while let _ = next() {}
        return tagEnd
    }

    private mutating func truncated() -> HTMLAttribute? {
        position = limit
        tagEnd = nil
        return nil
    }
}
