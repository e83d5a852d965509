import Testing
@testable import Rewrite

@Suite struct MIMEBodyRewriterTests {
    let rewriter = MIMEBodyRewriter()

    /// Rewrites a whole message with the upper-casing transform.
    func upper(_ message: [UInt8]) -> (message: [UInt8], result: BodyRewriteResult) {
        rewriter.rewrite(message: message) { uppercased($0.content) }
    }

    // MARK: Single-part messages

    @Test func topLevelQuotedPrintableHTML() {
        let header = HeaderBlock(parsing: crlf("Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"))
        let body = crlf("<p><a href=3D\"https://exa=\nmple.com/a?x=3D1\">Caf=c3=a9</a></p>\n")
        var seen: [TextPart] = []
        let result = rewriter.rewrite(header: header, body: body) { part in
            seen.append(part)
            return uppercased(part.content)
        }
        #expect(text(seen[0].content) == "<p><a href=\"https://example.com/a?x=1\">Café</a></p>\r\n")
        #expect(text(result.body) == "<P><A HREF=3D\"HTTPS://EXAMPLE.COM/A?X=3D1\">CAF=C3=A9</A></P>\r\n")
        #expect(result.partsRewritten == 1)
        #expect(result.topLevelHeaderEdits.isEmpty)
        #expect(result.partsFailed.isEmpty)
    }

    @Test func base64WhoseLengthIsNotAMultipleOfThree() {
        let message = crlf("Content-Type: text/html\nContent-Transfer-Encoding: base64\n\nPGI+aGk8L2I+Cg==\n")
        let (out, result) = upper(message)
        #expect(text(out) == text(crlf("Content-Type: text/html\nContent-Transfer-Encoding: base64\n\nPEI+SEk8L0I+Cg==\n")))
        #expect(result.partsRewritten == 1)
    }

    @Test func base64WithStrayWhitespaceAndOddLineLengthsIsReencodedIn76Columns() {
        let message = crlf("Content-Type: text/html\nContent-Transfer-Encoding:  Base64 \n\nPHA+SGVsbG8gPGEg aHJlZj0i\naHR0cHM6Ly9leGFtcGxlLmNvbS94P2E9MSZhbXA7Yj0yIj50aGVyZTwvYT48L3A+\n\tCg==\n\n")
        let (out, _) = upper(message)
        #expect(text(out) == text(crlf("Content-Type: text/html\nContent-Transfer-Encoding:  Base64 \n\nPFA+SEVMTE8gPEEgSFJFRj0iSFRUUFM6Ly9FWEFNUExFLkNPTS9YP0E9MSZBTVA7Qj0yIj5USEVS\nRTwvQT48L1A+Cg==\n\n")))
    }

    @Test func identityEncodingsAreRewrittenInPlace() {
        let message = crlf("Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: 7-BIT\n\nsee https://example.com\n")
        let (out, result) = upper(message)
        #expect(text(out) == text(crlf("Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: 7-BIT\n\nSEE HTTPS://EXAMPLE.COM\n")))
        #expect(result.partsRewritten == 1)
    }

    @Test func missingContentTypeMeansTextPlain() {
        let message = bytes("Subject: x\n\nhello\n")
        #expect(text(upper(message).message) == "Subject: x\n\nHELLO\n")
    }

    @Test func unknownEncodingsAndTypesAreLeftAlone() {
        let uuencoded = crlf("Content-Type: text/html\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 a\n`\nend\n")
        let (out, result) = upper(uuencoded)
        #expect(out == uuencoded)
        #expect(result.partsFailed == [PartFailure(path: [], reason: .unsupportedTransferEncoding("x-uuencode"))])
        #expect(result.isUnchanged)

        for header in ["Content-Type: garbage", "Content-Type: text/enriched", "Content-Type: application/json",
                       "Content-Type: multipart/mixed", "Content-Type: text/html\nContent-Disposition: attachment"] {
            let message = crlf(header + "\n\n{\"a\": \"https://example.com\"}\n")
            let (same, r) = upper(message)
            #expect(same == message)
            #expect(r.partsFailed.isEmpty)
        }
    }

    @Test func brokenEncodingsPassThroughUnchanged() {
        let message = crlf("""
            Content-Type: multipart/alternative; boundary=b

            --b
            Content-Type: text/plain
            Content-Transfer-Encoding: quoted-printable

            <a href="https://example.com">never encoded</a>
            --b
            Content-Type: text/html
            Content-Transfer-Encoding: base64

            PGI+aGk8L2I+Cg=
            --b
            Content-Type: text/html
            Content-Transfer-Encoding: base64

            PGk+b2s8L2k+
            --b--

            """)
        let (out, result) = upper(message)
        #expect(text(out) == text(message).replacingFirst("PGk+b2s8L2k+", with: "PEk+T0s8L0k+"))
        #expect(result.partsRewritten == 1)
        #expect(result.partsFailed == [
            PartFailure(path: [0], reason: .brokenQuotedPrintable),
            PartFailure(path: [1], reason: .brokenBase64),
        ])
    }

    @Test func transformReturningNilKeepsEveryByte() {
        let message = Self.nested(plain: "a=3Db=\nc", html: "PGI+aGk8L2I+Cg==", note: "note")
        let (out, result) = rewriter.rewrite(message: message) { _ in nil }
        #expect(out == message)
        #expect(result.isUnchanged)
        #expect(result.partsFailed.isEmpty)
    }

    // MARK: Nested multiparts

    /// mixed > (alternative > (QP text, related > (base64 HTML, image)), HTML attachment,
    /// message/rfc822, 7bit note); preamble and epilogue.
    static func nested(plain: String, html: String, note: String) -> [UInt8] {
        crlf("""
            From: sender@example.com
            Content-Type: multipart/mixed; boundary="mixed"
            MIME-Version: 1.0

            This is a multi-part message in MIME format.
            --mixed
            Content-Type: multipart/alternative;
             boundary="alt"

            --alt
            Content-Type: text/plain; charset=utf-8; format=flowed
            Content-Transfer-Encoding: quoted-printable

            \(plain)
            --alt
            Content-Type: multipart/related; boundary=rel; type="text/html"

            --rel
            Content-Type: text/html; charset="utf-8"
            Content-Transfer-Encoding: BASE64

            \(html)

            --rel
            Content-Type: image/png
            Content-Transfer-Encoding: base64
            Content-ID: <logo>

            iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==
            --rel--

            --alt--

            --mixed
            Content-Type: text/html; name="page.html"
            Content-Disposition: attachment; filename="page.html"

            <p><a href="https://example.com/attached">untouched</a></p>
            --mixed
            Content-Type: message/rfc822

            Subject: forwarded
            Content-Type: text/html

            <p>forwarded <a href="https://example.com/fwd">untouched</a></p>
            --mixed
            Content-Type: text/plain

            \(note)
            --mixed--
            Epilogue, ignored by readers.

            """)
    }

    @Test func onlyTheTextPartsOfANestedMessageChange() {
        let input = Self.nested(
            plain: "Visit https://example.com/?a=3Db&c=3D=\nd soon.=20\nBye",
            html: "PHA+SGVsbG8gPGEgaHJlZj0iaHR0cHM6Ly9leGFtcGxlLmNvbS94P2E9MSZhbXA7Yj0yIj50aGVy\nZTwvYT48L3A+Cg==",
            note: "Trailing note https://example.com/note")
        let expected = Self.nested(
            plain: "VISIT HTTPS://EXAMPLE.COM/?A=3DB&C=3DD SOON.=20\nBYE",
            html: "PFA+SEVMTE8gPEEgSFJFRj0iSFRUUFM6Ly9FWEFNUExFLkNPTS9YP0E9MSZBTVA7Qj0yIj5USEVS\nRTwvQT48L1A+Cg==",
            note: "TRAILING NOTE HTTPS://EXAMPLE.COM/NOTE")
        var seen: [TextPart] = []
        let (out, result) = rewriter.rewrite(message: input) { part in
            seen.append(part)
            return uppercased(part.content)
        }
        #expect(text(out) == text(expected))
        #expect(out == expected)
        #expect(result.partsRewritten == 3)
        #expect(result.topLevelHeaderEdits.isEmpty)

        #expect(seen.map(\.path) == [[0, 0], [0, 1, 0], [3]])
        #expect(seen.map(\.index) == [0, 1, 2])
        #expect(seen.map(\.depth) == [2, 3, 1])
        #expect(seen.map(\.subtype) == [.plain, .html, .plain])
        #expect(seen.map(\.transferEncoding) == [.quotedPrintable, .base64, .sevenBit])
        #expect(text(seen[0].content) == "Visit https://example.com/?a=b&c=d soon. \r\nBye")
        #expect(seen[0].isFlowed && !seen[0].deletesSpace)
        #expect(seen[0].charset == "utf-8")
        #expect(seen[0].lineEnding == .crlf)
        #expect(seen[1].lineEnding == .lf)  // the decoded HTML uses LF, its base64 body CRLF
    }

    @Test func signedContentIsNeverEntered() {
        let message = crlf("""
            Content-Type: multipart/signed; protocol="application/pgp-signature"; boundary=s

            --s
            Content-Type: text/plain

            signed https://example.com
            --s
            Content-Type: application/pgp-signature

            sig
            --s--

            """)
        var calls = 0
        let (out, _) = rewriter.rewrite(message: message) { calls += 1; return uppercased($0.content) }
        #expect(out == message)
        #expect(calls == 0)
    }

    @Test func missingFinalBoundaryAndBareLineFeeds() {
        let message = bytes("Content-Type: multipart/alternative; boundary=b\n\npre\n--b\nContent-Type: text/plain\n\none\n--b\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<p class=3D\"x\">two</p>=\n\n")
        let (out, result) = upper(message)
        #expect(text(out) == "Content-Type: multipart/alternative; boundary=b\n\npre\n--b\nContent-Type: text/plain\n\nONE\n--b\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<P CLASS=3D\"X\">TWO</P>\n")
        #expect(result.partsRewritten == 2)
    }

    @Test func aPartWithoutBodyIsReported() {
        let message = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n--b--\n")
        let (out, result) = upper(message)
        #expect(out == message)
        #expect(result.partsFailed == [PartFailure(path: [0], reason: .missingBody)])
    }

    // MARK: Lines over 998 octets

    /// `content` as quoted-printable, for text made only of literal characters: 75 per
    /// line plus a soft break while 77 or more remain.
    static func softWrapped(_ content: String, _ ending: String) -> String {
        var rest = Substring(content)
        var out = ""
        while rest.count >= 77 {
            out += rest.prefix(75) + "=" + ending
            rest = rest.dropFirst(75)
        }
        return out + rest
    }

    @Test func aLongLineTurnsAnEightBitPartIntoQuotedPrintable() {
        let long = "<p>" + String(repeating: "a", count: 1000) + "</p>"
        let message = crlf("""
            Content-Type: multipart/alternative; boundary=b

            --b
            Content-Type: text/plain
            Content-Transfer-Encoding: 8bit

            short line
            --b
            Content-Type: text/html
            content-transfer-encoding:\t8bit (raw)

            \(long)
            end
            --b
            Content-Type: text/html

            \(long)
            --b--

            """)
        let upperLong = long.uppercased()
        let expected = crlf("""
            Content-Type: multipart/alternative; boundary=b

            --b
            Content-Type: text/plain
            Content-Transfer-Encoding: 8bit

            SHORT LINE
            --b
            Content-Type: text/html
            content-transfer-encoding:\tquoted-printable

            \(Self.softWrapped(upperLong, "\n"))
            END
            --b
            Content-Type: text/html
            Content-Transfer-Encoding: quoted-printable

            \(Self.softWrapped(upperLong, "\n"))
            --b--

            """)
        let (out, result) = upper(message)
        #expect(text(out) == text(expected))
        #expect(result.partsRewritten == 3)
        #expect(result.topLevelHeaderEdits.isEmpty)
    }

    @Test func aLongTopLevelLineBecomesAHeaderEdit() {
        let long = "<p>" + String(repeating: "b", count: 996) + "</p>"
        let header = HeaderBlock(parsing: crlf("Content-Type: text/html\nContent-Transfer-Encoding: 8bit\n\n"))
        let result = rewriter.rewrite(header: header, body: crlf(long + "\n")) { uppercased($0.content) }
        #expect(text(result.body) == text(crlf(Self.softWrapped(long.uppercased(), "\n") + "\n")))
        #expect(result.topLevelHeaderEdits == [.set(name: "Content-Transfer-Encoding", value: "quoted-printable")])

        // Exactly 998 octets stay in place.
        let limit = "<p>" + String(repeating: "b", count: 991) + "</p>"
        let inPlace = rewriter.rewrite(header: header, body: crlf(limit + "\n")) { uppercased($0.content) }
        #expect(inPlace.body == crlf(limit.uppercased() + "\n"))
        #expect(inPlace.topLevelHeaderEdits.isEmpty)
    }

    @Test func wholeMessageRewriteAppliesTopLevelHeaderEdits() {
        let long = String(repeating: "c", count: 1000)
        let message = bytes("Subject: s\nContent-Type: text/plain\nX-Keep:\n folded\n\n\(long)\n")
        let (out, result) = upper(message)
        #expect(text(out) == "Subject: s\nContent-Type: text/plain\nX-Keep:\n folded\nContent-Transfer-Encoding: quoted-printable\n\n"
                + Self.softWrapped(long.uppercased(), "\n") + "\n")
        #expect(result.topLevelHeaderEdits == [.set(name: "Content-Transfer-Encoding", value: "quoted-printable")])
    }
}

extension String {
    /// `self` with the first occurrence of `target` replaced (test helper, no Foundation).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var result = self
        result.replaceSubrange(range, with: replacement)
        return result
    }
}
