import Testing
@testable import Rewrite

@Suite struct HeaderBlockTests {
    @Test func splitsAtTheFirstEmptyLine() {
        let message = bytes("Subject: Hi\r\nTo: a@example.com\r\n\r\nbody\r\n\r\nmore")
        let (header, body) = HeaderBlock.split(message: message)
        #expect(header.range == 0..<32)
        #expect(header.bodyStart == 34)
        #expect(body == 34..<message.count)
        #expect(text(Array(message[body])) == "body\r\n\r\nmore")
        #expect(header.fields == [
            HeaderField(range: 0..<13, nameRange: 0..<7, valueRange: 8..<11),
            HeaderField(range: 13..<32, nameRange: 13..<15, valueRange: 16..<30),
        ])
        #expect(header.lineEnding == .crlf)
    }

    @Test func splitsBareLineFeedMessages() {
        let message = bytes("A: 1\nB: 2\n\nbody\n")
        let (header, body) = HeaderBlock.split(message: message)
        #expect(header.fields.count == 2)
        #expect(text(Array(message[header.range])) == "A: 1\nB: 2\n")
        #expect(text(Array(message[body])) == "body\n")
        #expect(header.lineEnding == .lf)
    }

    @Test func withoutAnEmptyLineEverythingIsHeader() {
        let message = bytes("A: 1\r\nB: 2")
        let (header, body) = HeaderBlock.split(message: message)
        #expect(header.range == 0..<message.count)
        #expect(body.isEmpty)
        #expect(header.value(named: "b") == bytes("2"))
    }

    @Test func anEmptyFirstLineMeansNoHeader() {
        let message = bytes("\r\nbody")
        let (header, body) = HeaderBlock.split(message: message)
        #expect(header.fields.isEmpty)
        #expect(header.range == 0..<0)
        #expect(body == 2..<6)
    }

    @Test func foldedValuesAreKeptRawAndUnfoldedOnRequest() {
        let message = bytes("Content-Type: multipart/mixed;\r\n\tboundary=\"b\"\r\nX: y\r\n\r\n")
        let header = HeaderBlock(parsing: message)
        let field = header.first(named: "CONTENT-TYPE")!
        #expect(text(Array(header.rawValue(of: field))) == " multipart/mixed;\r\n\tboundary=\"b\"")
        #expect(text(header.unfoldedValue(of: field)) == "multipart/mixed;\tboundary=\"b\"")
        #expect(field.range == 0..<47)
        #expect(text(Array(header.name(of: field))) == "Content-Type")
    }

    @Test func lookupIgnoresCaseAndKeepsOrder() {
        let header = HeaderBlock(parsing: bytes("received: a\r\nX-Other: 0\r\nReceived: b\r\nRECEIVED:c\r\n\r\n"))
        #expect(header.fields(named: "Received").map { text(header.unfoldedValue(of: $0)) } == ["a", "b", "c"])
        #expect(header.value(named: "x-other") == bytes("0"))
        #expect(header.value(named: "Missing") == nil)
    }

    @Test func linesThatAreNotFieldsAreSkippedButKept() {
        let raw = "  orphan continuation\r\nFrom someone Sat Jan  3 01:05:34 1996\r\nA : 1\r\nno colon here\r\n\tcontinues junk\r\nB: 2\r\n\r\n"
        let header = HeaderBlock(parsing: bytes(raw))
        #expect(header.fields.map { text(Array(header.name(of: $0))) } == ["A", "B"])
        #expect(header.value(named: "a") == bytes("1"))
        #expect(header.range == 0..<(raw.utf8.count - 2))
    }

    @Test func buildsTheViewFromMilterFields() {
        let header = HeaderBlock(milterFields: [
            (name: "Subject", value: bytes("hello\n\tworld")),
            (name: "Content-Type", value: bytes(" text/html; charset=utf-8")),
        ])
        #expect(text(header.bytes) == "Subject: hello\n\tworld\r\nContent-Type: text/html; charset=utf-8\r\n")
        #expect(header.value(named: "subject") == bytes("hello\tworld"))
        #expect(ContentType.of(header).mimeType == "text/html")
    }

    // MARK: Edits

    @Test func removeAllDropsEveryOccurrenceIncludingFolding() {
        let header = HeaderBlock(parsing: bytes("A: 1\r\nX-MailTrail-Track: off\r\nB: 2\r\nx-mailtrail-track:\r\n opens\r\nC: 3\r\n\r\nbody"))
        let edited = header.applying([.removeAll(name: "X-MailTrail-Track")])
        #expect(text(edited.bytes) == "A: 1\r\nB: 2\r\nC: 3\r\n")
    }

    @Test func setReplacesTheFirstValueOnly() {
        let header = HeaderBlock(parsing: bytes("content-transfer-encoding:  8bit (raw)\r\nX: 1\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"))
        let edited = header.applying([.set(name: "Content-Transfer-Encoding", value: "quoted-printable")])
        #expect(text(edited.bytes) == "content-transfer-encoding:  quoted-printable\r\nX: 1\r\nContent-Transfer-Encoding: 7bit\r\n")
    }

    @Test func setReplacesAFoldedValue() {
        let header = HeaderBlock(parsing: bytes("Content-Transfer-Encoding:\r\n\t8bit\r\nX: 1\r\n"))
        let edited = header.applying([.set(name: "content-transfer-encoding", value: "quoted-printable")])
        #expect(text(edited.bytes) == "Content-Transfer-Encoding: quoted-printable\r\nX: 1\r\n")
    }

    @Test func setAppendsWhenAbsent() {
        let lf = HeaderBlock(parsing: bytes("Content-Type: text/html\nX: 1\n\nbody"))
        #expect(text(lf.applying([.set(name: "Content-Transfer-Encoding", value: "quoted-printable")]).bytes)
                == "Content-Type: text/html\nX: 1\nContent-Transfer-Encoding: quoted-printable\n")
        let unterminated = HeaderBlock(parsing: bytes("Content-Type: text/html"))
        #expect(text(unterminated.applying([.set(name: "A", value: "b")]).bytes) == "Content-Type: text/html\r\nA: b\r\n")
        let empty = HeaderBlock(parsing: bytes("\r\nbody"))
        #expect(text(empty.applying([.set(name: "A", value: "b")]).bytes) == "A: b\r\n")
    }

    @Test func editsApplyInOrder() {
        let header = HeaderBlock(parsing: bytes("A: 1\r\nB: 2\r\n"))
        let edited = header.applying([.removeAll(name: "A"), .set(name: "A", value: "3"), .set(name: "B", value: "4")])
        #expect(text(edited.bytes) == "B: 4\r\nA: 3\r\n")
        #expect(text(header.applying([]).bytes) == "A: 1\r\nB: 2\r\n")
    }
}
