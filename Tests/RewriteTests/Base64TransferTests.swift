import PropertyBased
import Testing
@testable import Rewrite

@Suite struct Base64TransferTests {
    @Test func decodesPaddedQuanta() {
        #expect(Base64Transfer.decode(bytes("SGVsbG8=")) == bytes("Hello"))
        #expect(Base64Transfer.decode(bytes("SGk=")) == bytes("Hi"))
        #expect(Base64Transfer.decode(bytes("SGV5")) == bytes("Hey"))
        #expect(Base64Transfer.decode(bytes("")) == [])
        #expect(Base64Transfer.decode(bytes("\r\n")) == [])
    }

    @Test func ignoresWhitespaceAnywhereAndAnyLineLength() {
        let encoded = bytes(" PGEg\r\naHJlZj0i\taHR0cHM6 Ly9l\neGFtcGxlLmNvbS8iPng8L2E+\r\nCg\r\n=\r\n=\r\n\r\n")
        #expect(Base64Transfer.decode(encoded) == bytes("<a href=\"https://example.com/\">x</a>\n"))
    }

    @Test func refusesInvalidCharactersAndBadPadding() {
        #expect(Base64Transfer.decode(bytes("SGV$bG8=")) == nil)
        #expect(Base64Transfer.decode(bytes("SGVsbG8")) == nil)       // incomplete, unpadded
        #expect(Base64Transfer.decode(bytes("SGVsbG8==")) == nil)     // one pad too many
        #expect(Base64Transfer.decode(bytes("SGVsbA=")) == nil)       // one pad too few
        #expect(Base64Transfer.decode(bytes("SGk=SGk=")) == nil)      // data after padding
        #expect(Base64Transfer.decode(bytes("S===")) == nil)
        #expect(Base64Transfer.decode(bytes("====")) == nil)
        #expect(Base64Transfer.decode(bytes("SGk=\r\n-- \r\nfooter")) == nil)
    }

    @Test func encodesIn76ColumnLines() {
        let line = String(repeating: "A", count: 76)
        #expect(Base64Transfer.encode([UInt8](repeating: 0, count: 57), lineEnding: .crlf) == bytes(line))
        #expect(Base64Transfer.encode([UInt8](repeating: 0, count: 58), lineEnding: .crlf) == bytes(line + "\r\nAA=="))
        #expect(Base64Transfer.encode([UInt8](repeating: 0, count: 116), lineEnding: .lf) == bytes(line + "\n" + line + "\nAAA="))
        #expect(Base64Transfer.encode(bytes("Hello"), lineEnding: .crlf) == bytes("SGVsbG8="))
        #expect(Base64Transfer.encode([], lineEnding: .crlf) == [])
    }

    @Test func roundTripsAnyBytes() async {
        await propertyCheck(count: 300, input: Gen<UInt8>.uint8().array(of: 0...500), Gen.bool) { input, crlf in
            let ending: LineEnding = crlf ? .crlf : .lf
            let encoded = Base64Transfer.encode(input, lineEnding: ending)
            #expect(Base64Transfer.decode(encoded) == input)
            let lines = text(encoded).components(separatedBy: crlf ? "\r\n" : "\n")
            #expect(lines.dropLast().allSatisfy { $0.utf8.count == 76 })
            #expect(lines.last!.utf8.count <= 76)
        }
    }
}
