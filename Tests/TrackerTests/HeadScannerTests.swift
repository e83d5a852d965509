import NIOCore
import Testing
@testable import TrackerCore

@Suite struct HeadScannerTests {
    typealias Verdict = HeadScanner.Verdict

    /// Scans each piece in turn; the verdicts, and how often the clock was read.
    static func scan(_ pieces: [String], requestLine: Int = 20, headerBlock: Int = 20) -> ([Verdict], Int) {
        var scanner = HeadScanner(requestLineLimit: requestLine, headerBlockLimit: headerBlock)
        var clockReads = 0
        let verdicts = pieces.map { piece in
            Array(piece.utf8).withUnsafeBytes { bytes in
                scanner.scan(bytes, now: { clockReads += 1; return .now() })
            }
        }
        return (verdicts, clockReads)
    }

    @Test func headsEndAfterTheirEmptyLine() {
        #expect(Self.scan(["GET / HTTP/1.1\r\nA: b\r\n\r\nGET"]) == ([.headEnd(at: 24)], 1))
        #expect(Self.scan(["GET / HTTP/1.1\n\n"]) == ([.headEnd(at: 16)], 1))
        #expect(Self.scan(["\r\n\r\nGET / HTTP/1.1\r\n\r\n"]) == ([.headEnd(at: 22)], 1))  // empty lines before it
    }

    @Test func aHeadSplitAnywhereEndsWhereItEnds() {
        #expect(Self.scan(["GET / HT", "TP/1.1\r", "\n", "A: b\r\n\r", "\nX"]) ==
                ([.exhausted, .exhausted, .exhausted, .exhausted, .headEnd(at: 1)], 1))
        #expect(Self.scan(["\r\n", "\r\n"]) == ([.exhausted, .exhausted], 0))  // no head started
    }

    @Test func limitsAreCheckedAsBytesArrive() {
        let line = "GET /" + String(repeating: "a", count: 6) + " HTTP/1.1"  // 20 bytes
        #expect(Self.scan([line + "\r\n\r\n"]).0 == [.headEnd(at: 24)])
        #expect(Self.scan([line + "b\r\n\r\n"]).0 == [.refuse(.requestLineTooLong)])
        #expect(Self.scan([line, "bc"]).0 == [.exhausted, .refuse(.requestLineTooLong)])  // no line end needed
        #expect(Self.scan(["GET / HTTP/1.1\r\n", "A: 123456789012345\r\n"]).0 == [.exhausted, .exhausted])  // 20 bytes
        #expect(Self.scan(["GET / HTTP/1.1\r\n", "A: 1234567890123456\r\n"]).0 == [.exhausted, .refuse(.headerBlockTooLarge)])
    }
}
