import PropertyBased
import Testing
@testable import Rewrite

/// What one rewrite did, as strings for readable expectations.
private struct HTMLRun {
    var output: String
    var result: HTMLRewriteResult
    /// The destinations the wrapper was called with, in order.
    var destinations: [String]
}

private let base = "https://t.example/"
private let pixel = "https://t.example/o/PIX.gif"
private let topPixel = "https://t.example/o/TOP.gif"
private let pixelTag = #"<img src="https://t.example/o/PIX.gif" width="1" height="1" alt="" border="0" style="display:block;width:1px;height:1px;border:0">"#
private let topPixelTag = #"<img src="https://t.example/o/TOP.gif" width="1" height="1" alt="" border="0" style="display:block;width:1px;height:1px;border:0">"#

/// Rewrites `html` with a wrapper answering `https://t.example/c/<index>` (or `answer(index)`).
private func run(
    _ html: String, wrapLinks: Bool = true, pixelURL: String? = nil, topPixelURL: String? = nil,
    answer: ((Int) -> String?)? = nil
) -> HTMLRun {
    var destinations: [String] = []
    let options = HTMLRewriteOptions(
        trackingBase: Array(base.utf8), wrapLinks: wrapLinks,
        pixelURL: pixelURL.map { Array($0.utf8) }, topPixelURL: topPixelURL.map { Array($0.utf8) })
    let result = HTMLLinkRewriter.rewrite(Array(html.utf8), options: options) { destination in
        let index = destinations.count
        destinations.append(String(decoding: destination, as: UTF8.self))
        let url = answer.map { $0(index) } ?? "\(base)c/\(index)"
        return url.map { Array($0.utf8) }
    }
    return HTMLRun(output: String(decoding: result.bytes, as: UTF8.self), result: result, destinations: destinations)
}

@Suite struct HTMLLinkRewriterTests {
    // MARK: Wrapping

    @Test func wrapsDoubleQuotedHref() {
        let r = run(#"<p>Hi <a href="https://example.com/x">x</a></p>"#)
        #expect(r.output == #"<p>Hi <a href="https://t.example/c/0">x</a></p>"#)
        #expect(r.destinations == ["https://example.com/x"])
        #expect(r.result.linksWrapped == 1)
        #expect(r.result.linksOptedOut == 0)
        #expect(!r.result.pixelInserted)
    }

    @Test func decodesEntitiesBeforeWrappingAndEscapesAfter() {
        let r = run(#"<a href="https://example.com/?a=1&amp;b=2&#38;c=3&#x26;d=&quot;4&quot;">x</a>"#,
                    answer: { _ in #"https://t.example/c/a&b"c'd"# })
        #expect(r.destinations == [#"https://example.com/?a=1&b=2&c=3&d="4""#])
        #expect(r.output == #"<a href="https://t.example/c/a&amp;b&quot;c&#39;d">x</a>"#)
    }

    @Test func keepsSingleQuotesAndUpperCase() {
        let r = run(#"<A HREF='HTTP://Example.COM/Path'>x</A>"#)
        #expect(r.output == #"<A HREF='https://t.example/c/0'>x</A>"#)
        #expect(r.destinations == ["HTTP://Example.COM/Path"])
    }

    @Test func keepsUnquotedValuesUnquotedWhenSafe() {
        let r = run("<a href=https://example.com/p?q=1 class=x>x</a><a href=https://example.com/y>y</a>")
        #expect(r.output == "<a href=https://t.example/c/0 class=x>x</a><a href=https://t.example/c/1>y</a>")
        #expect(r.destinations == ["https://example.com/p?q=1", "https://example.com/y"])
    }

    @Test func quotesUnquotedValueWhenTrackingURLNeedsIt() {
        let r = run("<a href=https://example.com/>x</a>", answer: { _ in "https://t.example/c/a b=c" })
        #expect(r.output == #"<a href="https://t.example/c/a b=c">x</a>"#)
    }

    @Test func findsHrefAmongOtherAttributesAndWhitespace() {
        let r = run("<a class=\"btn\" style='color:red' target=_blank\n   HREF \n=\t \"https://example.com/o\"\n data-x>go</a>")
        #expect(r.output == "<a class=\"btn\" style='color:red' target=_blank\n   HREF \n=\t \"https://t.example/c/0\"\n data-x>go</a>")
        #expect(r.destinations == ["https://example.com/o"])
    }

    @Test func greaterThanInsideQuotedAttribute() {
        let r = run(#"<a title="a > b" href="https://example.com/g" alt='<a href="https://example.com/no">'>x</a><img alt="<a href='https://example.com/img'>">"#)
        #expect(r.output == #"<a title="a > b" href="https://t.example/c/0" alt='<a href="https://example.com/no">'>x</a><img alt="<a href='https://example.com/img'>">"#)
        #expect(r.destinations == ["https://example.com/g"])
    }

    @Test func selfClosingAndSlashSeparatedAttributes() {
        #expect(run("<a/>text").output == "<a/>text")
        let r = run(#"<a/href="https://example.com/s"/>x"#)
        #expect(r.output == #"<a/href="https://t.example/c/0"/>x"#)
        let quoted = run(#"<a id="x"href="https://example.com/q">x</a>"#)
        #expect(quoted.output == #"<a id="x"href="https://t.example/c/0">x</a>"#)
    }

    @Test func firstHrefWins() {
        let r = run(#"<a href="https://first.example/" href="https://second.example/">x</a>"#)
        #expect(r.output == #"<a href="https://t.example/c/0" href="https://second.example/">x</a>"#)
        #expect(r.destinations == ["https://first.example/"])
    }

    @Test func wrapsAreaAndToleratesSurroundingWhitespace() {
        let r = run("<map><area shape=rect href=\" \n https://example.com/area\t\">"
                    + "<a href=\"https://exa\nmple.com/split\">s</a></map>")
        #expect(r.output == "<map><area shape=rect href=\"https://t.example/c/0\">"
                + "<a href=\"https://t.example/c/1\">s</a></map>")
        #expect(r.destinations == ["https://example.com/area", "https://example.com/split"])
    }

    @Test func wrapsVeryLongURL() {
        let path = String(repeating: "abcdefghij", count: 200)
        let long = "https://example.com/" + path
        #expect(long.utf8.count > 2_000)
        let r = run("<a href=\"\(long)\">x</a>")
        #expect(r.output == #"<a href="https://t.example/c/0">x</a>"#)
        #expect(r.destinations == [long])
    }

    @Test func callsWrapperInDocumentOrderAndCounts() {
        let r = run("""
            <a href="https://example.com/1">1</a><a href="mailto:x@example.com">m</a>
            <area href='http://example.com/2'><a href=https://example.com/3>3</a>
            """)
        #expect(r.destinations == ["https://example.com/1", "http://example.com/2", "https://example.com/3"])
        #expect(r.result.linksWrapped == 3)
    }

    @Test func wrapperDecliningLeavesLinkAlone() {
        let html = #"<a href="https://example.com/1">1</a><a href="https://example.com/2">2</a>"#
        let r = run(html, answer: { $0 == 0 ? nil : "https://t.example/c/x" })
        #expect(r.output == #"<a href="https://example.com/1">1</a><a href="https://t.example/c/x">2</a>"#)
        #expect(r.result.linksWrapped == 1)
    }

    // MARK: Left alone

    @Test(arguments: [
        "mailto:someone@example.com", "MAILTO:x@example.com", "tel:+15551234", "#top", "/relative/path",
        "relative.html", "?q=1", "//example.com/proto-relative", "javascript:alert(1)", "JavaScript:void(0)",
        "ftp://example.com/f", "data:text/html,hi", "http:example.com", "https:///example.com", "https://",
        "", "   ", "sms:123", "https://t.example/c/already", "HTTPS://T.EXAMPLE/c/upper",
        "https://t.example/o/PIX.gif", "https&colon;//t.example/c/entity",
    ])
    func leavesNonWrappableDestinationsAlone(_ href: String) {
        let html = "<a href=\"\(href)\">x</a><a href='\(href)'>y</a>"
        let r = run(html, pixelURL: nil)
        #expect(r.output == html)
        #expect(r.destinations.isEmpty)
        #expect(r.result.linksWrapped == 0)
    }

    @Test(arguments: [
        "https://example.com/{{url}}", "https://example.com/?u={%user%}", "https://example.com/?e=*|EMAIL|*",
        "https://example.com/%%link%%", "https://example.com/[[id]]", "https://example.com/&lt;%= id %&gt;",
        "https://example.com/${id}", "https://example.com/%7B%7Bid%7D%7D", "https://example.com/%7b%7bid",
        "https://example.com/%7B%25 if %25%7D", "https://example.com/%24%7Bid%7D",
    ])
    func leavesTemplateLeftoversAlone(_ href: String) {
        let html = "<a href=\"\(href)\">x</a>"
        let r = run(html)
        #expect(r.output == html)
        #expect(r.destinations.isEmpty)
    }

    @Test func leavesLinksWithUnknownNamedReferencesAlone() {
        let html = #"<a href="https://example.com/?x&notin;y">x</a>"#
        #expect(run(html).output == html)
    }

    @Test func nonLinkElementsAndRawTextUntouched() {
        let html = """
            <!DOCTYPE html><?xml version="1.0"?><html><head><title>See <a href="https://example.com/t">x</a></title>
            <base href="https://example.com/"><link rel=stylesheet href="https://example.com/s.css">
            <style>a[href="https://example.com/css"] { color: red } </style >
            <script>document.write('<a href="https://example.com/js">')</script>
            <script type="x"><!-- </scriptx> <a href="https://example.com/js2"> --></SCRIPT></head>
            <body><img src="https://example.com/i.png" alt=x><textarea><a href="https://example.com/ta"></textarea>
            <!-- <a href="https://example.com/comment"> --><!----><!-- a -- b --!><a href="https://example.com/after-bang">k</a>
            <![CDATA[ x > <a href="https://example.com/cdata"> ]]>
            <xmp><a href="https://example.com/xmp"></xmp><noembed><a href="https://example.com/ne"></noembed>
            <v:roundrect href="https://example.com/vml-outside-conditional"></v:roundrect>
            <a href="https://example.com/real">real</a></body></html>
            """
        let r = run(html)
        #expect(r.destinations == ["https://example.com/after-bang", "https://example.com/real"])
        let expected = html
            .replacingOccurrences("https://example.com/after-bang", with: "https://t.example/c/0")
            .replacingOccurrences("https://example.com/real", with: "https://t.example/c/1")
        #expect(r.output == expected)
    }

    @Test func abruptCommentsEndImmediately() {
        let r = run(#"<!--><a href="https://example.com/a">a</a><!---><a href="https://example.com/b">b</a>"#)
        #expect(r.destinations == ["https://example.com/a", "https://example.com/b"])
    }

    @Test func plaintextSwallowsTheRest() {
        let html = #"<plaintext><a href="https://example.com/p">"#
        #expect(run(html).output == html)
    }

    // MARK: Outlook conditional comments

    @Test func wrapsVMLInsideConditionalComment() {
        let html = """
            <!--[if mso]>
            <v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" HREF="https://example.com/btn" style="height:40px" arcsize="10%">
            <w:anchorlock/><center><a href="https://example.com/inner">Go</a></center></v:roundrect>
            <![endif]--><!--[if !mso]><!-- --><a href="https://example.com/btn">Go</a><!--<![endif]-->
            """
        let r = run(html)
        #expect(r.output == html
            .replacingOccurrences(#"HREF="https://example.com/btn""#, with: #"HREF="https://t.example/c/0""#)
            .replacingOccurrences("https://example.com/inner", with: "https://t.example/c/1")
            .replacingOccurrences(#"<a href="https://example.com/btn">"#, with: #"<a href="https://t.example/c/2">"#))
        #expect(r.destinations == ["https://example.com/btn", "https://example.com/inner", "https://example.com/btn"])
    }

    @Test func downlevelRevealedConditionalContentIsNormalMarkup() {
        let html = #"<!--[if !mso]><!--><a href="https://example.com/r">r</a><!--<![endif]-->"#
        let r = run(html)
        #expect(r.output == #"<!--[if !mso]><!--><a href="https://t.example/c/0">r</a><!--<![endif]-->"#)
    }

    @Test func bodyInsideConditionalCommentIsNoLandmark() {
        let html = "<body><p>x</p><!--[if mso]></body><![endif]--></body>"
        let r = run(html, pixelURL: pixel)
        #expect(r.output == "<body><p>x</p><!--[if mso]></body><![endif]-->\(pixelTag)</body>")
    }

    // MARK: Opt-outs

    @Test func removesOptOutAttributesAndSkipsWrapping() {
        let r = run("""
            <a data-mailtrail="off" href="https://example.com/1">1</a>
            <a href="https://example.com/2" clicktracking=off>2</a>
            <a CLICKTRACKING="OFF"\thref='https://example.com/3'>3</a>
            <a href=https://example.com/4 DATA-MAILTRAIL='Off' class=x>4</a>
            <a title=x clicktracking="off"/>5</a>
            <a data-mailtrail="on" href="https://example.com/6">6</a>
            <a clicktracking="off"href="https://example.com/7">7</a>
            """)
        #expect(r.output == """
            <a href="https://example.com/1">1</a>
            <a href="https://example.com/2">2</a>
            <a\thref='https://example.com/3'>3</a>
            <a href=https://example.com/4 class=x>4</a>
            <a title=x />5</a>
            <a data-mailtrail="on" href="https://t.example/c/0">6</a>
            <a href="https://example.com/7">7</a>
            """)
        #expect(r.destinations == ["https://example.com/6"])
        #expect(r.result.linksOptedOut == 6)
        #expect(r.result.linksWrapped == 1)
    }

    @Test func optOutRemovedEvenWhenNotWrapping() {
        let r = run(#"<a href="https://example.com/" data-mailtrail="off">x</a>"#, wrapLinks: false)
        #expect(r.output == #"<a href="https://example.com/">x</a>"#)
        #expect(r.result.linksOptedOut == 1)
    }

    @Test func optOutInsideConditionalComment() {
        let r = run(#"<!--[if mso]><v:rect href="https://example.com/v" data-mailtrail=off></v:rect><![endif]-->"#)
        #expect(r.output == #"<!--[if mso]><v:rect href="https://example.com/v"></v:rect><![endif]-->"#)
        #expect(r.result.linksOptedOut == 1)
    }

    // MARK: Truncation and pass-through

    @Test func truncatedTagAtEndIsKept() {
        let html = #"<p>x</p><a class=y href="https://example.com/cut"#
        let r = run(html)
        #expect(r.output == html)
        #expect(r.destinations.isEmpty)
        let unquoted = "<p>x</p><a href=https://example.com/cut"
        #expect(run(unquoted).output == unquoted)
    }

    @Test func pixelGoesBeforeTruncatedConstructAtEnd() {
        #expect(run("<p>x</p><a href=\"https://example.com/cut", pixelURL: pixel).output
            == "<p>x</p>\(pixelTag)<a href=\"https://example.com/cut")
        #expect(run("<p>x</p><!-- unterminated <a href=x>", pixelURL: pixel).output
            == "<p>x</p>\(pixelTag)<!-- unterminated <a href=x>")
        #expect(run("<p>x</p><style>p{}", pixelURL: pixel).output == "<p>x</p>\(pixelTag)<style>p{}")
        #expect(run("<p>x</p></", pixelURL: pixel).output == "<p>x</p>\(pixelTag)</")
        #expect(run("<p>x</p>a < b", pixelURL: pixel).output == "<p>x</p>a < b\(pixelTag)")
    }

    @Test func unchangedWhenNothingToDo() {
        let html = """
            <html><HEAD><Title>T</Title></HEAD><body bgcolor=#fff>\u{00E9}\r\n<A HREF = 'https://example.com/'>x</A>
            <a href=mailto:x@example.com>m</a><!--[if mso]><v:roundrect href="https://example.com/v"/><![endif]--></body></html>
            """
        let bytes = Array(html.utf8) + [0xE9, 0x00, 0xFF, 0x3C]
        let options = HTMLRewriteOptions(trackingBase: Array(base.utf8), wrapLinks: false)
        var called = false
        let result = HTMLLinkRewriter.rewrite(bytes, options: options) { _ in called = true; return nil }
        #expect(result.bytes == bytes)
        #expect(!called)
        #expect(result == HTMLRewriteResult(bytes: bytes, linksWrapped: 0, linksOptedOut: 0,
                                            pixelInserted: false, topPixelInserted: false))
        let declined = HTMLLinkRewriter.rewrite(bytes, options: HTMLRewriteOptions(trackingBase: Array(base.utf8))) { _ in nil }
        #expect(declined.bytes == bytes)
    }

    // MARK: Pixel

    @Test func pixelBeforeLastBodyClose() {
        let r = run("<html><body><p>a</p></body>\n<p>b</p></BODY >\n</html>\n", pixelURL: pixel)
        #expect(r.output == "<html><body><p>a</p></body>\n<p>b</p>\(pixelTag)</BODY >\n</html>\n")
        #expect(r.result.pixelInserted)
    }

    @Test func pixelAppendedWithoutBody() {
        let r = run("<p>hello</p>\n", pixelURL: pixel)
        #expect(r.output == "<p>hello</p>\n\(pixelTag)")
    }

    @Test func bodyCloseInCommentOrScriptDoesNotCount() {
        let r = run("<body>x<!-- </body> --><script>'</body>'</script>", pixelURL: pixel)
        #expect(r.output == "<body>x<!-- </body> --><script>'</body>'</script>\(pixelTag)")
    }

    @Test func topPixelAfterFirstBodyTag() {
        let r = run("<html><BODY class=\"a>b\" style=x><p>x</p><body></body></html>",
                    pixelURL: pixel, topPixelURL: topPixel)
        #expect(r.output == "<html><BODY class=\"a>b\" style=x>\(topPixelTag)<p>x</p><body>\(pixelTag)</body></html>")
        #expect(r.result.topPixelInserted && r.result.pixelInserted)
        let empty = run("<body></body>", pixelURL: pixel, topPixelURL: topPixel)
        #expect(empty.output == "<body>\(topPixelTag)\(pixelTag)</body>")
        let noBody = run("<p>x</p>", topPixelURL: topPixel)
        #expect(noBody.output == "<p>x</p>")
        #expect(!noBody.result.topPixelInserted)
    }

    @Test func pixelURLIsEscaped() {
        let r = run("x", pixelURL: "https://t.example/o/a&b\".gif")
        #expect(r.output == #"x<img src="https://t.example/o/a&amp;b&quot;.gif" width="1" height="1" alt="" border="0" style="display:block;width:1px;height:1px;border:0">"#)
    }

    @Test func pixelOnlyWhenNotWrapping() {
        let r = run(#"<body><a href="https://example.com/">x</a></body>"#, wrapLinks: false, pixelURL: pixel)
        #expect(r.output == #"<body><a href="https://example.com/">x</a>"# + pixelTag + "</body>")
        #expect(r.destinations.isEmpty)
    }

    // MARK: Idempotency

    @Test func rewritingTwiceChangesNothing() {
        let html = #"<body><a href="https://example.com/a?x=1&amp;y=2">a</a><a href=https://example.com/b>b</a></body>"#
        let first = run(html, pixelURL: pixel, topPixelURL: topPixel)
        #expect(first.result.linksWrapped == 2 && first.result.pixelInserted)
        let second = run(first.output, pixelURL: pixel, topPixelURL: topPixel)
        #expect(second.output == first.output)
        #expect(second.destinations.isEmpty)
        #expect(!second.result.pixelInserted && !second.result.topPixelInserted)
    }

    /// Markup pieces, whole and broken, that the generated documents are made of.
    private static let pieces: [String] = [
        #"<a href="https://example.com/a?x=1&amp;y=2">A</a>"#, "<A HREF='http://example.com/b'>B</A>",
        "<a href=https://example.com/c>C</a>", #"<area href=" https://example.com/d ">"#,
        #"<a href="mailto:x@example.com">m</a>"#, "<a href=\"#top\">t</a>", #"<a href="{{url}}">tpl</a>"#,
        #"<link href="https://example.com/s.css">"#, #"<img src="https://example.com/i.png">"#,
        #"<script>document.write('<a href="https://example.com/s">')</script>"#,
        "<style>a[href='https://x']{}</style>", #"<!-- <a href="https://example.com/c"> -->"#,
        #"<!--[if mso]><v:roundrect href="https://example.com/v"></v:roundrect><![endif]-->"#,
        "<body class=\"b\">", "</body>", "</BODY >", #"<p title="a > b">"#, "text &amp; more ", "\r\n",
        "<", ">", "\"", "'", "=", "<a", " href=", "https://example.com/e", "<!--", "-->", "</",
        #"<a title='x' href = "https://example.com/f" >"#, "<textarea><a href=https://example.com/t></textarea>",
        "<![CDATA[ <a href='https://example.com/g'> ]]>", "\u{00E9}", #"<a href="  https://example.com/sp  ">"#,
        "<a/>", "<a href=\"https://t.example/c/old\">", "<v:rect href=https://example.com/h>",
    ]

    @Test func rewritingTwiceChangesNothingOnGeneratedMarkup() async {
        let documents = Gen<String?>.element(of: Self.pieces).array(of: 0...14).map { $0.compactMap { $0 }.joined() }
        await propertyCheck(count: 400, input: documents) { html in
            let first = run(html, pixelURL: pixel, topPixelURL: topPixel)
            let second = run(first.output, pixelURL: pixel, topPixelURL: topPixel)
            #expect(second.output == first.output, "input: \(html)")
            #expect(second.destinations.isEmpty && !second.result.pixelInserted)
            #expect(first.result.pixelInserted)
        }
    }

    @Test func decliningWrapperLeavesGeneratedMarkupByteIdentical() async {
        let documents = Gen<String?>.element(of: Self.pieces).array(of: 0...14).map { $0.compactMap { $0 }.joined() }
        await propertyCheck(count: 400, input: documents) { html in
            let r = run(html, answer: { _ in nil })
            #expect(r.output == html)
        }
    }

    @Test func arbitraryBytesPassThroughWhenNothingIsWrapped() async {
        let noise = Gen<UInt8>.value(in: 0...255).map { b -> UInt8 in
            // Bias towards markup characters so tags, quotes and comments are common.
            let markup: [UInt8] = Array("<>/=\"' -!a".utf8)
            return b < 128 ? markup[Int(b) % markup.count] : b
        }.array(of: 0...200)
        await propertyCheck(count: 500, input: noise) { bytes in
            let options = HTMLRewriteOptions(trackingBase: Array(base.utf8))
            let result = HTMLLinkRewriter.rewrite(bytes, options: options) { _ in nil }
            #expect(result.bytes == bytes)
        }
    }
}

extension String {
    /// `replacingOccurrences(of:with:)` without Foundation.
    fileprivate func replacingOccurrences(_ target: String, with replacement: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
