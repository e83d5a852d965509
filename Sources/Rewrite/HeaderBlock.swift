/// A header section read in place: the fields of a message or MIME part located by byte
/// ranges in the buffer that holds them.
///
/// Nothing is re-serialized. Lookups compare names without case; edits
/// (`applying(_:)`) copy every untouched byte verbatim, folding and order included.
/// Lines in the section that are not fields (no colon, a name with spaces, a continuation
/// with nothing before it) are not listed but are kept like any other byte.
public struct HeaderBlock: Sendable {
    /// The buffer the ranges point into (shared, not copied).
    public let bytes: [UInt8]
    /// The header section: from its first byte to the end of its last line, line break
    /// included; the empty line that ends it is not part of it.
    public let range: Range<Int>
    /// Where the body starts: just after the empty line ending the section, or
    /// `range.upperBound` when the section runs to the end of the input.
    public let bodyStart: Int
    /// The fields, in order.
    public let fields: [HeaderField]
    /// The line ending the section uses (CRLF when it has no line break).
    public let lineEnding: LineEnding

    /// Reads the header section at the start of `bytes[range]` (the whole buffer by
    /// default): it ends at the first empty line (CRLF or bare LF); without one, every
    /// line is header and the body is empty.
    public init(parsing bytes: [UInt8], in range: Range<Int>? = nil) {
        let range = range ?? bytes.indices
        self.bytes = bytes
        var fields: [HeaderField] = []
        var sectionEnd = range.upperBound
        var bodyStart = range.upperBound
        bytes.withUnsafeBufferPointer { buf in
            var pos = range.lowerBound
            var open: (start: Int, name: Range<Int>, value: Int)? = nil
            var openEnd = 0, openValueEnd = 0
            func close() {
                if let o = open {
                    fields.append(HeaderField(range: o.start..<openEnd, nameRange: o.name, valueRange: o.value..<openValueEnd))
                }
                open = nil
            }
            while pos < range.upperBound {
                var lf = pos
                while lf < range.upperBound && buf[lf] != ASCII.lf { lf += 1 }
                let next = lf < range.upperBound ? lf + 1 : lf
                let contentEnd = lf < range.upperBound && lf > pos && buf[lf - 1] == ASCII.cr ? lf - 1 : lf
                if contentEnd == pos && lf < range.upperBound {
                    // The empty line: end of the section.
                    sectionEnd = pos
                    bodyStart = next
                    break
                }
                let first = buf[pos]
                if first == ASCII.space || first == ASCII.tab {
                    if open != nil {
                        openEnd = next
                        openValueEnd = contentEnd
                    }
                } else {
                    close()
                    if let field = Self.fieldStart(buf, pos, contentEnd) {
                        open = (pos, field.name, field.value)
                        openEnd = next
                        openValueEnd = contentEnd
                    }
                }
                pos = next
            }
            close()
        }
        self.range = range.lowerBound..<sectionEnd
        self.bodyStart = bodyStart
        self.fields = fields
        self.lineEnding = LineEnding.detect(in: bytes, range: range.lowerBound..<sectionEnd) ?? .crlf
    }

    /// Builds the view from the fields a milter receives (`xxfi_header`): each value as
    /// libmilter hands it over, folded lines arriving as `a\n\tb`. The fields are laid out
    /// as `name: value` lines; a space is put after the colon only when the value does not
    /// start with whitespace already (with `SMFIP_HDR_LEADSPC` it does).
    public init(milterFields: [(name: String, value: [UInt8])], lineEnding: LineEnding = .crlf) {
        var bytes: [UInt8] = []
        var fields: [HeaderField] = []
        for (name, value) in milterFields {
            let start = bytes.count
            bytes.append(contentsOf: name.utf8)
            let nameRange = start..<bytes.count
            bytes.append(ASCII.colon)
            if let lead = value.first, lead == ASCII.space || lead == ASCII.tab {} else { bytes.append(ASCII.space) }
            let valueStart = bytes.count
            bytes.append(contentsOf: value)
            let valueEnd = bytes.count
            bytes.append(contentsOf: lineEnding.bytes)
            fields.append(HeaderField(range: start..<bytes.count, nameRange: nameRange, valueRange: valueStart..<valueEnd))
        }
        self.bytes = bytes
        self.range = 0..<bytes.count
        self.bodyStart = bytes.count
        self.fields = fields
        self.lineEnding = lineEnding
    }

    /// Splits a whole message into its header section and its body (the bytes after the
    /// first empty line; empty when there is none).
    public static func split(message: [UInt8]) -> (header: HeaderBlock, body: Range<Int>) {
        let header = HeaderBlock(parsing: message)
        return (header, header.bodyStart..<message.count)
    }

    // MARK: - Lookup

    /// The name of `field` as written.
    public func name(of field: HeaderField) -> ArraySlice<UInt8> { bytes[field.nameRange] }

    /// The raw value of `field`: folding and surrounding whitespace kept.
    public func rawValue(of field: HeaderField) -> ArraySlice<UInt8> { bytes[field.valueRange] }

    /// The value of `field` unfolded (every CR and LF removed, RFC 5322 section 2.2.3) and
    /// trimmed of surrounding whitespace.
    public func unfoldedValue(of field: HeaderField) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(field.valueRange.count)
        for b in bytes[field.valueRange] where b != ASCII.cr && b != ASCII.lf { out.append(b) }
        var end = out.count
        while end > 0 && (out[end - 1] == ASCII.space || out[end - 1] == ASCII.tab) { end -= 1 }
        var start = 0
        while start < end && (out[start] == ASCII.space || out[start] == ASCII.tab) { start += 1 }
        return start == 0 && end == out.count ? out : Array(out[start..<end])
    }

    /// True when `field` is named `name` (ASCII case-insensitive).
    public func field(_ field: HeaderField, isNamed name: String) -> Bool {
        ASCII.equalsIgnoringCase(bytes[field.nameRange], Self.lowercased(name))
    }

    /// Every field named `name`, in order.
    public func fields(named name: String) -> [HeaderField] {
        let wanted = Self.lowercased(name)
        return fields.filter { ASCII.equalsIgnoringCase(bytes[$0.nameRange], wanted) }
    }

    /// The first field named `name`.
    public func first(named name: String) -> HeaderField? {
        let wanted = Self.lowercased(name)
        return fields.first { ASCII.equalsIgnoringCase(bytes[$0.nameRange], wanted) }
    }

    private static func lowercased(_ name: String) -> [UInt8] { name.utf8.map(ASCII.lower) }

    /// The unfolded, trimmed value of the first field named `name`.
    public func value(named name: String) -> [UInt8]? {
        first(named: name).map(unfoldedValue(of:))
    }

    // MARK: - Edits

    /// The header section with `edits` applied in order, as a new block over new bytes
    /// (the section only: its empty line and the body are not included).
    ///
    /// Untouched fields, junk lines and folding are copied verbatim. A replaced value keeps
    /// the field's name as written and the whitespace after its colon; an added field uses
    /// the section's line ending.
    public func applying(_ edits: [HeaderEdit]) -> HeaderBlock {
        var block = HeaderBlock(parsing: Array(bytes[range]))
        for edit in edits { block = block.applying(edit) }
        return block
    }

    private func applying(_ edit: HeaderEdit) -> HeaderBlock {
        var splicer = ByteSplicer()
        switch edit {
        case .removeAll(let name):
            for f in fields(named: name) { splicer.replace(f.range, with: []) }
        case .set(let name, let value):
            if let f = first(named: name) {
                var start = f.valueRange.lowerBound
                while start < f.valueRange.upperBound && (bytes[start] == ASCII.space || bytes[start] == ASCII.tab) {
                    start += 1
                }
                let lead: [UInt8] = start == f.valueRange.lowerBound ? [ASCII.space] : []
                splicer.replace(start..<f.valueRange.upperBound, with: lead + Array(value.utf8))
            } else {
                var added: [UInt8] = []
                if range.upperBound > range.lowerBound && bytes[range.upperBound - 1] != ASCII.lf {
                    added += lineEnding.bytes
                }
                added += Array(name.utf8) + [ASCII.colon, ASCII.space] + Array(value.utf8) + lineEnding.bytes
                splicer.replace(range.upperBound..<range.upperBound, with: added)
            }
        }
        if splicer.isEmpty { return self }
        return HeaderBlock(parsing: splicer.apply(to: bytes, in: range))
    }

    // MARK: - Scanning

    /// If the line `buf[start..<end]` begins a field, the ranges of its name and value.
    private static func fieldStart(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int)
        -> (name: Range<Int>, value: Int)?
    {
        var colon = start
        while colon < end && buf[colon] != ASCII.colon { colon += 1 }
        guard colon < end else { return nil }
        var nameEnd = colon
        while nameEnd > start && (buf[nameEnd - 1] == ASCII.space || buf[nameEnd - 1] == ASCII.tab) { nameEnd -= 1 }
        guard nameEnd > start else { return nil }
        for i in start..<nameEnd where buf[i] <= ASCII.space || buf[i] > 0x7E { return nil }
        return (start..<nameEnd, colon + 1)
    }
}
