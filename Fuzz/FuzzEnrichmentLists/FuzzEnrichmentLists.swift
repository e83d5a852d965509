import Foundation
import FuzzSupport
import Store

/// The list-valued fields of an enrichment record (`recipients`, `tags`) on arbitrary bytes.
///
/// The tracker reads them, for every message an event belongs to, with its own reader
/// instead of `JSONDecoder`: the record must hold exactly the strings `JSONDecoder` reads
/// as a `[String]` from the same bytes, and refuse the field (``EnrichmentDecodingError``)
/// exactly where `JSONDecoder` throws. The one difference is chosen: the reader takes JSON
/// as UTF-8 only (RFC 8259 §8.1), so it refuses the texts `JSONDecoder` takes for UTF-16 or
/// UTF-32. Anything the milter writes reads back unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let foundation = readsAsUTF8(bytes) ? try? JSONDecoder().decode([String].self, from: Data(bytes)) : nil

    var fields = required
    fields["recipients"] = bytes
    let recipients = Result { () throws(EnrichmentDecodingError) in try EnrichmentRecord(trackingID: id, fields: fields) }
    switch (recipients, foundation) {
    case (.success(let record), let values?):
        require(record.recipients == values, "recipients \(record.recipients) where JSONDecoder reads \(values) in \(describe(bytes))")
    case (.failure(.invalidField("recipients", _)), nil):
        break
    default:
        require(false, "recipients: \(recipients) where JSONDecoder reads \(String(describing: foundation)) in \(describe(bytes))")
    }

    fields = required
    fields["recipients"] = Array(#"["a@x.test"]"#.utf8)
    fields["tags"] = bytes
    let tags = (try? EnrichmentRecord(trackingID: id, fields: fields))?.tags
    require(tags == foundation, "tags \(String(describing: tags)) where JSONDecoder reads \(String(describing: foundation)) in \(describe(bytes))")

    // What the milter writes from the strings read reads back as the same strings.
    if let values = foundation {
        let record = EnrichmentRecord(trackingID: id, sender: "s@x.test", recipients: values, tags: values, sentAt: 1, linksWrapped: 0)
        var written: [String: [UInt8]] = [:]
        for (field, value) in record.fields { written[field.rawValue] = value }
        let read = try? EnrichmentRecord(trackingID: id, fields: written)
        require(read?.recipients == values && read?.tags == values, "\(values) does not read back as written")
    }
    return 0
}

/// False where `JSONDecoder` takes the bytes for UTF-16 or UTF-32: a byte-order mark of
/// those, or a NUL among the first four bytes. UTF-8 JSON cannot start that way (a NUL is
/// invalid anywhere in it; 0xFE and 0xFF are never UTF-8), so the reader must refuse them.
private func readsAsUTF8(_ bytes: [UInt8]) -> Bool {
    !(bytes.prefix(4).contains(0) || bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]))
}

private let id = "0123456789abcdef0123456789abcdef"
private let required: [String: [UInt8]] = [
    "sender": Array("s@x.test".utf8), "sent_at": Array("1700000000".utf8), "links": Array("0".utf8),
]

@main
enum FuzzEnrichmentListsMain {
    static func main() { FuzzerMain.run { data, size in fuzz(data!, size) } }
}
