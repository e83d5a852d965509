import Testing
@testable import Rewrite

/// Inputs the fuzz targets (Fuzz/) found breaking an invariant, each with the exact output
/// expected since the fix. Key k1 = 00 01 … 1f, tracking ID 0123…cdef, issued at 1700000000.
@Suite struct FuzzRegressionTests {
    static let id = TrackingID(hex: "0123456789abcdef0123456789abcdef")!
    static let pixelURL = "https://t.example.com/o/AQFvZVPxAAEjRWeJq83vASNFZ4mrze-okclHiynjLyewe-M.gif"
    static let pixel = #"<img src="\#(pixelURL)" width="1" height="1" alt="" border="0" style="display:block;width:1px;height:1px;border:0">"#

    static func rewrite(_ message: String) -> String {
        let rewriter = MessageRewriter(options: MessageRewriter.Options(
            trackingBase: "https://t.example.com", keyRing: TokenFixtures.ring))
        return text(rewriter.rewrite(message: bytes(message), trackingID: id, issuedAt: 1_700_000_000).message)
    }

    /// FuzzMessageRewrite: a message that is all header, its one line unterminated. The
    /// pixel was appended to the header line (`Content-Type: text/html<img …>`).
    @Test func headerOnlyMessageGetsAnEmptyLineBeforeItsNewBody() {
        #expect(Self.rewrite("Content-Type: text/html") ==
                "X-MailTrail-ID: 0123456789abcdef0123456789abcdef\r\nContent-Type: text/html\r\n\r\n" + Self.pixel)
    }

    /// The same with the header line terminated: the pixel became a header line.
    @Test func headerOnlyMessageWithLineBreakGetsAnEmptyLine() {
        #expect(Self.rewrite("Content-Type: text/html\n") ==
                "X-MailTrail-ID: 0123456789abcdef0123456789abcdef\nContent-Type: text/html\n\n" + Self.pixel)
    }

    /// FuzzHTMLRewrite: a pixel URL inside a link being wrapped counted as a pixel already
    /// present, so the part got none; rewriting the output again then added one.
    @Test func pixelURLInsideWrappedLinkDoesNotCountAsPixel() {
        let html = bytes(#"<a href="https://example.com/?u=https://t.example.com/o/x.gif">x</a>"#)
        let options = HTMLRewriteOptions(trackingBase: bytes("https://t.example.com/"),
                                         pixelURL: bytes("https://t.example.com/o/p.gif"))
        let once = HTMLLinkRewriter.rewrite(html, options: options) { _ in bytes("https://t.example.com/c/1") }
        let pixel = #"<img src="https://t.example.com/o/p.gif" width="1" height="1" alt="" border="0" style="display:block;width:1px;height:1px;border:0">"#
        #expect(text(once.bytes) == #"<a href="https://t.example.com/c/1">x</a>"# + pixel)
        #expect(once.linksWrapped == 1 && once.pixelInserted)

        let twice = HTMLLinkRewriter.rewrite(once.bytes, options: options) { _ in bytes("https://t.example.com/c/2") }
        #expect(twice.bytes == once.bytes)
        #expect(twice.linksWrapped == 0 && !twice.pixelInserted)
    }

    /// A pixel URL outside every edit still counts; one overlapping an edit does not.
    @Test func pixelPresenceIgnoresOnlyReplacedBytes() {
        let base = bytes("https://t.example.com/")
        let html = bytes(#"<a href="x https://t.example.com/o/a.gif"><img src="https://t.example.com/o/b.gif">"#)
        let firstURL = 11..<35  // "https://t.example.com/o/" of the href
        #expect(TrackingPixel.isPresent(in: html, trackingBase: base, keptBy: []))
        #expect(TrackingPixel.isPresent(in: html, trackingBase: base,
                                        keptBy: [ByteEdit(range: 9..<40, replacement: [])]))
        #expect(!TrackingPixel.isPresent(in: html, trackingBase: base,
                                         keptBy: [ByteEdit(range: 9..<40, replacement: []),
                                                  ByteEdit(range: 52..<60, replacement: [])]))
        #expect(!TrackingPixel.isPresent(in: Array(html[..<45]), trackingBase: base,
                                         keptBy: [ByteEdit(range: firstURL.upperBound - 1..<firstURL.upperBound, replacement: [])]))
        #expect(TrackingPixel.isPresent(in: Array(html[..<45]), trackingBase: base,
                                        keptBy: [ByteEdit(range: firstURL.upperBound..<firstURL.upperBound + 1, replacement: [])]))
    }
}
