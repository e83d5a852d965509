import NIOCore
import NIOEmbedded
import Testing
@testable import TrackerCore

@Suite struct RequestGateTests {
    /// A gate in an embedded channel, with what it passes on and what it refuses. The
    /// channel is finished when the harness goes away, as a real connection is closed: that
    /// takes the handlers out of the pipeline and cancels the gate's header timer, which
    /// would otherwise keep channel, pipeline and gate alive in a cycle (a leak under
    /// LeakSanitizer). An error the pipeline caught is recorded as a test issue.
    final class Harness {
        let channel = EmbeddedChannel()
        let state = ConnectionState()
        var refusals: [Int] = []

        init(requestLine: Int = 64, headerBlock: Int = 64, timeout: TimeAmount = .seconds(10), idle: TimeAmount = .seconds(30)) throws {
            let gate = RequestGate(limits: .init(requestLine: requestLine, headerBlock: headerBlock, headerTimeout: timeout,
                                                 idleTimeout: idle),
                                   state: state) { [unowned self] in refusals.append($0) }
            try channel.pipeline.syncOperations.addHandler(gate)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        deinit {
            do {
                // Refusals close the channel themselves.
                _ = try channel.finish(acceptAlreadyClosed: true)
            } catch {
                Issue.record(error, "finishing the embedded channel")
            }
        }

        func send(_ text: String) throws {
            try channel.writeInbound(channel.allocator.buffer(string: text))
        }

        /// The heads passed on so far, as their bytes.
        func passed() throws -> [String] {
            try heads().map { String(buffer: $0.bytes) }
        }

        /// The heads passed on so far.
        func heads() throws -> [RequestHead] {
            var out: [RequestHead] = []
            while let head = try channel.readInbound(as: RequestHead.self) { out.append(head) }
            return out
        }

        func written() throws -> String {
            var out = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out += String(buffer: buffer) }
            return out
        }
    }

    @Test func passesOneCompleteHeadAtATime() throws {
        let gate = try Harness()
        try gate.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n\r\nGET /c HT")
        #expect(try gate.passed() == ["GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "GET /b HTTP/1.1\r\n\r\n"])
        try gate.send("TP/1.1\nX: y\n\n")
        let heads = try gate.heads()
        #expect(heads.map { String(buffer: $0.bytes) } == ["GET /c HTTP/1.1\nX: y\n\n"])  // the empty line before it dropped
        #expect(heads.map { $0.text($0.target) } == ["/c"])
        #expect(gate.refusals.isEmpty)
    }

    @Test func byteByByteHeadsArePassedWhole() throws {
        let gate = try Harness()
        let request = "GET /o/abc.gif HTTP/1.1\r\nUser-Agent: z\r\n\r\n"
        for character in request { try gate.send(String(character)) }
        let heads = try gate.heads()
        #expect(heads.map { String(buffer: $0.bytes) } == [request])
        #expect(heads.map { $0.userAgent.map($0.text) } == ["z"])
        #expect(try gate.written().isEmpty)
    }

    @Test func emptyLinesBetweenRequestsAreNotKept() throws {
        let gate = try Harness()
        for _ in 0..<1000 { try gate.send("\r\n\r\n\n") }  // more than any limit, but nothing is held
        try gate.send("GET /d HTTP/1.1\r\n\r\n")
        #expect(try gate.passed() == ["GET /d HTTP/1.1\r\n\r\n"])
        #expect(gate.refusals.isEmpty)
    }

    @Test func malformedHeadGets400() throws {
        let gate = try Harness()
        try gate.send("GET /ok HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\nBad Header\r\n\r\nGET /y HTTP/1.1\r\n\r\n")
        #expect(try gate.passed() == ["GET /ok HTTP/1.1\r\n\r\n"])
        #expect(gate.refusals == [400])
        #expect(try gate.written() == "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: 16\r\nConnection: close\r\n\r\n400 Bad Request\n")
        #expect(gate.state.closing)
    }

    @Test func overlongRequestLineGets414() throws {
        let gate = try Harness()
        try gate.send("GET /ok HTTP/1.1\r\n\r\nGET /" + String(repeating: "a", count: 60))
        try gate.send(String(repeating: "a", count: 10))
        #expect(try gate.passed() == ["GET /ok HTTP/1.1\r\n\r\n"])
        #expect(try gate.written() == "HTTP/1.1 414 URI Too Long\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: 17\r\nConnection: close\r\n\r\n414 URI Too Long\n")
        #expect(gate.refusals == [414])
        #expect(gate.state.closing)
        try gate.send("GET / HTTP/1.1\r\n\r\n")
        #expect(try gate.passed().isEmpty)  // nothing more is read
    }

    @Test func requestLineAtTheLimitPasses() throws {
        let line = "GET /" + String(repeating: "b", count: 50) + " HTTP/1.1"  // 64 bytes
        let gate = try Harness()
        try gate.send(line + "\r\n\r\n")
        #expect(try gate.passed() == [line + "\r\n\r\n"])
        let over = try Harness()
        try over.send(line + "x\r\n\r\n")
        #expect(over.refusals == [414])
    }

    @Test func oversizedHeaderBlockGets431() throws {
        let gate = try Harness()
        try gate.send("GET / HTTP/1.1\r\nA: " + String(repeating: "v", count: 40) + "\r\n")
        try gate.send("B: " + String(repeating: "w", count: 40) + "\r\n\r\n")
        #expect(gate.refusals == [431])
        #expect(try gate.written().hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
    }

    @Test func slowHeadGets408() throws {
        let gate = try Harness(timeout: .seconds(10))
        try gate.send("GET / HTTP/1.1\r\n")
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        try gate.send("X-Slow: 1\r\n")
        #expect(gate.refusals.isEmpty)
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(gate.refusals == [408])
        #expect(try gate.written().hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
    }

    @Test func timelyHeadsKeepTheConnection() throws {
        let gate = try Harness(timeout: .seconds(10))
        try gate.send("GET /1 HTTP/1.1\r\n")
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        try gate.send("\r\n")
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        try gate.send("GET /2 HTTP/1.1\r\n")   // a new head, started at 14 s
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(gate.refusals.isEmpty)
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(gate.refusals == [408])
    }

    @Test func idleConnectionsAreClosed() throws {
        let gate = try Harness(timeout: .seconds(10), idle: .seconds(30))
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        try gate.send("GET /1 HTTP/1.1\r\n\r\n")
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(29))  // 49 s: 29 s after the last bytes
        #expect(gate.channel.isActive)
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!gate.channel.isActive)
        #expect(gate.state.closing)
        #expect(try gate.written().isEmpty)  // closed without a word
        #expect(gate.refusals.isEmpty)
    }

    @Test func aSlowHeadIsRefusedBeforeTheIdleTime() throws {
        let gate = try Harness(timeout: .seconds(10), idle: .seconds(30))
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(25))
        try gate.send("GET / HTTP/1.1\r\n")  // a head starts at 25 s: due at 35 s, not at 55 s
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(gate.refusals.isEmpty)
        gate.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(gate.refusals == [408])
    }

    @Test func aPartialHeadStillReadsMore() throws {
        let gate = try Harness()
        try gate.send("GET /a HTTP/1.1\r\nHo")
        #expect(try gate.passed().isEmpty)
        var reads = 0
        try gate.channel.pipeline.syncOperations.addHandler(ReadCounter { reads += 1 }, position: .first)
        gate.channel.read()
        #expect(reads == 1)  // the gate asked for the rest of the head
    }

    /// Counts the reads that reach the head of the pipeline.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Never
        let onRead: () -> Void
        init(_ onRead: @escaping () -> Void) { self.onRead = onRead }
        func read(context: ChannelHandlerContext) {
            onRead()
            context.read()
        }
    }

    @Test func unwritableChannelHoldsRequestsBack() throws {
        let gate = try Harness()
        gate.channel.isWritable = false
        try gate.send("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
        #expect(try gate.passed().isEmpty)
        gate.channel.isWritable = true
        gate.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try gate.passed() == ["GET /a HTTP/1.1\r\n\r\n", "GET /b HTTP/1.1\r\n\r\n"])
    }

    @Test func closingConnectionsReadNothingMore() throws {
        let gate = try Harness()
        gate.state.closing = true
        try gate.send("GET / HTTP/1.1\r\n\r\n")
        #expect(try gate.passed().isEmpty)
    }
}
