import Testing
@testable import Rewrite

@Suite struct MIMEParserTests {
    static let nested = crlf("""
        From: a@example.com
        Content-Type: multipart/mixed; boundary="outer"

        This is a preamble.
        --outer
        Content-Type: multipart/alternative; boundary=alt

        --alt
        Content-Type: text/plain

        plain body
        --alt
        Content-Type: multipart/related; boundary="rel"

        --rel
        Content-Type: text/html

        <p>html</p>
        --rel
        Content-Type: image/png
        Content-Transfer-Encoding: base64

        iVBORw0KGgo=
        --rel--
        --alt--

        --outer
        Content-Type: text/html
        Content-Disposition: attachment; filename="a.html"

        <p>attached</p>
        --outer--  \t
        Epilogue text.

        """)

    @Test func nestedMultipartsAreSplitWithExactRanges() {
        let message = Self.nested
        let root = MIMEParser().parse(message: message)
        func s(_ r: Range<Int>) -> String { text(Array(message[r])) }

        let mixed = try! #require(root.multipart)
        #expect(root.contentType.mimeType == "multipart/mixed")
        #expect(mixed.boundary == bytes("outer"))
        #expect(s(mixed.preamble) == "This is a preamble.")
        #expect(mixed.delimiters.map(s) == ["\r\n--outer\r\n", "\r\n--outer\r\n"])
        #expect(s(mixed.closeDelimiter!) == "\r\n--outer--  \t\r\n")
        #expect(s(mixed.epilogue) == "Epilogue text.\r\n")
        #expect(mixed.parts.count == 2)

        let alternative = try! #require(mixed.parts[0].multipart)
        #expect(s(mixed.parts[0].header.range) == "Content-Type: multipart/alternative; boundary=alt\r\n")
        #expect(s(alternative.preamble) == "")
        #expect(alternative.delimiters.map(s) == ["--alt\r\n", "\r\n--alt\r\n"])
        #expect(s(alternative.closeDelimiter!) == "\r\n--alt--\r\n")
        #expect(s(alternative.epilogue) == "")
        #expect(alternative.parts[0].contentType.mimeType == "text/plain")
        #expect(s(alternative.parts[0].bodyRange) == "plain body")

        let related = try! #require(alternative.parts[1].multipart)
        #expect(related.parts.map { $0.contentType.mimeType } == ["text/html", "image/png"])
        #expect(s(related.parts[0].bodyRange) == "<p>html</p>")
        #expect(s(related.parts[1].bodyRange) == "iVBORw0KGgo=")
        #expect(related.parts[1].transferEncoding == .base64)
        #expect(s(related.closeDelimiter!) == "\r\n--rel--")
        #expect(related.epilogue.isEmpty)

        let attachment = mixed.parts[1]
        #expect(attachment.isLeaf)
        #expect(!attachment.isInline)
        #expect(s(attachment.bodyRange) == "<p>attached</p>")
    }

    @Test func separateHeaderAndBodyAsInTheMilter() {
        let (header, bodyRange) = HeaderBlock.split(message: Self.nested)
        let milterHeader = HeaderBlock(milterFields: header.fields.map {
            (name: text(Array(header.name(of: $0))), value: header.unfoldedValue(of: $0))
        })
        let body = Array(Self.nested[bodyRange])
        let root = MIMEParser().parse(header: milterHeader, body: body)
        #expect(root.bodyRange == body.indices)
        #expect(text(Array(body[root.multipart!.preamble])) == "This is a preamble.")
        #expect(text(Array(body[root.multipart!.parts[1].bodyRange])) == "<p>attached</p>")
    }

    @Test func boundaryMustBeFollowedByPaddingOrLineEnd() {
        let message = crlf("""
            Content-Type: multipart/mixed; boundary="=_b (x)"

            --=_b (x)\t
            Content-Type: text/plain

            --=_b (x)-nested is text
            --=_b (x)--junk is text
            -- =_b (x)
            --=_b (x) \t
            Content-Type: text/plain

            second
            --=_b (x)--
            """)
        let root = MIMEParser().parse(message: message)
        let parts = try! #require(root.multipart).parts
        #expect(parts.count == 2)
        #expect(text(Array(message[parts[0].bodyRange])) == "--=_b (x)-nested is text\r\n--=_b (x)--junk is text\r\n-- =_b (x)")
        #expect(text(Array(message[parts[1].bodyRange])) == "second")
    }

    @Test func missingCloseDelimiterRunsToTheEnd() {
        let message = crlf("""
            Content-Type: multipart/alternative; boundary=b

            --b
            Content-Type: text/plain

            first
            --b
            Content-Type: text/html

            <p>last</p>

            """)
        let multipart = try! #require(MIMEParser().parse(message: message).multipart)
        #expect(multipart.parts.count == 2)
        #expect(multipart.closeDelimiter == nil)
        #expect(multipart.epilogue == message.count..<message.count)
        #expect(text(Array(message[multipart.parts[1].bodyRange])) == "<p>last</p>\r\n")
    }

    @Test func bareLineFeedInput() {
        let message = bytes("Content-Type: multipart/mixed; boundary=b\n\npre\n--b\nContent-Type: text/html\n\n<p>x</p>\n--b--\nepi\n")
        let multipart = try! #require(MIMEParser().parse(message: message).multipart)
        func s(_ r: Range<Int>) -> String { text(Array(message[r])) }
        #expect(s(multipart.preamble) == "pre")
        #expect(multipart.delimiters.map(s) == ["\n--b\n"])
        #expect(s(multipart.parts[0].bodyRange) == "<p>x</p>")
        #expect(multipart.parts[0].header.lineEnding == .lf)
        #expect(s(multipart.closeDelimiter!) == "\n--b--\n")
        #expect(s(multipart.epilogue) == "epi\n")
    }

    @Test func attachedMessagesAreLeaves() {
        let message = crlf("""
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: message/rfc822

            Content-Type: multipart/alternative; boundary=c

            --c
            Content-Type: text/html

            <p>inner</p>
            --c--
            --b--
            """)
        let part = MIMEParser().parse(message: message).multipart!.parts[0]
        #expect(part.contentType == .messageRFC822)
        #expect(part.isLeaf)
        #expect(text(Array(message[part.bodyRange])).hasPrefix("Content-Type: multipart/alternative"))
    }

    @Test func multipartsWithoutUsableBoundaryAreLeaves() {
        let noParameter = MIMEParser().parse(message: crlf("Content-Type: multipart/mixed\n\n--b\n\nx\n--b--\n"))
        #expect(noParameter.isLeaf)
        let neverOccurs = MIMEParser().parse(message: crlf("Content-Type: multipart/mixed; boundary=zz\n\n--b\n\nx\n--b--\n"))
        #expect(neverOccurs.isLeaf)
        #expect(neverOccurs.contentType.isMultipart)
    }

    @Test func digestPartsDefaultToMessages() {
        let message = crlf("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n--d\nContent-Type: text/plain\n\nnote\n--d--\n")
        let parts = MIMEParser().parse(message: message).multipart!.parts
        #expect(parts.map(\.contentType.mimeType) == ["message/rfc822", "text/plain"])
    }

    @Test func emptyAndHeaderOnlyParts() {
        let message = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\nContent-Type: text/html\n--b--\n")
        let parts = MIMEParser().parse(message: message).multipart!.parts
        #expect(parts.count == 2)
        #expect(parts[0].header.fields.isEmpty)
        #expect(parts[0].bodyRange.isEmpty)
        #expect(!parts[0].hasBody)
        #expect(parts[1].contentType.mimeType == "text/html")
        #expect(!parts[1].hasBody)
    }

    @Test func aCloseDelimiterFirstLeavesNoParts() {
        let message = crlf("Content-Type: multipart/mixed; boundary=b\n\npre\n--b--\nafter\n")
        let multipart = try! #require(MIMEParser().parse(message: message).multipart)
        #expect(multipart.parts.isEmpty)
        #expect(text(Array(message[multipart.preamble])) == "pre")
        #expect(text(Array(message[multipart.closeDelimiter!])) == "\r\n--b--\r\n")
        #expect(text(Array(message[multipart.epilogue])) == "after\r\n")
    }

    @Test func nestingBeyondTheLimitIsOpaque() {
        let parser = MIMEParser(maximumDepth: 1)
        let root = parser.parse(message: Self.nested)
        #expect(root.multipart!.parts[0].contentType.subtype == "alternative")
        #expect(root.multipart!.parts[0].isLeaf)
    }
}
