import Testing
@testable import Rewrite

@Suite struct ContentTypeTests {
    @Test func parsesCaseCommentsAndQuotedParameters() {
        let type = ContentType(parsing: bytes(" TEXT / HTML (the markup) ; Charset = \"UTF-8\" ; format=flowed;"))!
        #expect(type.type == "text")
        #expect(type.subtype == "html")
        #expect(type.charset == "utf-8")
        #expect(type.parameters.string("FORMAT") == "flowed")
        #expect(type.parameters.items.map(\.name) == ["charset", "format"])
    }

    @Test func boundaryKeepsItsExactOctets() {
        let type = ContentType(parsing: bytes("multipart/mixed;\r\n boundary=\"==_a;b (c)=\\\"d\\\"\""))!
        #expect(type.isMultipart)
        #expect(type.boundary == bytes("==_a;b (c)=\"d\""))
        let unquoted = ContentType(parsing: bytes("multipart/alternative; boundary=simple-01 ; x=y"))!
        #expect(unquoted.boundary == bytes("simple-01"))
        #expect(ContentType(parsing: bytes("multipart/mixed; boundary=\"\""))!.boundary == nil)
    }

    @Test func joinsRFC2231ParametersAndPrefersThem() {
        let type = ContentType(parsing: bytes(
            "application/pdf; name=\"fallback.pdf\"; name*0*=utf-8'en'%E2%82%AC%20rates; name*1=\" 2026.pdf\""))!
        #expect(type.parameters["name"] == bytes("€ rates 2026.pdf"))
        let single = ContentDisposition(parsing: bytes("attachment; filename*=UTF-8''caf%C3%A9.txt"))!
        #expect(single.filename == bytes("café.txt"))
    }

    @Test func toleratesAMissingSemicolonAndOddSpacing() {
        let type = ContentType(parsing: bytes("text/html charset=utf-8"))!
        #expect(type.mimeType == "text/html")
        #expect(ContentType(parsing: bytes("text/plain;;charset=us-ascii;novalue;=x"))!.parameters.items
                == [.init(name: "charset", value: bytes("us-ascii"))])
    }

    @Test func rejectsValuesWithoutTypeAndSubtype() {
        #expect(ContentType(parsing: bytes("html")) == nil)
        #expect(ContentType(parsing: bytes("text/")) == nil)
        #expect(ContentType(parsing: bytes("/html")) == nil)
        #expect(ContentType(parsing: bytes("")) == nil)
    }

    @Test func defaultsFollowTheHeaders() {
        let none = HeaderBlock(parsing: bytes("Subject: x\r\n\r\n"))
        #expect(ContentType.of(none) == .textPlain)
        #expect(ContentType.of(none, default: .messageRFC822) == .messageRFC822)
        let garbage = HeaderBlock(parsing: bytes("Content-Type: garbage\r\n\r\n"))
        #expect(ContentType.of(garbage) == .octetStream)
        let twice = HeaderBlock(parsing: bytes("Content-Type: text/html\r\nContent-Type: text/plain\r\n\r\n"))
        #expect(ContentType.of(twice).subtype == "html")
    }

    @Test func transferEncodingsAreParsedLeniently() {
        #expect(TransferEncoding(parsing: bytes(" Base64 ")) == .base64)
        #expect(TransferEncoding(parsing: bytes("7-BIT")) == .sevenBit)
        #expect(TransferEncoding(parsing: bytes("8-bit")) == .eightBit)
        #expect(TransferEncoding(parsing: bytes("8BIT")) == .eightBit)
        #expect(TransferEncoding(parsing: bytes("Binary")) == .binary)
        #expect(TransferEncoding(parsing: bytes("(encoded) Quoted-Printable\t")) == .quotedPrintable)
        #expect(TransferEncoding(parsing: bytes("x-uuencode")) == .unknown("x-uuencode"))
        #expect(TransferEncoding(parsing: bytes("")) == .unknown(""))
        #expect(TransferEncoding.of(HeaderBlock(parsing: bytes("A: b\r\n\r\n"))) == .sevenBit)
    }

    @Test func dispositions() {
        let attachment = ContentDisposition(parsing: bytes("ATTACHMENT; filename=\"page.html\""))!
        #expect(!attachment.isInline)
        #expect(attachment.filename == bytes("page.html"))
        #expect(ContentDisposition(parsing: bytes(" inline "))!.isInline)
        #expect(!ContentDisposition(parsing: bytes("form-data; name=x"))!.isInline)  // unknown: attachment
        #expect(ContentDisposition(parsing: bytes("")) == nil)
        #expect(ContentDisposition(parsing: bytes("; filename=x")) == nil)
    }
}
