import Foundation
import Testing
@testable import Rewrite

/// Every message of Tests/Fixtures/corpus through the parser and the rewriter.
@Suite struct CorpusTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/corpus/messages")

    static let files: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".eml") }.sorted()
    }()

    static func load(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The tree shape the file-name suffix promises (see the corpus README).
    static let shapes: [String: String] = [
        "alt-qp": "multipart/alternative(text/plain[quoted-printable],text/html[quoted-printable])",
        "alt-b64": "multipart/alternative(text/plain[base64],text/html[base64])",
        "html-8bit": "text/html[8bit]",
        "mixed-attach": "multipart/mixed(multipart/alternative(text/plain[base64],text/html[base64]),"
            + "application/pdf[base64]attachment,image/png[base64]attachment)",
        "related": "multipart/alternative(text/plain[base64],multipart/related(text/html[base64],image/png[base64]inline))",
    ]

    static func shape(_ e: MIMEEntity) -> String {
        if let m = e.multipart {
            return e.contentType.mimeType + "(" + m.parts.map(shape).joined(separator: ",") + ")"
        }
        return e.contentType.mimeType + "[" + e.transferEncoding.name + "]" + (e.disposition?.type ?? "")
    }

    static func suffix(_ name: String) -> String {
        let stem = name.dropLast(".eml".count)
        return String(stem[stem.index(after: stem.lastIndex(of: ".")!)...])
    }

    @Test func corpusIsPresent() {
        #expect(Self.files.count == 35)
    }

    @Test(arguments: files)
    func treeShapeMatchesTheFileName(_ name: String) throws {
        let message = try Self.load(name)
        let root = MIMEParser().parse(message: message)
        #expect(Self.shape(root) == Self.shapes[Self.suffix(name)], "\(name)")
    }

    @Test(arguments: files)
    func identityTransformReproducesTheMessage(_ name: String) throws {
        let message = try Self.load(name)
        var parts: [TextPart] = []
        let (out, result) = MIMEBodyRewriter().rewrite(message: message) { part in
            parts.append(part)
            return part.content
        }
        let expectedParts = Self.suffix(name) == "html-8bit" ? [TextPart.Subtype.html] : [.plain, .html]
        #expect(parts.map(\.subtype) == expectedParts, "\(name)")
        #expect(result.partsRewritten == expectedParts.count)
        #expect(result.partsFailed.isEmpty)
        // Python wrote these bodies; the encoders lay lines out the same way.
        #expect(out == message, "\(name)")
        for part in parts where part.subtype == .html {
            #expect(text(part.content).lowercased().contains("</html>"), "\(name)")
        }
    }

    @Test(arguments: files)
    func rewritingChangesOnlyTheTextParts(_ name: String) throws {
        let message = try Self.load(name)
        let (out, _) = MIMEBodyRewriter().rewrite(message: message) { uppercased($0.content) }
        let before = MIMEParser().parse(message: message)
        let after = MIMEParser().parse(message: out)
        #expect(Self.shape(after) == Self.shape(before))
        #expect(message[..<before.bodyRange.lowerBound] == out[..<after.bodyRange.lowerBound])
        Self.compare(before, message, after, out, name)
    }

    /// Walks both trees: text leaves must decode to the upper-cased original, everything
    /// else (headers, delimiters, preamble, epilogue, other leaves) must be identical.
    static func compare(_ a: MIMEEntity, _ aBytes: [UInt8], _ b: MIMEEntity, _ bBytes: [UInt8], _ name: String) {
        #expect(aBytes[a.header.range] == bBytes[b.header.range], "\(name)")
        if let am = a.multipart, let bm = b.multipart {
            #expect(aBytes[am.preamble] == bBytes[bm.preamble])
            #expect(am.delimiters.map { aBytes[$0] } == bm.delimiters.map { bBytes[$0] })
            #expect(am.closeDelimiter.map { aBytes[$0] } == bm.closeDelimiter.map { bBytes[$0] })
            #expect(aBytes[am.epilogue] == bBytes[bm.epilogue])
            for (x, y) in zip(am.parts, bm.parts) { compare(x, aBytes, y, bBytes, name) }
            return
        }
        let isText = a.contentType.type == "text" && a.isInline
        guard isText else {
            #expect(aBytes[a.bodyRange] == bBytes[b.bodyRange], "\(name)")
            return
        }
        func decoded(_ e: MIMEEntity, _ bytes: [UInt8]) -> [UInt8]? {
            switch e.transferEncoding {
            case .base64: return Base64Transfer.decode(bytes[e.bodyRange])
            case .quotedPrintable: return QuotedPrintable.decode(bytes[e.bodyRange])
            default: return Array(bytes[e.bodyRange])
            }
        }
        let original = decoded(a, aBytes)!
        #expect(decoded(b, bBytes) == uppercased(original), "\(name)")
        #expect(original != uppercased(original))
    }
}
