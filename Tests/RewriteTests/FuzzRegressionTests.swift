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

    /// FuzzMessageRewrite: re-encoding a quoted-printable part put a soft break right before
    /// `--b1` (written `=2D-b1` in the original), which then read as a delimiter and split
    /// the multipart in two. Now no line of that part starts with `-`.
    @Test func softBreakBeforeBoundaryDoesNotMakeADelimiter() {
        let x75 = String(repeating: "x", count: 75)
        let message = "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\n"
            + "Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + "<p>hi</p>\r\n\(x75)=\r\n=2D-b1\r\n</body>\r\n--b1--\r\n"
        #expect(Self.rewrite(message) == "X-MailTrail-ID: 0123456789abcdef0123456789abcdef\r\n"
            + "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\n"
            + "Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + "<p>hi</p>\r\n\(x75)=\r\n=2D-b1\r\n"
            + "<img src=3D\"https://t.example.com/o/AQFvZVPxAAEjRWeJq83vASNFZ4mrze-okclHiyn=\r\n"
            + "jLyewe-M.gif\" width=3D\"1\" height=3D\"1\" alt=3D\"\" border=3D\"0\" style=3D\"displ=\r\n"
            + "ay:block;width:1px;height:1px;border:0\"></body>\r\n--b1--\r\n")
    }

    /// The encoding that fix uses: `=2D` for a hyphen starting a line, after hard and soft
    /// breaks alike, lines still within 76 octets.
    @Test func quotedPrintableCanKeepHyphensOffLineStarts() {
        let y75 = String(repeating: "y", count: 75)
        let input = bytes("-a\n\(y75)-z\n--")
        #expect(text(QuotedPrintable.encode(input, lineEnding: .lf)) == "-a\n\(y75)=\n-z\n--")
        #expect(text(QuotedPrintable.encode(input, lineEnding: .lf, escapingLineStartHyphens: true))
                == "=2Da\n\(y75)=\n=2Dz\n=2D-")
        // 75 octets fit a line, but not once the hyphen takes 3.
        let tight = bytes("-" + String(repeating: "y", count: 74))
        #expect(text(QuotedPrintable.encode(tight, lineEnding: .crlf, escapingLineStartHyphens: true))
                == "=2D" + String(repeating: "y", count: 72) + "=\r\nyy")
        #expect(QuotedPrintable.decode(QuotedPrintable.encode(tight, lineEnding: .crlf, escapingLineStartHyphens: true)) == tight)
    }

    /// FuzzHTMLRewrite (with its dictionary): removing an opt-out attribute that follows a
    /// CRLF and is followed directly by more tag text kept the CR of the line break and
    /// dropped its LF, leaving a bare CR in the part. Minimized from the crash input
    /// (`…\r\n    data-mailtrail="off"one;…`).
    @Test func optOutRemovalKeepsACRLFWhole() {
        let options = HTMLRewriteOptions(trackingBase: bytes("https://t.example.com/"))
        for (input, expected) in [
            ("<a href=\"https://example.com/a\"\r\n    data-mailtrail=\"off\"one;>a</a>",
             "<a href=\"https://example.com/a\"\r\none;>a</a>"),
            ("<a href=\"https://example.com/a\"\r\nclicktracking=\"off\"/>a</a>",
             "<a href=\"https://example.com/a\"\r\n/>a</a>"),
            ("<a href=x\n\tclicktracking='off'/>a</a>", "<a href=x\n/>a</a>"),
        ] {
            let result = HTMLLinkRewriter.rewrite(bytes(input), options: options) { _ in nil }
            #expect(text(result.bytes) == expected)
            #expect(result.linksOptedOut == 1)
        }
    }
}
