import PropertyBased
import Testing
@testable import Rewrite

private struct TextRun {
    var output: String
    var result: TextRewriteResult
    var destinations: [String]
}

/// Rewrites `text` with a wrapper answering `https://t.example/c/<index>` (or `answer`).
private func run(_ text: String, flowed: Bool = false, delSp: Bool = false, answer: String? = nil) -> TextRun {
    var destinations: [String] = []
    let result = TextLinkRewriter.rewrite(
        Array(text.utf8), flowed: flowed, delSp: delSp, trackingBase: Array("https://t.example/".utf8)
    ) { destination in
        destinations.append(String(decoding: destination, as: UTF8.self))
        return Array((answer ?? "https://t.example/c/\(destinations.count - 1)").utf8)
    }
    return TextRun(output: String(decoding: result.bytes, as: UTF8.self), result: result, destinations: destinations)
}

@Suite struct TextLinkRewriterTests {
    @Test func wrapsURLsInOrder() {
        let r = run("Hello,\r\nsee https://example.com/a and HTTP://Example.com/B?x=1&y=2#f\r\n")
        #expect(r.output == "Hello,\r\nsee https://t.example/c/0 and https://t.example/c/1\r\n")
        #expect(r.destinations == ["https://example.com/a", "HTTP://Example.com/B?x=1&y=2#f"])
        #expect(r.result.linksWrapped == 2)
    }

    @Test func trailingPunctuationIsNotPartOfTheURL() {
        let r = run("https://example.com/a. https://example.com/b, https://example.com/c; https://example.com/d: "
                    + "https://example.com/e! https://example.com/f? 'https://example.com/g' https://example.com/h?!...")
        #expect(r.output == "https://t.example/c/0. https://t.example/c/1, https://t.example/c/2; https://t.example/c/3: "
                + "https://t.example/c/4! https://t.example/c/5? 'https://t.example/c/6' https://t.example/c/7?!...")
        #expect(r.destinations == (Array("abcdefgh").map { "https://example.com/\($0)" }))
    }

    @Test func punctuationInsideTheURLStays() {
        let r = run("https://example.com/a.b,c;d:e!f?g'h end")
        #expect(r.destinations == ["https://example.com/a.b,c;d:e!f?g'h"])
    }

    @Test func closingParenthesisOnlyWhenBalanced() {
        let r = run("(see https://example.com/a) and https://en.wikipedia.org/wiki/Foo_(bar) "
                    + "(https://en.wikipedia.org/wiki/Foo_(bar)). [https://example.com/sq] http://[::1]:8080/x")
        #expect(r.destinations == [
            "https://example.com/a", "https://en.wikipedia.org/wiki/Foo_(bar)",
            "https://en.wikipedia.org/wiki/Foo_(bar)", "https://example.com/sq", "http://[::1]:8080/x",
        ])
        #expect(r.output == "(see https://t.example/c/0) and https://t.example/c/1 "
                + "(https://t.example/c/2). [https://t.example/c/3] https://t.example/c/4")
    }

    @Test func angleBracketsAndQuotesDelimit() {
        let r = run("<https://example.com/a>, \"https://example.com/b\" <a href=https://example.com/c>\u{7}https://example.com/d\u{1}x")
        #expect(r.output == "<https://t.example/c/0>, \"https://t.example/c/1\" <a href=https://t.example/c/2>\u{7}https://t.example/c/3\u{1}x")
    }

    @Test func nonASCIIBytesBelongToTheURL() {
        let r = run("https://de.wikipedia.org/wiki/M\u{00FC}nchen here")
        #expect(r.destinations == ["https://de.wikipedia.org/wiki/M\u{00FC}nchen"])
    }

    @Test(arguments: [
        "xhttps://example.com/", "2http://example.com/", "ftp://example.com/", "http:/example.com", "https://",
        "https:// x", "http:example.com", "mailto:a@example.com", "https:///path", "https://t.example/c/tok",
        "HTTPS://T.EXAMPLE/o/tok.gif", "https://example.com/?u={{user}}", "https://example.com/?e=*|EMAIL|*",
        "https://example.com/%%id%%", "https://example.com/<%= id %>", "https://example.com/${id}",
        "https://example.com/?u=%7B%7Buser%7D%7D", "https://example.com/[[x]]", "https://example.com/{% x %}",
    ])
    func leavesNonWrappableTextAlone(_ text: String) {
        let r = run("a \(text) b\n")
        #expect(r.output == "a \(text) b\n")
        #expect(r.destinations.isEmpty)
    }

    @Test func refusesTrackingURLsThatWouldSplitTheLine() {
        let text = "go https://example.com/a now\r\n"
        #expect(run(text, answer: "https://t.example/c/a b").output == text)
        #expect(run(text, answer: "https://t.example/c/a\r\nb").output == text)
        #expect(run(text, answer: "").output == text)
    }

    @Test func unchangedWhenNothingToWrap() {
        let bytes: [UInt8] = Array("Time: 10:30, ratio 1:2, see http: nothing\r\n".utf8) + [0xFF, 0x3A, 0x00]
        let result = TextLinkRewriter.rewrite(bytes, flowed: true, delSp: true, trackingBase: Array("https://t.example/".utf8)) { _ in
            Issue.record("no URL to wrap")
            return nil
        }
        #expect(result == TextRewriteResult(bytes: bytes, linksWrapped: 0))
    }

    // MARK: format=flowed

    @Test func flowedDelSpNoKeepsSoftBreaksAndWrapsLinesEnds() {
        let text = "Visit https://example.com/a \r\nfor more, or \r\nhttps://example.com/b \r\nnow.\r\n-- \r\nSig\r\n"
        let r = run(text, flowed: true, delSp: false)
        #expect(r.output == "Visit https://t.example/c/0 \r\nfor more, or \r\nhttps://t.example/c/1 \r\nnow.\r\n-- \r\nSig\r\n")
    }

    @Test func flowedDelSpYesLeavesPiecesOfSplitURLsAlone() {
        let text = "See https://example.com/very/lo \r\nng/path here\r\nword \r\nhttps://example.com/joined\r\n"
            + "> quoted https://example.com/q \r\n> uoted rest\r\n"
        let r = run(text, flowed: true, delSp: true)
        #expect(r.output == text)
        #expect(r.destinations.isEmpty)
    }

    @Test func flowedDelSpYesWrapsURLsWithinOneLine() {
        let text = "Go to https://example.com/a now \r\nand https://example.com/b\r\n"
            + "two spaces  \r\nhttps://example.com/c then\r\n"
            + "-- \r\nhttps://example.com/d\r\n"
            + "dot https://example.com/e. \r\nnext\r\n"
            + "> > https://example.com/f\r\n"
        let r = run(text, flowed: true, delSp: true)
        #expect(r.destinations == ["https://example.com/a", "https://example.com/b", "https://example.com/c",
                                   "https://example.com/d", "https://example.com/f"])
        #expect(r.output == "Go to https://t.example/c/0 now \r\nand https://t.example/c/1\r\n"
                + "two spaces  \r\nhttps://t.example/c/2 then\r\n"
                + "-- \r\nhttps://t.example/c/3\r\n"
                + "dot https://example.com/e. \r\nnext\r\n"
                + "> > https://t.example/c/4\r\n")
    }

    @Test func flowedWithBareLineFeeds() {
        let text = "a https://example.com/x \nb\n"
        #expect(run(text, flowed: true, delSp: true).output == text)
        #expect(run(text, flowed: true, delSp: false).output == "a https://t.example/c/0 \nb\n")
    }

    // MARK: Properties

    private static let pieces: [String] = [
        "https://example.com/a", "HTTP://example.com/b?x=1&y=2", "(", ")", "[", "]", ".", ",", "'", "\"", "<", ">",
        " ", "  ", "\r\n", "\n", "> ", "-- ", "word", "x", "https://", "http:", "//", "{{", "<%", "https://t.example/c/old",
        "\u{00FC}", "\t",
    ]

    @Test func rewritingTwiceChangesNothingOnGeneratedText() async {
        let texts = zip(Gen<String?>.element(of: Self.pieces).array(of: 0...16), Gen.bool, Gen.bool)
        await propertyCheck(count: 400, input: texts) { pieces, flowed, delSp in
            let text = pieces.compactMap { $0 }.joined()
            let first = run(text, flowed: flowed, delSp: delSp)
            let second = run(first.output, flowed: flowed, delSp: delSp)
            #expect(second.output == first.output, "input: \(text)")
            #expect(second.destinations.isEmpty)
            // Line structure and trailing spaces never change.
            #expect(first.output.split(separator: "\n", omittingEmptySubsequences: false).count
                    == text.split(separator: "\n", omittingEmptySubsequences: false).count)
        }
    }

    @Test func arbitraryBytesPassThroughWhenNothingIsWrapped() async {
        let noise = Gen<UInt8>.value(in: 0...255).map { b -> UInt8 in
            let common: [UInt8] = Array("https:/ .()<>\r\n".utf8)
            return b < 160 ? common[Int(b) % common.count] : b
        }.array(of: 0...200)
        await propertyCheck(count: 400, input: noise) { bytes in
            let result = TextLinkRewriter.rewrite(bytes, flowed: true, delSp: true, trackingBase: []) { _ in nil }
            #expect(result.bytes == bytes)
        }
    }
}
