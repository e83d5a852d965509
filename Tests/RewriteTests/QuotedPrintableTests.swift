import PropertyBased
import Testing
@testable import Rewrite

@Suite struct QuotedPrintableTests {
    // MARK: Decoding

    @Test func softBreakInsideAnAttributeDecodes() {
        let encoded = bytes("<a href=3D\"https://exa=\r\nmple.com/?a=3D1&amp;b=\r\n=3D2\">x</a>\r\n")
        #expect(QuotedPrintable.decode(encoded) == bytes("<a href=\"https://example.com/?a=1&amp;b=2\">x</a>\r\n"))
    }

    @Test func softBreakRightAfterHrefEquals() {
        let encoded = bytes("<a href=\r\n=3D\"https://example.com/\">")
        #expect(QuotedPrintable.decode(encoded) == bytes("<a href=\"https://example.com/\">"))
    }

    @Test func lowerCaseHexIsAccepted() {
        #expect(QuotedPrintable.decode(bytes("caf=c3=a9 =3d")) == [0x63, 0x61, 0x66, 0xC3, 0xA9, 0x20, 0x3D])
    }

    @Test func trailingWhitespaceIsStripped() {
        #expect(QuotedPrintable.decode(bytes("abc \t \r\ndef\t\r\n  \r\n")) == bytes("abc\r\ndef\r\n\r\n"))
    }

    @Test func whitespaceAfterSoftBreakIsTolerated() {
        #expect(QuotedPrintable.decode(bytes("abc= \t\r\ndef")) == bytes("abcdef"))
    }

    @Test func equalsAtTheEndIsASoftBreak() {
        #expect(QuotedPrintable.decode(bytes("abc=")) == bytes("abc"))
        #expect(QuotedPrintable.decode(bytes("abc=\r\n")) == bytes("abc"))
        #expect(QuotedPrintable.decode(bytes("=")) == [])
    }

    @Test func bareLineFeedsAreHardAndSoftBreaks() {
        #expect(QuotedPrintable.decode(bytes("a=\nb\nc \n")) == bytes("ab\nc\n"))
    }

    @Test func encodedSpacesSurviveStripping() {
        #expect(QuotedPrintable.decode(bytes("a =20\r\nb=09")) == bytes("a  \r\nb\t"))
    }

    @Test func unencodedOctetsAndLongLinesAreKept() {
        let long = [UInt8](repeating: 0x78, count: 200)
        #expect(QuotedPrintable.decode(long) == long)
        #expect(QuotedPrintable.decode([0x63, 0xE9, 0x0D, 0x61]) == [0x63, 0xE9, 0x0D, 0x61])
    }

    @Test func brokenEscapesAreRefused() {
        #expect(QuotedPrintable.decode(bytes("<a href=\"https://example.com/\">")) == nil)
        #expect(QuotedPrintable.decode(bytes("a=G1")) == nil)
        #expect(QuotedPrintable.decode(bytes("a=4")) == nil)
        #expect(QuotedPrintable.decode(bytes("a=4\r\n1")) == nil)
        #expect(QuotedPrintable.decode(bytes("a==\r\n")) == nil)
    }

    @Test func emptyInput() {
        #expect(QuotedPrintable.decode([]) == [])
        #expect(QuotedPrintable.encode([], lineEnding: .crlf) == [])
    }

    // MARK: Encoding

    @Test func escapesEqualsAndNonASCII() {
        #expect(QuotedPrintable.encode(bytes("a=b café"), lineEnding: .crlf) == bytes("a=3Db caf=C3=A9"))
    }

    @Test func keepsHardBreaksAndEscapesTrailingWhitespace() {
        #expect(QuotedPrintable.encode(bytes("ab \r\ncd\t\r\n"), lineEnding: .crlf) == bytes("ab=20\r\ncd=09\r\n"))
        #expect(QuotedPrintable.encode(bytes("a  \nb"), lineEnding: .lf) == bytes("a =20\nb"))
    }

    @Test func lineBreaksOtherThanTheLineEndingAreEscaped() {
        #expect(QuotedPrintable.encode(bytes("a\nb\rc\r\nd"), lineEnding: .crlf) == bytes("a=0Ab=0Dc\r\nd"))
        #expect(QuotedPrintable.encode(bytes("a\r\nb"), lineEnding: .lf) == bytes("a=0D\nb"))
    }

    @Test func softBreaksKeepLinesAt76() {
        let x = String(repeating: "x", count: 75)
        #expect(QuotedPrintable.encode(bytes(x + "y"), lineEnding: .crlf) == bytes(x + "y"))
        #expect(QuotedPrintable.encode(bytes(x + "yz"), lineEnding: .crlf) == bytes(x + "=\r\nyz"))
        #expect(QuotedPrintable.encode(bytes(x + x + "yz"), lineEnding: .lf) == bytes(x + "=\n" + x + "=\nyz"))
    }

    @Test func anEscapeIsNeverSplit() {
        let x74 = String(repeating: "x", count: 74)
        #expect(QuotedPrintable.encode(bytes(x74 + "é"), lineEnding: .crlf) == bytes(x74 + "=\r\n=C3=A9"))
        let x73 = String(repeating: "x", count: 73)
        #expect(QuotedPrintable.encode(bytes(x73 + "=abcd"), lineEnding: .crlf) == bytes(x73 + "=\r\n=3Dabcd"))
    }

    @Test func trailingWhitespaceNearTheLimit() {
        let x = String(repeating: "x", count: 73)
        // Room for the escape.
        #expect(QuotedPrintable.encode(bytes(x + " \r\n"), lineEnding: .crlf) == bytes(x + "=20\r\n"))
        // Room for the space and a soft break only: the line then ends with an empty line.
        #expect(QuotedPrintable.encode(bytes(x + "x \r\nz"), lineEnding: .crlf) == bytes(x + "x =\r\n\r\nz"))
        // Room for a soft break only: the escaped space goes on a line of its own.
        #expect(QuotedPrintable.encode(bytes(x + "xx \r\nz"), lineEnding: .crlf) == bytes(x + "xx=\r\n=20\r\nz"))
    }

    // MARK: Properties

    /// Random octets with CR, LF, space, tab and `=` made frequent.
    static let messyBytes = Gen<UInt8>.uint8().array(of: 0...400).map { raw in
        raw.map { b -> UInt8 in
            let specials: [UInt8] = [0x0D, 0x0A, 0x20, 0x09, 0x3D, 0x0D, 0x0A, 0x20]
            return b < 96 ? specials[Int(b) % specials.count] : b
        }
    }

    @Test func roundTripsAnyBytes() async {
        await propertyCheck(count: 300, input: Self.messyBytes, Gen.bool) { input, crlf in
            let ending: LineEnding = crlf ? .crlf : .lf
            let encoded = QuotedPrintable.encode(input, lineEnding: ending)
            #expect(QuotedPrintable.decode(encoded) == input)
            #expect(Self.isWellFormed(encoded, ending))
        }
    }

    /// Every line at most 76 octets, only printable ASCII, space and tab, no trailing
    /// whitespace, and no line break other than `ending`.
    static func isWellFormed(_ encoded: [UInt8], _ ending: LineEnding) -> Bool {
        let lines = text(encoded).components(separatedBy: ending == .crlf ? "\r\n" : "\n")
        return lines.allSatisfy { line in
            let u = Array(line.utf8)
            return u.count <= 76
                && u.allSatisfy { ($0 >= 0x20 && $0 <= 0x7E) || $0 == 0x09 }
                && u.last != 0x20 && u.last != 0x09
        }
    }
}
