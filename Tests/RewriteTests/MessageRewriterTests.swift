import PropertyBased
import Testing
@testable import Rewrite

/// The whole engine: policy, rewriting of every part, and the message as the CLI prints it.
@Suite struct MessageRewriterTests {
    static let base = "https://t.example.com"
    static let id = TrackingID(hex: "0123456789abcdef0123456789abcdef")!
    static let issuedAt: UInt32 = 1_700_000_000
    static let links = TrackingLinks(base: base, keyRing: TokenFixtures.ring, trackingID: id, issuedAt: issuedAt)

    static func rewriter(_ configure: (inout MessageRewriter.Options) -> Void = { _ in }) -> MessageRewriter {
        var options = MessageRewriter.Options(trackingBase: base, keyRing: TokenFixtures.ring)
        configure(&options)
        return MessageRewriter(options: options)
    }

    static func run(_ message: String, sender: String? = nil,
                    _ configure: (inout MessageRewriter.Options) -> Void = { _ in }) -> (String, MessageRewriter.Result) {
        let (out, result) = rewriter(configure).rewrite(message: bytes(message), sender: sender, trackingID: id, issuedAt: issuedAt)
        return (text(out), result)
    }

    static func click(_ url: String, _ index: UInt32) -> String {
        text(links.clickURL(destination: bytes(url), linkIndex: index))
    }
    static var pixel: String {
        "<img src=\"\(text(links.pixelURL()))\" width=\"1\" height=\"1\" alt=\"\" border=\"0\" style=\"display:block;width:1px;height:1px;border:0\">"
    }

    static let html = """
        From: News <news@example.org>
        To: a@example.net
        Subject: hi
        Content-Type: text/html; charset=utf-8

        <html><body><a href="https://example.com/a?x=1&amp;y=2">A</a> <a href="mailto:x@example.com">m</a></body></html>

        """

    @Test func htmlMessageGetsIDLinksAndPixel() {
        let (out, result) = Self.run(Self.html)
        let expected = """
            X-MailTrail-ID: 0123456789abcdef0123456789abcdef
            From: News <news@example.org>
            To: a@example.net
            Subject: hi
            Content-Type: text/html; charset=utf-8

            <html><body><a href="\(Self.click("https://example.com/a?x=1&y=2", 0))">A</a> <a href="mailto:x@example.com">m</a>\(Self.pixel)</body></html>

            """
        #expect(out == expected)
        #expect(result.isTracked && result.linksWrapped == 1 && result.pixelsInserted == 1 && result.partsRewritten == 1)
        #expect(result.headerEdits.isEmpty)
    }

    @Test func rewritingTwiceChangesNothing() {
        let (once, _) = Self.run(Self.html)
        let (twice, result) = Self.run(once)
        #expect(twice == once)
        #expect(result.skip == .alreadyTracked)
    }

    @Test func skipRulesLeaveTheMessageByteIdentical() {
        let cases: [(String, SkipReason)] = [
            ("X-MailTrail-ID: 00000000000000000000000000000000\n" + Self.html, .alreadyTracked),
            ("DKIM-Signature: v=1; a=rsa-sha256; d=example.org\n" + Self.html, .dkimSigned),
            (Self.html.replacingFirst("text/html; charset=utf-8", with: "multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b"),
             .signedOrEncrypted(contentType: "multipart/signed")),
            (Self.html.replacingFirst("text/html; charset=utf-8", with: "application/pkcs7-mime; smime-type=enveloped-data"),
             .signedOrEncrypted(contentType: "application/pkcs7-mime")),
            (Self.html.replacingFirst("text/html; charset=utf-8", with: "image/png"), .nothingToTrack),
        ]
        for (message, reason) in cases {
            let (out, result) = Self.run(message)
            #expect(out == message, "\(reason)")
            #expect(result.skip == reason)
            #expect(result.body == nil)
        }
    }

    @Test func dkimSignedMessagesAreTrackedWhenConfigured() {
        let (out, result) = Self.run("DKIM-Signature: v=1\n" + Self.html) { $0.policy.skipDKIMSigned = false }
        #expect(result.isTracked)
        #expect(out.hasPrefix("X-MailTrail-ID: "))
    }

    @Test func perMessageHeaderOptOutRemovesOnlyTheHeader() {
        let message = Self.html.replacingFirst("Subject: hi\n", with: "Subject: hi\nX-MailTrail-Track: OFF\n")
        let (out, result) = Self.run(message)
        #expect(out == Self.html)
        #expect(result.skip == .optedOutByHeader)
        #expect(result.headerEdits == [.removeAll(name: "X-MailTrail-Track")])
    }

    @Test func perMessageHeaderCanAskForOpensOrClicksOnly() {
        let opens = Self.run(Self.html.replacingFirst("Subject: hi\n", with: "Subject: hi\nX-MailTrail-Track: opens\n")).0
        #expect(opens.contains(Self.pixel))
        #expect(opens.contains("href=\"https://example.com/a?x=1&amp;y=2\""))
        #expect(!opens.contains("X-MailTrail-Track"))
        let clicks = Self.run(Self.html.replacingFirst("Subject: hi\n", with: "Subject: hi\nX-MailTrail-Track: clicks\n")).0
        #expect(!clicks.contains("/o/"))
        #expect(clicks.contains(Self.click("https://example.com/a?x=1&y=2", 0)))
    }

    @Test func senderRulesUseTheEnvelopeSenderElseFrom() {
        let rules = [SenderRule(pattern: "example.org", mode: .off), SenderRule(pattern: "b@example.com", mode: .opens)]
        let (_, byFrom) = Self.run(Self.html) { $0.policy.senderRules = rules }
        #expect(byFrom.skip == .senderRule(pattern: "example.org"))
        let (out, byEnvelope) = Self.run(Self.html, sender: "b@example.com") { $0.policy.senderRules = rules }
        #expect(byEnvelope.isTracked && byEnvelope.linksWrapped == 0 && byEnvelope.pixelsInserted == 1)
        #expect(out.contains(Self.pixel))
    }

    @Test func trackingDisabledByConfiguration() {
        let (out, result) = Self.run(Self.html) { $0.policy.mode = .off }
        #expect(out == Self.html && result.skip == .trackingDisabled)
    }

    static let alternative = """
        From: a@example.org
        Content-Type: multipart/alternative; boundary="b1"

        preamble
        --b1
        Content-Type: text/plain; charset=us-ascii

        See https://example.com/one, and <https://example.com/two>.
        --b1
        Content-Type: text/html

        <a HREF='https://example.com/one'>1</a><a href=https://example.com/two>2</a>
        --b1--
        epilogue

        """

    @Test func linkIndicesRunInMessageOrderAcrossParts() {
        let (out, result) = Self.run(Self.alternative)
        let expected = """
            X-MailTrail-ID: 0123456789abcdef0123456789abcdef
            From: a@example.org
            Content-Type: multipart/alternative; boundary="b1"

            preamble
            --b1
            Content-Type: text/plain; charset=us-ascii

            See \(Self.click("https://example.com/one", 0)), and <\(Self.click("https://example.com/two", 1))>.
            --b1
            Content-Type: text/html

            <a HREF='\(Self.click("https://example.com/one", 2))'>1</a><a href=\(Self.click("https://example.com/two", 3))>2</a>\(Self.pixel)
            --b1--
            epilogue

            """
        #expect(out == expected)
        #expect(result.linksWrapped == 4 && result.partsRewritten == 2)
    }

    @Test func textPartsCanBeLeftAlone() {
        let (out, _) = Self.run(Self.alternative) { $0.trackTextParts = false }
        #expect(out.contains("See https://example.com/one, and <https://example.com/two>."))
        let textOnly = "From: a@example.org\n\nhttps://example.com/x\n"
        let (same, result) = Self.run(textOnly) { $0.trackTextParts = false }
        #expect(same == textOnly && result.skip == .nothingToTrack)
    }

    @Test func overlongEightBitLinesTurnTheTopLevelPartIntoQuotedPrintable() {
        let anchors = (0..<12).map { "<a href=\"https://example.com/\($0)\">x</a>" }.joined()
        let message = "From: a@example.org\nContent-Type: text/html\nContent-Transfer-Encoding: 8bit\n\n<p>\(anchors)</p>\n"
        let (out, result) = Self.run(message)
        #expect(result.headerEdits == [.set(name: "Content-Transfer-Encoding", value: "quoted-printable")])
        #expect(out.contains("\nContent-Transfer-Encoding: quoted-printable\n"))
        #expect(!out.contains("8bit"))
        let body = out.split(separator: "\n\n", maxSplits: 1)[1]
        #expect(body.split(separator: "\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(QuotedPrintable.decode(bytes(String(body))).map(text)?.contains(Self.click("https://example.com/11", 11)) == true)
    }

    @Test func crlfMessagesStayCRLF() {
        let (out, _) = rewriterOutput(crlf(Self.html))
        #expect(text(out).hasPrefix("X-MailTrail-ID: 0123456789abcdef0123456789abcdef\r\nFrom: News"))
        #expect(!text(out).replacingOccurrencesOfCRLF().contains("\r"))
    }

    private func rewriterOutput(_ message: [UInt8]) -> ([UInt8], MessageRewriter.Result) {
        Self.rewriter().rewrite(message: message, trackingID: Self.id, issuedAt: Self.issuedAt)
    }

    /// Every corpus message, under random tracking IDs: a second rewrite (with the ID header
    /// removed, so the engine really runs again) wraps nothing and adds no pixel.
    @Test func rewritingIsIdempotentOverTheCorpus() async throws {
        let messages = try CorpusTests.files.map(CorpusTests.load)
        #expect(messages.count == 35)
        await propertyCheck(count: 60, input: Gen.int(in: 0...(messages.count - 1)), Gen.uint64()) { index, seed in
            var generator = SeededGenerator(seed: seed)
            let id = TrackingID(bytes: (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let r = Self.rewriter()
            let (once, first) = r.rewrite(message: messages[index], trackingID: id, issuedAt: Self.issuedAt)
            #expect(first.isTracked)
            let (header, _) = HeaderBlock.split(message: once)
            let stripped = header.applying([.removeAll(name: TrackingPolicy.idHeader)])
            let again = Array(stripped.bytes[stripped.range]) + once[header.range.upperBound...]
            let (twice, second) = r.rewrite(message: again, trackingID: id, issuedAt: Self.issuedAt)
            #expect(second.linksWrapped == 0 && second.pixelsInserted == 0)
            #expect(second.skip == .nothingToTrack)
            #expect(twice == again)
        }
    }
}

extension String {
    /// The text with every CRLF removed, so a leftover CR shows a bare CR.
    func replacingOccurrencesOfCRLF() -> String {
        split(separator: "\r\n", omittingEmptySubsequences: false).joined()
    }
}
